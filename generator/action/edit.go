package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/specedit"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// SetImage pins component images in one environment file.
type SetImage struct {
	*Config
	Env string
	// Changes are COMPONENT=TAG or COMPONENT/IMAGE=TAG.
	Changes []string
	// Render re-renders the environment afterwards.
	Render bool
}

// EditResult says what an edit changed.
type EditResult struct {
	// Env is the environment changed; File its file, repo-relative.
	Env   string
	File  string
	Edits []specedit.Edit
	// Unchanged says why nothing changed, when nothing did.
	Unchanged string
	// Rendered says the environment was re-rendered into rendered/.
	Rendered bool
}

// Run edits the file (only the tags' bytes change) and, when asked,
// re-renders.
func (s *SetImage) Run(ctx context.Context) (*EditResult, error) {
	if s.Env == "" || len(s.Changes) == 0 {
		return nil, errors.New("an environment and at least one COMPONENT=TAG are required")
	}
	// One writer per checkout: the edit and its render are one update.
	unlock, err := s.lock(ctx, "set-image", "")
	if err != nil {
		return nil, err
	}
	defer unlock()
	var changes []specedit.ImageTag
	for _, arg := range s.Changes {
		c, err := specedit.ParseImageTag(arg)
		if err != nil {
			return nil, err
		}
		changes = append(changes, c)
	}
	res, err := applyEdits(ctx, s.Config, s.Env, changes, s.Render)
	if err == nil && len(res.Edits) == 0 {
		res.Unchanged = "every tag is already set as asked: " + strings.Join(s.Changes, " ")
	}
	return res, err
}

// Promote gives one environment the image tags another runs.
type Promote struct {
	*Config
	From, To string
	// Components limits the promotion; empty means every shared component.
	Components []string
	Render     bool
}

// Run copies the tags.
func (p *Promote) Run(ctx context.Context) (*EditResult, error) {
	if p.From == "" || p.To == "" || p.From == p.To {
		return nil, errors.New("two different environments are required")
	}
	unlock, err := p.lock(ctx, "promote", "")
	if err != nil {
		return nil, err
	}
	defer unlock()
	envs, err := p.Workspace().Environments([]string{p.From, p.To})
	if err != nil {
		return nil, err
	}
	src, dst := envs[0], envs[1]
	if src.Name() != p.From {
		src, dst = dst, src
	}
	changes, err := specedit.Promotions(src, dst, p.Components)
	if err != nil {
		return nil, err
	}
	res, err := applyEdits(ctx, p.Config, p.To, changes, p.Render)
	if err == nil && len(res.Edits) == 0 {
		res.Unchanged = unchangedPromotion(p.From, p.To, changes)
	}
	return res, err
}

// unchangedPromotion says why a promotion changed nothing.
func unchangedPromotion(from, to string, changes []specedit.ImageTag) string {
	if len(changes) == 0 {
		return fmt.Sprintf("no image %s pins is pinned in %s too; nothing to promote", from, to)
	}
	var pins []string
	for _, c := range changes {
		pins = append(pins, c.Component+" "+c.Image+"="+c.Tag)
	}
	return fmt.Sprintf("%s already runs %s's tags: %s", to, from, strings.Join(pins, ", "))
}

func applyEdits(ctx context.Context, c *Config, env string, changes []specedit.ImageTag, rerender bool) (*EditResult, error) {
	ws := c.Workspace()
	if err := spec.CheckName(env); err != nil {
		return nil, err
	}

	rel := workspace.EnvironmentFile(env)
	edits, err := specedit.Apply(ws.Path(rel), rel, changes)
	if err != nil {
		return nil, err
	}
	res := &EditResult{Env: env, File: rel, Edits: edits}
	if len(edits) == 0 || !rerender {
		return res, nil
	}
	// The workspace is a snapshot from before the edit: render the edited
	// repo from a fresh one.
	c.reopen()
	r, err := renderEnvs(ctx, c, []string{env}, nil)
	if err != nil {
		return nil, err
	}
	if err := refuseCredentials(r); err != nil {
		return nil, err
	}
	if err := layout.Replace(c.Workspace().Path(workspace.RenderedDir), r.EnvNames(), r.Files()); err != nil {
		return nil, err
	}
	res.Rendered = true
	return res, nil
}
