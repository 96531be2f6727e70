package action

import (
	"context"
	"time"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// Render renders environments and replaces them in the rendered tree.
type Render struct {
	*Config
	// Envs limits the render; empty means every environment.
	Envs []string
	// Out is the rendered tree to replace (default <root>/rendered).
	Out string
	// Progress, when set, is told after each unit.
	Progress func(done, total int, unit string)
}

// RenderResult is a finished render.
type RenderResult struct {
	*render.Result
	// Wall is the whole command's time.
	Wall time.Duration
}

// Run holds the checkout's writer lock while it reads the repo, renders
// in memory and replaces the tree atomically: a failed render leaves it
// untouched, and a concurrent writer waits instead of losing an update.
func (r *Render) Run(ctx context.Context) (*RenderResult, error) {
	start := time.Now()
	out := r.Out
	if out == "" {
		out = r.Workspace().Path(workspace.RenderedDir)
	}
	unlock, err := r.lock(ctx, "render", out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	res, err := renderEnvs(ctx, r.Config, r.Envs, r.Progress)
	if err != nil {
		return nil, err
	}
	if err := refuseCredentials(res); err != nil {
		return nil, err
	}
	if err := layout.Replace(out, res.EnvNames(), res.Files()); err != nil {
		return nil, err
	}
	return &RenderResult{Result: res, Wall: time.Since(start)}, nil
}

// renderEnvs plans and renders environments through the cache.
func renderEnvs(ctx context.Context, c *Config, envs []string, progress func(done, total int, unit string)) (*render.Result, error) {
	store := c.Cache()
	shard, err := c.shard()
	if err != nil {
		return nil, err
	}
	p, err := plan.New(c.Workspace(), plan.Options{Envs: envs, Shard: shard, Keys: store != nil})
	if err != nil {
		return nil, err
	}
	o := render.Options{Workers: c.Workers, Cache: store}
	if progress != nil {
		o.Progress = func(done, total int, u *render.Unit) { progress(done, total, u.Unit.String()) }
	}
	return render.Run(ctx, p, o)
}
