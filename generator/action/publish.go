package action

import (
	"context"
	"fmt"
	"time"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/publish"
	"github.com/libertum/platform-gitops/generator/verify"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// Publish commits the verified render to the branch Argo CD syncs from.
type Publish struct {
	*Config
	Remote, Branch string
	// Source, when set, publishes that commit's render (a rollback).
	Source  string
	Retries int
	Today   time.Time
	// BeforePush, if set, runs before each push (tests move the remote).
	BeforePush func(attempt int)
}

// VerifyError refuses a publish whose source does not pass verify.
type VerifyError struct{ Report *verify.Report }

func (e *VerifyError) Error() string {
	return fmt.Sprintf("refusing to publish: verify found %d violations and %d drifted files", e.Report.Denied(), len(e.Report.Drift))
}

// Run verifies the source's render and publishes it.
func (p *Publish) Run(ctx context.Context) (*publish.Result, error) {
	return publish.Run(ctx, publish.Options{
		Root: p.Workspace().Root, Remote: p.Remote, Branch: p.Branch, Source: p.Source, Retries: p.Retries, BeforePush: p.BeforePush,
		Check: func(ctx context.Context, root string, drift bool) ([]layout.File, error) {
			ws := p.Workspace()
			if root != ws.Root {
				ws = workspace.Open(root)
			}
			rep, err := verify.Run(ctx, ws, verify.Options{Workers: p.Workers, Today: orNow(p.Today), Drift: drift, Cache: p.Cache(), PolicyTimeout: p.PolicyTimeout})
			if err != nil {
				return nil, err
			}
			if rep.Failed() {
				return nil, &VerifyError{Report: rep}
			}
			return rep.Files, nil
		},
	})
}

// History lists the rendered branch's commits and their sources.
type History struct {
	*Config
	Remote, Branch string
	// Env keeps only commits that changed this environment.
	Env string
}

// Run reads the branch's history.
func (h *History) Run(ctx context.Context) ([]publish.Entry, error) {
	return publish.History(ctx, h.Workspace().Root, h.Remote, h.Branch, h.Env)
}
