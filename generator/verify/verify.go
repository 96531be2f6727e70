// Package verify proves a render safe and current: it plans and renders in
// memory, runs the check step over every object, and compares the result
// with the committed rendered/ tree.
package verify

import (
	"context"
	"time"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/check"
	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// Options say what to verify.
type Options struct {
	Envs    []string
	Workers int
	// Today is the date exceptions are judged on.
	Today time.Time
	// Drift compares with the committed rendered/ tree; off, only the
	// checks run.
	Drift bool
	// Cache, when set, holds rendered units and findings by content.
	Cache *cache.Store
	// PolicyTimeout bounds each environment's policy evaluation.
	PolicyTimeout time.Duration
	// Shard, when set, renders this runner's share of the units and reads
	// the others from the committed rendered/.
	Shard *plan.Shard
	// Scope, when set, limits the render to the units a change can affect
	// (see plan.Since); the others are read from the committed rendered/.
	Scope *plan.Scope
}

// Object is one checked object, for reports that list what passed.
type Object struct {
	layout.Unit
	File                  string
	Kind, Namespace, Name string
}

// Report is the outcome of a verify run.
type Report struct {
	Envs     []string         `json:"environments"`
	Objects  []Object         `json:"-"`
	Findings []policy.Finding `json:"findings"`
	Drift    []diff.File      `json:"drift"`
	// Files is the fresh render, as rendered/ should hold it.
	Files []layout.File `json:"-"`
	// Units says how the planned units were produced: rendered, restored
	// from the cache, or read back from rendered/ because no change
	// affects them.
	Units render.Counts `json:"units"`
}

// Failed reports whether anything should stop a merge: a denied finding or drift.
func (r *Report) Failed() bool {
	return r.Denied() > 0 || len(r.Drift) > 0
}

// Denied counts findings at level deny.
func (r *Report) Denied() int {
	n := 0
	for _, f := range r.Findings {
		if f.Level == policy.Deny {
			n++
		}
	}
	return n
}

// Run verifies the workspace's environments.
func Run(ctx context.Context, ws *workspace.Workspace, o Options) (*Report, error) {
	p, err := plan.New(ws, plan.Options{Envs: o.Envs, Scope: o.Scope, Shard: o.Shard, Keys: o.Cache != nil})
	if err != nil {
		return nil, err
	}
	if o.Drift {
		// The committed tree is read while rendering: opening thousands
		// of files waits on the kernel more than it uses a CPU.
		read := make(chan struct{})
		go func() {
			defer close(read)
			_, _ = ws.Committed() // read once; the error is seen below
		}()
		defer func() { <-read }()
	}
	res, err := render.Run(ctx, p, render.Options{Workers: o.Workers, Cache: o.Cache})
	if err != nil {
		return nil, err
	}
	rep := &Report{Envs: res.EnvNames(), Files: res.Files(), Units: res.Counts()}
	checker := check.New(ws, check.Options{Workers: o.Workers, Cache: o.Cache, Today: o.Today, Timeout: o.PolicyTimeout})
	if rep.Findings, err = checker.Render(ctx, res); err != nil {
		return nil, err
	}
	rep.Objects = Objects(res)
	if o.Drift {
		committed, err := ws.Committed()
		if err != nil {
			return nil, err
		}
		drift, err := diff.Trees(committed.Files(rep.Envs), rep.Files)
		if err != nil {
			return nil, err
		}
		for i := range drift {
			drift[i].Path = layout.RepoPath(drift[i].Path)
		}
		rep.Drift = drift
	}
	return rep, nil
}

// Objects lists every object of a render with the file it is written to.
func Objects(res *render.Result) []Object {
	var out []Object
	for _, u := range res.Units {
		for i, obj := range u.Objects {
			out = append(out, Object{Unit: u.Unit, File: layout.RepoPath(u.Files[i].Path),
				Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()})
		}
	}
	return out
}
