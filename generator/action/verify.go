package action

import (
	"context"
	"time"

	"github.com/libertum/platform-gitops/generator/check"
	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// Verify proves a render safe and current: it plans and renders in memory,
// runs the check step over every object, and compares the result with the
// committed rendered tree.
type Verify struct {
	*Config
	Envs []string
	// Today judges exception expiry (default now).
	Today time.Time
	// ChangedSince, when set, renders only the units the changes since
	// this git ref can affect and reads the rest from rendered/.
	ChangedSince string
}

// Run verifies; the report says whether anything failed.
func (v *Verify) Run(ctx context.Context) (*Report, error) {
	ws := v.Workspace()
	// Verify reads the committed tree (drift, and the units no change
	// reaches): from before the scope is worked out.
	defer prefetchCommitted(ws)()
	scope, err := v.scope(ctx, v.ChangedSince, "verify")
	if err != nil {
		return nil, err
	}
	shard, err := v.shard()
	if err != nil {
		return nil, err
	}
	rep, err := v.run(ctx, ws, scope, shard, true)
	if err != nil {
		return nil, err
	}
	if scope != nil {
		v.logf("gitops verify: rendered %d units, %d from the cache, %d unaffected read from rendered/; %d objects judged, %d kept their cached verdict\n", rep.Units.Rendered, rep.Units.Cached, rep.Units.Reused, rep.Checked.Evaluated, rep.Checked.Reused)
	}
	return rep, nil
}

// run verifies ws's environments (v.Envs, all when empty): plans and
// renders them in memory (scope and shard, when set, limit what is
// rendered: the rest is read from ws's committed rendered/), runs the check
// step over every object and, with drift, compares the render with ws's
// committed tree (which a caller reads ahead: prefetchCommitted). publish
// verifies a source commit's worktree this way.
//
// Environments are rendered and checked one after another
// (render.Stream): the report keeps their files, objects and findings,
// not their decoded objects, so a large platform's objects are never all
// held at once.
func (v *Verify) run(ctx context.Context, ws *workspace.Workspace, scope *plan.Scope, shard *plan.Shard, drift bool) (*Report, error) {
	store := v.Cache()
	p, err := plan.New(ws, plan.Options{Envs: v.Envs, Scope: scope, Shard: shard, Keys: store != nil})
	if err != nil {
		return nil, err
	}
	// Units unaffected since ChangedSince are that commit's: its bundled
	// verdicts serve them.
	checker := check.New(ws, check.Options{Workers: v.Workers, Cache: store, Today: orNow(v.Today), Timeout: v.PolicyTimeout, Base: v.ChangedSince})
	rep := &Report{Envs: spec.Names(p.Envs)}
	var raw []policy.Finding
	err = render.Stream(ctx, p, render.Options{Workers: v.Workers, Cache: store, KeepConversions: true}, func(res *render.Result) error {
		found, err := checker.Check(ctx, res)
		if err != nil {
			return err
		}
		raw = append(raw, found...)
		rep.Files = append(rep.Files, res.Files()...)
		rep.Units = rep.Units.Add(res.Counts())
		rep.Objects = append(rep.Objects, objectsOf(res)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Each environment's files come sorted, but not the whole list: "dev-a/"
	// sorts before "dev/", while environments come in name order.
	layout.Sort(rep.Files)
	if rep.Findings, err = checker.Finish(raw); err != nil {
		return nil, err
	}
	rep.Checked = checker.Counts()
	if drift {
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

// prefetchCommitted reads ws's committed rendered tree on another
// goroutine, while the caller works out what to render and renders it:
// opening thousands of files waits on the kernel more than it uses a CPU.
// The tree is read once (Workspace.Committed); wait returns when it is.
func prefetchCommitted(ws *workspace.Workspace) (wait func()) {
	read := make(chan struct{})
	go func() {
		defer close(read)
		_, _ = ws.Committed() // read once; a caller that needs it sees the error
	}()
	return func() { <-read }
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
	// Checked says how many objects the checks judged and how many kept
	// a cached verdict (their content and everything it depends on
	// unchanged).
	Checked check.Counts `json:"checked"`
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

// objectsOf lists every object of a render with the file it is written to.
func objectsOf(res *render.Result) []Object {
	var out []Object
	for _, u := range res.Units {
		for i, obj := range u.Objects {
			out = append(out, Object{Unit: u.Unit, File: layout.RepoPath(u.Files[i].Path),
				Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()})
		}
	}
	return out
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
