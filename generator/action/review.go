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

// side is what a diff keeps of one side's render: its files, findings,
// connections and capacity, not its objects.
type side struct {
	// order is the side's environments, in the render's order.
	order    []*spec.Environment
	files    []layout.File
	findings []policy.Finding
	envs     map[string]*spec.Environment
	conns    map[string][]connectivity.Conn
	// capacity is each stamp's, by environment/stamp, in the render's order.
	capacity []capacity.Stamp
}

func newSide() *side {
	return &side{envs: map[string]*spec.Environment{}, conns: map[string][]connectivity.Conn{}}
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
	checkedOut := sync.OnceValue(func() baseCheckout { return <-checkout })
	defer func() {
		if remove := checkedOut().remove; remove != nil {
			remove()
		}
	}()
	baseWS := func() (*workspace.Workspace, error) {
		bc := checkedOut()
		return bc.ws, bc.err
	}
	head, base, err := d.sides(ctx, ws, scope, ref, baseWS, nil)
	if err != nil {
		return nil, err
	}
	changed, err := diff.Trees(base.files, head.files)
	if err != nil {
		return nil, err
	}
	r := &Review{Base: d.Base, BaseCommit: baseCommit, Envs: spec.Names(head.order), Intent: map[string][]ComponentIntent{}, Links: map[string][]Link{}}
	r.Units = group(changed)
	r.Introduced, r.Fixed, r.Existing = delta(base.findings, head.findings)
	for _, e := range head.order {
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

// sides loads the diff's two sides environment by environment: each of
// the head's environments (ws) is rendered and checked (render.Stream),
// then the same environment of the base, in its worktree (baseWS, waited
// for on first need), so only two environments' objects are held at once.
// With a scope, the base's units outside it are the head's committed
// files, as the head read them back, and its derived units are the head's
// where the base commit holds them (sharedDerived). Each side is checked
// with its own policies and exceptions, so a change to a policy shows in
// the delta too, and both with the verdicts bundled at the base commit
// (check.Options.Base). seen, when set, is given each environment's two
// renders (the base's nil where the base lacks the environment).
func (d *Diff) sides(ctx context.Context, ws *workspace.Workspace, scope *plan.Scope, ref baseRef, baseWS func() (*workspace.Workspace, error), seen func(head, base *render.Result)) (*side, *side, error) {
	head, err := d.newSideRun(ws, d.Envs, scope, nil, ref)
	if err != nil {
		return nil, nil, err
	}
	var base *sideRun
	derived := sync.OnceValues(func() (map[layout.Unit]map[string]string, error) {
		tree, err := ref.tree()
		return derivedFiles(tree), err
	})
	baseErr := func(err error) error { return fmt.Errorf("render base %s: %w", d.Base, err) }
	err = head.stream(ctx, func(res *render.Result) error {
		if err := head.add(ctx, res); err != nil {
			return err
		}
		if base == nil {
			bws, err := baseWS()
			if err != nil {
				return err
			}
			var committed *layout.Tree
			if scope != nil {
				if committed, err = ws.Committed(); err != nil {
					return err
				}
			}
			if base, err = d.newSideRun(bws, spec.Names(head.plan.Envs), scope, committed, ref); err != nil {
				return baseErr(err)
			}
		}
		sub := base.plans[res.Envs[0].Name()]
		if sub == nil { // the change adds the environment
			if seen != nil {
				seen(res, nil)
			}
			return nil
		}
		var known map[layout.Unit]*render.Unit
		if scope != nil {
			derived, err := derived()
			if err != nil {
				return fmt.Errorf("diff --base %s: %w", d.Base, err)
			}
			known = sharedDerived(res, derived)
		}
		bres, err := render.Run(ctx, sub, base.options(res.ReadBack, known))
		if err != nil {
			return baseErr(err)
		}
		if err := base.add(ctx, bres); err != nil {
			return baseErr(err)
		}
		if seen != nil {
			seen(res, bres)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if base == nil { // the head has no environment
		if _, err := baseWS(); err != nil {
			return nil, nil, err
		}
		base = &sideRun{sd: newSide()}
	}
	hs, err := head.finish()
	if err != nil {
		return nil, nil, err
	}
	bs, err := base.finish()
	if err != nil {
		return nil, nil, baseErr(err)
	}
	return hs, bs, nil
}

// sideRun is one side of a diff while it loads: its plan, split by
// environment, its Checker, and what it keeps so far.
type sideRun struct {
	d       *Diff
	plan    *plan.Plan
	plans   map[string]*plan.Plan
	checker *check.Checker
	raw     []policy.Finding
	sd      *side
}

// newSideRun plans ws's environments among envs (all when empty; a base
// may lack one the change adds): units outside scope are read from
// committed (default ws's rendered/).
func (d *Diff) newSideRun(ws *workspace.Workspace, envs []string, scope *plan.Scope, committed *layout.Tree, base baseRef) (*sideRun, error) {
	s := &sideRun{d: d, plans: map[string]*plan.Plan{}, sd: newSide()}
	names := envs
	if len(envs) > 0 {
		all, err := ws.Names()
		if err != nil {
			return nil, err
		}
		if names = intersect(envs, all); len(names) == 0 {
			return s, nil
		}
	}
	store := d.Cache()
	p, err := plan.New(ws, plan.Options{Envs: names, Scope: scope, Keys: store != nil, Committed: committed})
	if err != nil {
		return nil, err
	}
	s.plan = p
	for _, sub := range p.ByEnv() {
		s.plans[sub.Envs[0].Name()] = sub
	}
	s.checker = check.New(ws, check.Options{Workers: d.Workers, Cache: store, Today: orNow(d.Today), Timeout: d.PolicyTimeout, Base: base.commit, BaseTree: base.tree})
	return s, nil
}

// options are the render's options: units read back are taken from
// decoded when the other side read them already, derived units in known
// as they are (render.Options).
func (s *sideRun) options(decoded, known map[layout.Unit]*render.Unit) render.Options {
	return render.Options{Workers: s.d.Workers, Cache: s.d.Cache(), Decoded: decoded, Derived: known, KeepConversions: true}
}

// stream renders the side's environments one after another into use.
func (s *sideRun) stream(ctx context.Context, use func(*render.Result) error) error {
	if s.plan == nil {
		return nil
	}
	return render.Stream(ctx, s.plan, s.options(nil, nil), use)
}

// add checks one environment's render and keeps its files, findings,
// connections and capacity.
func (s *sideRun) add(ctx context.Context, res *render.Result) error {
	found, err := s.checker.Check(ctx, res)
	if err != nil {
		return err
	}
	s.raw = append(s.raw, found...)
	for _, e := range res.Envs {
		conns, err := s.checker.Connections(e, res)
		if err != nil {
			return err
		}
		stamps, err := s.checker.Capacity(e, res)
		if err != nil {
			return err
		}
		s.sd.order = append(s.sd.order, e)
		s.sd.envs[e.Name()], s.sd.conns[e.Name()] = e, conns
		s.sd.capacity = append(s.sd.capacity, stamps...)
	}
	s.sd.files = append(s.sd.files, res.Files()...)
	return nil
}

// finish applies the exceptions to the side's findings and sorts its
// files by path, as a render of all its environments at once gives them.
func (s *sideRun) finish() (*side, error) {
	layout.Sort(s.sd.files)
	if s.checker != nil {
		findings, err := s.checker.Finish(s.raw)
		if err != nil {
			return nil, err
		}
		s.sd.findings = findings
	}
	return s.sd, nil
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

// derivedFiles groups the files of a base commit's rendered tree (repo
// path to blob id) by unit, those of derived units only (render.Derived):
// the rest of a large tree is tens of thousands of files no derived unit
// holds. A diff groups them once for all its environments.
func derivedFiles(base map[string]string) map[layout.Unit]map[string]string {
	byUnit := map[layout.Unit]map[string]string{}
	for p, id := range base {
		rel, ok := layout.FromRepoPath(p)
		if !ok {
			continue
		}
		u, _, ok := layout.Parse(rel)
		if !ok || !render.Derived(u) {
			continue
		}
		if byUnit[u] == nil {
			byUnit[u] = map[string]string{}
		}
		byUnit[u][p] = id
	}
	return byUnit
}

// sharedDerived returns the head's units derived from a whole stamp or
// environment (namespaces, Argo CD's) whose files the base commit holds
// in its rendered tree (base: derivedFiles of it) path for path and byte
// for byte, and no other file: the base's units, read from rendered/ at
// the base commit as the protected branch's job left them (it fails on a
// tree that is not its render), need not be built from every object of
// the base again. A unit that differs there, or that the base commit does
// not hold, is built as before.
func sharedDerived(head *render.Result, base map[layout.Unit]map[string]string) map[layout.Unit]*render.Unit {
	out := map[layout.Unit]*render.Unit{}
	for _, u := range head.Units {
		files, ok := base[u.Unit]
		if !ok || !u.Derived() || len(files) != len(u.Files) {
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
