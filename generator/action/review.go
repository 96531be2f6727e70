package action

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/libertum/platform-gitops/generator/capacity"
	"github.com/libertum/platform-gitops/generator/check"
	"github.com/libertum/platform-gitops/generator/connectivity"
	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// Diff tells reviewers what a change does to the platform: it renders a
// base git ref (in a temporary worktree) and the working tree, compares
// them per resource, and reports the policy violations the change
// introduces and fixes apart from those already on the base, the
// connectivity delta and the intent of each changed component.
type Diff struct {
	*Config
	// Base is the git ref to compare with (required).
	Base  string
	Envs  []string
	Today time.Time
	// ChangedSince limits both renders to what the changes since this
	// ref can affect (default Base): the other units are read from the
	// committed rendered/, the same on both sides.
	ChangedSince string
	// Full renders every unit of both sides from its sources, trusting
	// neither side's rendered/ (slower: every unit, twice).
	Full bool
}

// UnitChange is the change to one rendered component.
type UnitChange struct {
	layout.Unit
	Files []diff.File `json:"objects"`
}

// ComponentIntent is a component's network intent, for the diagram.
type ComponentIntent struct {
	Name    string   `json:"name"`
	Tier    string   `json:"tier"`
	TalksTo []string `json:"talksTo,omitempty"`
	Edge    bool     `json:"edge,omitempty"`
	Changed bool     `json:"changed"`
	// Removed marks a component the base runs and the change drops.
	Removed bool `json:"removed,omitempty"`
}

// Flow is a connection the change opens or closes, as the NetworkPolicy
// engine answers on each side.
type Flow struct {
	Env string `json:"environment"`
	connectivity.Conn
	// Change is "opened" or "closed".
	Change string `json:"change"`
}

// Link is a component-level edge of an environment's allowed connections
// (any port, any stamp), with what the change does to it.
type Link struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Status is "added", "removed" or empty (on both sides).
	Status string `json:"status,omitempty"`
}

// Review is the whole comparison.
type Review struct {
	Base       string           `json:"base"`
	BaseCommit string           `json:"baseCommit"`
	Envs       []string         `json:"environments"`
	Units      []UnitChange     `json:"changes"`
	Introduced []policy.Finding `json:"introduced"`
	Fixed      []policy.Finding `json:"fixed"`
	Existing   []policy.Finding `json:"existing"`
	// Intent is each environment's network intent (head side, plus the
	// components the change removes).
	Intent map[string][]ComponentIntent `json:"intent"`
	// Connectivity lists the connections the change opens and closes, per
	// environment and stamp.
	Connectivity []Flow `json:"connectivity"`
	// Links are each environment's component-level allowed connections,
	// marked added or removed.
	Links map[string][]Link `json:"links"`
	// Capacity is every stamp's demand at peak and at failover against its
	// node budget, after the change and before it.
	Capacity []StampCapacity `json:"capacity"`
}

// StampCapacity is one stamp's capacity after the change, and before it.
type StampCapacity struct {
	After capacity.Stamp `json:"after"`
	// Before is nil for a stamp the change adds.
	Before *capacity.Stamp `json:"before,omitempty"`
}

// Objects counts changed objects by status.
func (r *Review) Objects() (added, removed, changed int) {
	for _, u := range r.Units {
		for _, f := range u.Files {
			switch f.Status {
			case diff.Added:
				added++
			case diff.Removed:
				removed++
			case diff.Changed:
				changed++
			}
		}
	}
	return
}

type side struct {
	res      *render.Result
	findings []policy.Finding
	envs     map[string]*spec.Environment
	conns    map[string][]connectivity.Conn
	// capacity is each stamp's, by environment/stamp, in the render's order.
	capacity []capacity.Stamp
}

// Run compares the working tree (the workspace: the head of the change)
// with the base ref, rendering the base in a temporary worktree; the
// review's Introduced findings decide the exit code.
func (d *Diff) Run(ctx context.Context) (*Review, error) {
	ws := d.Workspace()
	repo := git.Repo{Dir: ws.Root}
	baseCommit, err := repo.Resolve(ctx, d.Base)
	if err != nil {
		return nil, fmt.Errorf("diff --base %s: %w", d.Base, err)
	}
	if d.Full && d.ChangedSince != "" {
		return nil, errors.New("diff: Full renders every unit and ChangedSince limits them: give one")
	}
	since := d.ChangedSince
	if since == "" && !d.Full {
		since = baseCommit
	}
	scope, err := d.scope(ctx, since, "diff")
	if err != nil {
		return nil, err
	}
	if scope != nil {
		// The head's unaffected units are its committed files.
		defer prefetchCommitted(ws)()
	}
	// The base's worktree is checked out while the head loads: git
	// writing a large tree's index and files waits on the disk, and the
	// head needs none of it.
	checkout := make(chan baseCheckout, 1)
	go func() { checkout <- d.checkoutBase(ctx, repo, baseCommit, scope) }()
	ref := baseRef{commit: baseCommit, tree: sync.OnceValues(func() (map[string]string, error) {
		return repo.Blobs(ctx, baseCommit, layout.Dir)
	})}
	head, err := d.load(ctx, ws, d.Envs, scope, nil, nil, nil, ref)
	bc := <-checkout
	if bc.remove != nil {
		defer bc.remove()
	}
	if err != nil {
		return nil, err
	}
	if bc.err != nil {
		return nil, bc.err
	}
	base, err := d.loadBase(ctx, head, bc.ws, scope, ref)
	if err != nil {
		return nil, err
	}
	changed, err := diff.Trees(base.res.Files(), head.res.Files())
	if err != nil {
		return nil, err
	}
	r := &Review{Base: d.Base, BaseCommit: baseCommit, Envs: head.res.EnvNames(), Intent: map[string][]ComponentIntent{}, Links: map[string][]Link{}}
	r.Units = group(changed)
	r.Introduced, r.Fixed, r.Existing = delta(base.findings, head.findings)
	for _, e := range head.res.Envs {
		name := e.Name()
		r.Connectivity = append(r.Connectivity, flowDelta(name, base.conns[name], head.conns[name])...)
		r.Links[name] = links(base.conns[name], head.conns[name])
		r.Intent[name] = intent(e, base.envs[name], r.Units, r.Connectivity)
	}
	before := map[[2]string]capacity.Stamp{}
	for _, c := range base.capacity {
		before[[2]string{c.Env, c.Stamp}] = c
	}
	for _, c := range head.capacity {
		h := StampCapacity{After: c}
		if b, ok := before[[2]string{c.Env, c.Stamp}]; ok {
			h.Before = &b
		}
		r.Capacity = append(r.Capacity, h)
	}
	return r, nil
}

// baseRef is the diff's base commit and its rendered tree (repo path to
// git blob id), listed once for everything that reads it: both sides'
// checks (their bundles) and the derived units the base shares.
type baseRef struct {
	commit string
	tree   func() (map[string]string, error)
}

// loadBase loads the base side in its worktree (baseWS). With a scope, its
// units outside it are the head's committed files, as the head read them
// back, and its derived units are the head's where the base commit holds
// them (sharedDerived).
func (d *Diff) loadBase(ctx context.Context, head *side, baseWS *workspace.Workspace, scope *plan.Scope, base baseRef) (*side, error) {
	var (
		committed *layout.Tree
		known     map[layout.Unit]*render.Unit
	)
	if scope != nil {
		var err error
		if committed, err = d.Workspace().Committed(); err != nil {
			return nil, err
		}
		tree, err := base.tree()
		if err != nil {
			return nil, fmt.Errorf("diff --base %s: %w", d.Base, err)
		}
		known = sharedDerived(head.res, tree)
	}
	sd, err := d.load(ctx, baseWS, head.res.EnvNames(), scope, committed, head.res.ReadBack, known, base)
	if err != nil {
		return nil, fmt.Errorf("render base %s: %w", d.Base, err)
	}
	return sd, nil
}

// load renders one side and checks it with that side's own policies and
// exceptions, so a change to a policy shows in the delta too. Units
// outside scope are read from committed (default ws's rendered/), taken
// from decoded when the other side read them already; derived units in
// known are taken as they are (render.Options.Derived). Both sides are
// checked with the verdicts bundled at the base commit (check.Options.Base).
func (d *Diff) load(ctx context.Context, ws *workspace.Workspace, envs []string, scope *plan.Scope, committed *layout.Tree, decoded, known map[layout.Unit]*render.Unit, base baseRef) (*side, error) {
	names := envs
	if len(envs) > 0 {
		// The base may lack an environment the change adds.
		all, err := ws.Names()
		if err != nil {
			return nil, err
		}
		names = intersect(envs, all)
		if len(names) == 0 {
			return &side{res: &render.Result{}, envs: map[string]*spec.Environment{}, conns: map[string][]connectivity.Conn{}}, nil
		}
	}
	store := d.Cache()
	p, err := plan.New(ws, plan.Options{Envs: names, Scope: scope, Keys: store != nil, Committed: committed})
	if err != nil {
		return nil, err
	}
	res, err := render.Run(ctx, p, render.Options{Workers: d.Workers, Cache: store, Decoded: decoded, Derived: known})
	if err != nil {
		return nil, err
	}
	checker := check.New(ws, check.Options{Workers: d.Workers, Cache: store, Today: orNow(d.Today), Timeout: d.PolicyTimeout, Base: base.commit, BaseTree: base.tree})
	findings, err := checker.Render(ctx, res)
	if err != nil {
		return nil, err
	}
	sd := &side{res: res, findings: findings, envs: map[string]*spec.Environment{}, conns: map[string][]connectivity.Conn{}}
	for _, e := range res.Envs {
		conns, err := checker.Connections(e, res)
		if err != nil {
			return nil, err
		}
		sd.envs[e.Name()], sd.conns[e.Name()] = e, conns
		stamps, err := checker.Capacity(e, res)
		if err != nil {
			return nil, err
		}
		sd.capacity = append(sd.capacity, stamps...)
	}
	return sd, nil
}

// baseCheckout is the base commit's worktree (checkoutBase): remove it
// when done, also on err.
type baseCheckout struct {
	ws     *workspace.Workspace
	remove func()
	err    error
}

// checkoutBase checks the base commit out in a temporary worktree. With a
// scope, its sources only, and of its bases those it renders: its
// unaffected units are the head's rendered files (the scope says no change
// reaches them), and the rendered tree and the bases are most of a large
// platform's files.
func (d *Diff) checkoutBase(ctx context.Context, repo git.Repo, baseCommit string, scope *plan.Scope) baseCheckout {
	var without []string
	if scope != nil {
		without = []string{workspace.RenderedDir, workspace.BaseDir}
	}
	dir, remove, err := repo.Worktree(ctx, baseCommit, without...)
	if err != nil {
		return baseCheckout{err: err}
	}
	ws := workspace.Open(dir)
	if scope != nil {
		if err := checkoutBases(ctx, ws, baseCommit, d.Envs, scope); err != nil {
			return baseCheckout{remove: remove, err: fmt.Errorf("diff --base %s: %w", d.Base, err)}
		}
	}
	return baseCheckout{ws: ws, remove: remove}
}

// sharedDerived returns the head's units derived from a whole stamp or
// environment (namespaces, Argo CD's) whose files the base commit holds
// in its rendered tree (base: repo path to blob id) path for path and
// byte for byte, and no other file: the base's units, read from rendered/
// at the base commit as the protected branch's job left them (it fails
// on a tree that is not its render), need not be built from every object
// of the base again. A unit that differs there, or that the base commit
// does not hold, is built as before.
func sharedDerived(head *render.Result, base map[string]string) map[layout.Unit]*render.Unit {
	if len(base) == 0 {
		return nil
	}
	// The base's files of the head's derived units only: the rest of a
	// large tree is tens of thousands of files no derived unit holds.
	byUnit := map[layout.Unit]map[string]string{}
	for _, u := range head.Units {
		if u.Derived() {
			byUnit[u.Unit] = map[string]string{}
		}
	}
	for p, id := range base {
		rel, ok := layout.FromRepoPath(p)
		if !ok {
			continue
		}
		if u, _, ok := layout.Parse(rel); ok && byUnit[u] != nil {
			byUnit[u][p] = id
		}
	}
	out := map[layout.Unit]*render.Unit{}
	for _, u := range head.Units {
		files, ok := byUnit[u.Unit]
		if !ok || len(files) == 0 || len(files) != len(u.Files) {
			continue
		}
		differs := func(f layout.File) bool { return files[layout.RepoPath(f.Path)] != git.BlobID(f.Data) }
		if !slices.ContainsFunc(u.Files, differs) {
			out[u.Unit] = u
		}
	}
	return out
}

// checkoutBases checks out, in a worktree of rev holding no bases, the
// bases of the components scope holds in rev's environments (envs, all
// when empty): all its render reads of base/, since a unit renders from its
// own base folder alone (kustomize and helm run on that folder's files,
// render.sources).
func checkoutBases(ctx context.Context, ws *workspace.Workspace, rev string, envs []string, scope *plan.Scope) error {
	tree := git.Repo{Dir: ws.Root}
	listed, err := tree.Run(ctx, "ls-tree", "-d", "--name-only", rev, workspace.BaseDir+"/")
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, d := range strings.Split(listed, "\n") {
		exists[d] = true
	}
	all, err := ws.Names()
	if err != nil {
		return err
	}
	names := all
	if len(envs) > 0 {
		names = intersect(envs, all)
	}
	environments, err := ws.Environments(names)
	if err != nil {
		return err
	}
	// The folder itself, even when it renders no base: a workspace reads it.
	if err := os.MkdirAll(ws.Path(workspace.BaseDir), 0o755); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, e := range environments {
		for _, name := range e.ComponentNames() {
			dir := workspace.ComponentBase(name, e.Spec.Components[name])
			if scope.Has(e.Name(), name) && exists[dir] {
				want[dir] = true
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	_, err = tree.Run(ctx, append([]string{"checkout", rev, "--"}, slices.Sorted(maps.Keys(want))...)...)
	return err
}

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if in[x] {
			out = append(out, x)
		}
	}
	return out
}

// group sorts changed files into (environment, stamp, component) units.
func group(files []diff.File) []UnitChange {
	var units []UnitChange
	index := map[string]int{}
	for _, f := range files {
		u, _, ok := layout.Parse(f.Path)
		if !ok { // not a unit's file: group it by its folder
			u = layout.Unit{Env: layout.Env(f.Path), Component: path.Dir(f.Path)}
		}
		key := u.String()
		i, ok := index[key]
		if !ok {
			i = len(units)
			index[key] = i
			units = append(units, UnitChange{Unit: u})
		}
		units[i].Files = append(units[i].Files, f)
	}
	return units
}

type findingKey struct {
	rule, env, stamp, component, kind, namespace, name, msg string
}

func keyOf(f policy.Finding) findingKey {
	return findingKey{f.Rule, f.Env, f.Stamp, f.Component, f.Kind, f.Namespace, f.Name, f.Message}
}

// delta splits the denied findings into those the change introduces, those
// it fixes, and those already on the base.
func delta(base, head []policy.Finding) (introduced, fixed, existing []policy.Finding) {
	denied := func(fs []policy.Finding) map[findingKey]policy.Finding {
		m := map[findingKey]policy.Finding{}
		for _, f := range fs {
			if f.Level == policy.Deny {
				m[keyOf(f)] = f
			}
		}
		return m
	}
	b, h := denied(base), denied(head)
	for k, f := range h {
		if _, ok := b[k]; ok {
			existing = append(existing, f)
		} else {
			introduced = append(introduced, f)
		}
	}
	for k, f := range b {
		if _, ok := h[k]; !ok {
			fixed = append(fixed, f)
		}
	}
	policy.Sort(introduced)
	policy.Sort(fixed)
	policy.Sort(existing)
	return
}

// flowDelta lists the connections one side allows and the other does not.
func flowDelta(env string, base, head []connectivity.Conn) []Flow {
	allowed := func(cs []connectivity.Conn) map[string]connectivity.Conn {
		m := map[string]connectivity.Conn{}
		for _, c := range cs {
			if c.Allowed {
				m[c.Key()] = c
			}
		}
		return m
	}
	b, h := allowed(base), allowed(head)
	var out []Flow
	for k, c := range h {
		if _, ok := b[k]; !ok {
			out = append(out, Flow{Env: env, Conn: c, Change: "opened"})
		}
	}
	for k, c := range b {
		if _, ok := h[k]; !ok {
			out = append(out, Flow{Env: env, Conn: c, Change: "closed"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// links folds allowed connections into component-level edges (cluster DNS,
// which every pod reaches, left out), marked by what the change does.
func links(base, head []connectivity.Conn) []Link {
	edges := func(cs []connectivity.Conn) map[[2]string]bool {
		m := map[[2]string]bool{}
		for _, c := range cs {
			if c.Allowed && c.FromComponent != "" && c.ToComponent != "" {
				m[[2]string{c.FromComponent, c.ToComponent}] = true
			}
		}
		return m
	}
	b, h := edges(base), edges(head)
	var out []Link
	for e := range h {
		l := Link{From: e[0], To: e[1]}
		if !b[e] {
			l.Status = "added"
		}
		out = append(out, l)
	}
	for e := range b {
		if !h[e] {
			out = append(out, Link{From: e[0], To: e[1], Status: "removed"})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}

// intent lists an environment's components with their tier and flows,
// marking those the change touches (objects or connections) and those it
// removes.
func intent(e, base *spec.Environment, units []UnitChange, flows []Flow) []ComponentIntent {
	touched := map[string]bool{}
	for _, u := range units {
		if u.Env == e.Name() {
			touched[u.Component] = true
		}
	}
	for _, f := range flows {
		if f.Env == e.Name() {
			touched[f.FromComponent], touched[f.ToComponent] = true, true
		}
	}
	var out []ComponentIntent
	for _, name := range e.ComponentNames() {
		c := e.Spec.Components[name]
		talks := append([]string(nil), c.TalksTo...)
		sort.Strings(talks)
		out = append(out, ComponentIntent{
			Name: name, Tier: c.Tier, TalksTo: talks,
			Edge:    c.Tier == spec.TierPublic && c.Ingress == nil && c.External == nil,
			Changed: touched[name],
		})
	}
	if base != nil {
		for _, name := range base.ComponentNames() {
			if _, ok := e.Spec.Components[name]; !ok {
				out = append(out, ComponentIntent{Name: name, Tier: base.Spec.Components[name].Tier, Changed: true, Removed: true})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
