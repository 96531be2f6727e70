package action

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/spec"

	"github.com/libertum/platform-gitops/generator/publish"
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
	// Proposed writes every stamp's proposed branch (-next) for a promoter
	// to promote, instead of moving the first wave.
	Proposed bool
}

// VerifyError refuses a publish whose source does not pass verify.
type VerifyError struct{ Report *Report }

func (e *VerifyError) Error() string {
	return fmt.Sprintf("refusing to publish: verify found %d violations and %d drifted files", e.Report.Denied(), len(e.Report.Drift))
}

// Run verifies the source's render and publishes it to the target the
// remote names; each environment's first wave of stamps takes it. Nothing
// reaches the target unless verify passes: a rollback's older commit is
// re-rendered and checked (not its committed rendered/, which an older
// tool wrote), the working tree is verified with drift.
func (p *Publish) Run(ctx context.Context) (*publish.Result, error) {
	envs, err := p.Workspace().Environments(nil)
	if err != nil {
		return nil, err
	}
	var first, later []publish.Stamp
	var keys []string
	for _, e := range envs {
		for _, k := range e.Spec.ArgoCD.SignatureKeys {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		waves := stamps(e, p.Branch)
		first = append(first, waves[0]...)
		for _, w := range waves[1:] {
			later = append(later, w...)
		}
	}
	repoURL := repoURLOf(envs)
	target, err := publish.Open(p.Workspace().Root, p.Remote)
	if err != nil {
		return nil, err
	}
	src, err := publish.Checkout(ctx, p.Workspace().Root, p.Source)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	ws := p.Workspace()
	if src.Root != ws.Root {
		ws = workspace.Open(src.Root)
	}
	drift := !src.Rollback
	if drift {
		defer prefetchCommitted(ws)()
	}
	rep, err := (&Verify{Config: p.Config, Today: p.Today}).run(ctx, ws, nil, nil, drift)
	if err != nil {
		return nil, err
	}
	if rep.Failed() {
		return nil, &VerifyError{Report: rep}
	}
	return target.Publish(ctx, src, rep.Files, publish.Options{
		Branch: p.Branch, Retries: p.Retries, BeforePush: p.BeforePush, RepoURL: repoURL, Stamps: first, Later: later,
		Proposed: p.Proposed, SignatureKeys: keys,
		Attest: attester(ctx, p.Workspace().Root, ws, repoURL, src.Commit, rep),
	})
}

// repoURLOf is the source repository publish records in hydrator.metadata
// and the provenance: the environments name it.
func repoURLOf(envs []*spec.Environment) string {
	url := ""
	for _, e := range envs {
		url = e.Spec.RepoURL
	}
	return url
}

// stamps lists an environment's stamp branches in rollout order. The
// branch is named after the rendered branch the Applications' revision was
// derived from (spec.StampRef), with branch standing in for it.
func stamps(e *spec.Environment, branch string) [][]publish.Stamp {
	var out [][]publish.Stamp
	for _, wave := range e.Waves() {
		var w []publish.Stamp
		for _, name := range wave {
			w = append(w, publish.Stamp{Env: e.Name(), Name: name, Branch: branch + strings.TrimPrefix(e.StampRef(name), e.Spec.ArgoCD.TargetRevision)})
		}
		out = append(out, w)
	}
	return out
}

// History lists the rendered branch's commits and their sources, and which
// stamps run each.
type History struct {
	*Config
	Remote, Branch string
	// Env keeps only commits that changed this environment.
	Env string
}

// Run reads the branch's history and where every stamp stands.
func (h *History) Run(ctx context.Context) ([]publish.Entry, error) {
	entries, err := publish.History(ctx, h.Workspace().Root, h.Remote, h.Branch, "")
	if err != nil {
		return nil, err
	}
	var envs []string
	if h.Env != "" {
		envs = []string{h.Env}
	}
	all, err := h.Workspace().Environments(envs)
	if err != nil {
		return nil, err
	}
	var list []publish.Stamp
	for _, e := range all {
		for _, w := range stamps(e, h.Branch) {
			list = append(list, w...)
		}
	}
	states, err := publish.States(ctx, git.Repo{Dir: h.Workspace().Root}, h.Remote, list)
	if err != nil {
		return nil, err
	}
	for i := range entries {
		for _, st := range states {
			if st.Rendered == entries[i].Commit {
				entries[i].Stamps = append(entries[i].Stamps, st.Stamp.String())
			}
		}
	}
	if h.Env == "" {
		return entries, nil
	}
	// A stamp on a commit that did not change the environment runs what
	// the last commit that did rendered.
	var kept []publish.Entry
	var pending []string
	for _, e := range entries {
		if !slices.Contains(e.Envs, h.Env) {
			pending = append(pending, e.Stamps...)
			continue
		}
		e.Stamps = append(pending, e.Stamps...)
		pending = nil
		kept = append(kept, e)
	}
	return kept, nil
}

// SoakError says the previous wave has not soaked yet (exit 1).
type SoakError = publish.SoakError

// Rollout moves an environment's next wave of stamps to what the wave
// before it runs, once that has soaked; with Stamp and To, it pins one
// stamp to a render instead (a per-stamp rollback).
type Rollout struct {
	*Config
	Remote, Branch string
	Env            string
	Now            time.Time
	Force          bool
	// Stamp and To pin one stamp to a rendered commit or the source
	// commit it was rendered from.
	Stamp, To string
}

// Run advances the rollout (or pins the stamp).
func (r *Rollout) Run(ctx context.Context) (*publish.RolloutResult, error) {
	e, err := r.Workspace().Environment(r.Env)
	if err != nil {
		return nil, err
	}
	waves := stamps(e, r.Branch)
	if r.Stamp != "" || r.To != "" {
		for i, w := range waves {
			for _, st := range w {
				if st.Name == r.Stamp && r.To != "" {
					res, err := publish.Pin(ctx, r.Workspace().Root, r.Remote, r.Branch, st, r.To, 3, e.Spec.ArgoCD.SignatureKeys)
					if res != nil {
						res.Wave = i + 1
					}
					return res, err
				}
			}
		}
		return nil, fmt.Errorf("rollout --stamp %q --to %q: both are required, and the stamp must be one of %s's", r.Stamp, r.To, r.Env)
	}
	return publish.Rollout(ctx, publish.RolloutOptions{Root: r.Workspace().Root, Remote: r.Remote, Waves: waves, Soak: e.SoakTime(), Now: r.Now, Force: r.Force,
		SignatureKeys: e.Spec.ArgoCD.SignatureKeys})
}
