// Package check is the one check step every command uses: each object's
// schema, the Rego policies over whole environments, the reviewed
// exceptions and the dedupe of stamp-wide findings, with an environment's
// findings cached by the content of everything they depend on. verify,
// diff's policy delta and policy check all call it, so one object gets one
// verdict everywhere.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/capacity"
	"github.com/libertum/platform-gitops/generator/connectivity"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/origin"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/schema"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// Options say how to check.
type Options struct {
	Workers int
	// Cache, when set, holds each environment's findings by content.
	Cache *cache.Store
	// Today is the date exceptions are judged on.
	Today time.Time
	// Base, when set, is a git commit whose committed rendered tree this
	// check's units mostly share (a pull request's base): the entries of
	// each environment's check there, bundled by the protected branch's
	// job, are read in one fetch (bundle).
	Base string
	// BaseTree, when set, lists Base's rendered tree (repo path to git
	// blob id) for a caller that lists it once for several checks (a
	// diff's two sides); else the Checker lists it.
	BaseTree func() (map[string]string, error)
	// Timeout bounds the policy evaluation of one environment (default
	// DefaultTimeout): a policy that never ends fails the check instead
	// of hanging it.
	Timeout time.Duration
}

// DefaultTimeout bounds one environment's policy evaluation.
const DefaultTimeout = 60 * time.Second

// DeadlineError says the policies did not finish within the deadline.
type DeadlineError struct {
	Env     string
	Timeout time.Duration
	// Object is the object being evaluated when the deadline struck.
	Object string
	// Files are the policy files that do not finish on Object when Stuck,
	// else every policy file being evaluated.
	Files []string
	Stuck bool
}

func (e *DeadlineError) Error() string {
	msg := fmt.Sprintf("policies for %s did not finish within %s (raise --policy-timeout, or fix a rule that never ends)", e.Env, e.Timeout)
	if e.Stuck {
		return fmt.Sprintf("%s: %s does not finish on %s", msg, strings.Join(e.Files, ", "), e.Object)
	}
	return fmt.Sprintf("%s; evaluating %s", msg, strings.Join(e.Files, ", "))
}

// deadline names what the policies' deadline was spent on: an object in
// flight when it struck and the policy files that do not finish on it
// alone (probed for as long again, at most two seconds, so an interrupt
// still ends the command in time). When no file is stuck on that object
// (the time went on many), every file is named.
func (c *Checker) deadline(ctx context.Context, env *spec.Environment, inputs []policy.Input, timeout time.Duration, err error) error {
	de := &DeadlineError{Env: env.Name(), Timeout: timeout, Files: c.engine.Files()}
	var stopped *policy.StoppedError
	if !errors.As(err, &stopped) {
		return de
	}
	stuck, on, perr := stopped.Stuck(ctx, min(max(timeout, 100*time.Millisecond), 2*time.Second))
	if perr == nil && len(stuck) > 0 {
		in := inputs[on]
		de.Files, de.Stuck, de.Object = stuck, true, fmt.Sprintf("%s %s", in.File, manifest.IDOf(in.Object))
	}
	return de
}

// Checker checks objects with one workspace's policies, CRDs and
// exceptions. The policies and CRDs are loaded on first need: an
// environment whose findings are cached never compiles them.
type Checker struct {
	ws *workspace.Workspace
	o  Options

	once      sync.Once
	engine    *policy.Engine
	validator *schema.Validator
	loadErr   error

	sourcesOnce sync.Once
	sources     cache.Key
	sourcesErr  error

	exceptionsOnce sync.Once
	exceptions     *policy.Exceptions
	exceptionsErr  error

	// origins reads the repo's sources once for every environment's
	// findings (Finding.Origin).
	origins *origin.Finder

	evaluated, reused atomic.Int64

	// sessions lets one environment's policies hold its objects' values at
	// a time (policyRun): each evaluation uses every worker, and the
	// values of three environments at once were the peak of a large
	// check's memory.
	sessions chan struct{}

	// conns are the connections the connectivity rule evaluated
	// (Connections).
	conns byEnv[[]connectivity.Conn]
	// capacities are the units' capacity summaries each environment's
	// check kept (Capacity).
	capacities byEnv[map[layout.Unit]*capacity.Unit]
	// baseTree is the base's rendered tree (path to blob id), listed once
	// for every environment's bundle (baseEntries).
	baseOnce sync.Once
	baseTree map[string]string
	baseErr  error
	// keys are the environments' findings keys, computed once (a Checker
	// checks one render).
	keys byEnv[cache.Key]
	// files holds each unit's file digests (weak.Pointer[render.Unit] to
	// []digest):
	// the environment's key, the units' keys and the data index all hash
	// the same bytes, once.
	files sync.Map
}

// byEnv holds one value per environment, safe for concurrent use.
type byEnv[T any] struct {
	mu sync.Mutex
	m  map[string]T
}

func (b *byEnv[T]) get(env string) (T, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[env]
	return v, ok
}

func (b *byEnv[T]) set(env string, v T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]T{}
	}
	b.m[env] = v
}

// Counts say how many objects the policies judged and how many kept
// their cached verdict.
type Counts struct {
	Evaluated int `json:"evaluated"`
	Reused    int `json:"reused"`
}

// Counts returns how the objects checked so far were judged.
func (c *Checker) Counts() Counts {
	return Counts{Evaluated: int(c.evaluated.Load()), Reused: int(c.reused.Load())}
}

// New returns a Checker for the workspace.
func New(ws *workspace.Workspace, o Options) *Checker {
	return &Checker{ws: ws, o: o, origins: origin.New(ws.Root), sessions: make(chan struct{}, 1)}
}

func (c *Checker) load() error {
	c.once.Do(func() {
		policies, err := c.ws.Policies()
		if err != nil {
			c.loadErr = err
			return
		}
		if c.engine, c.loadErr = policy.LoadFiles(c.ws.Path(workspace.PoliciesDir), policies); c.loadErr != nil {
			return
		}
		crds, err := c.ws.CRDs()
		if err != nil {
			c.loadErr = err
			return
		}
		c.validator, c.loadErr = schema.LoadFiles(c.ws.Path(workspace.CRDsDir), crds)
	})
	return c.loadErr
}

// Render checks every object of a render, environment by environment, and
// applies the exceptions: Finish of Check.
func (c *Checker) Render(ctx context.Context, res *render.Result) ([]policy.Finding, error) {
	raw, err := c.Check(ctx, res)
	if err != nil {
		return nil, err
	}
	return c.Finish(raw)
}

// Check checks every object of a render, environment by environment,
// without the exceptions: a caller that checks a render in parts (one
// environment's Result at a time, render.Stream) gives Finish every
// part's findings, in environment order, and gets what Render of the
// whole would give.
//
// Environments are checked at the same time: much of one environment's
// check runs on one goroutine (the schema check, the connectivity engine),
// and the policies of another fill the other CPUs meanwhile. Findings come
// back in environment order.
func (c *Checker) Check(ctx context.Context, res *render.Result) ([]policy.Finding, error) {
	found := make([][]policy.Finding, len(res.Envs))
	g, gctx := errgroup.WithContext(ctx)
	for i, env := range res.Envs {
		g.Go(func() error {
			var err error
			found[i], err = c.checkEnv(gctx, env, res)
			if err == nil {
				locate(c.origins, env, found[i])
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(found...), nil
}

// Objects checks arbitrary objects as if they were rendered for env: the
// same schema check, policies, exceptions and dedupe as Render.
func (c *Checker) Objects(ctx context.Context, env *spec.Environment, inputs []policy.Input) ([]policy.Finding, error) {
	if err := c.load(); err != nil {
		return nil, err
	}
	raw, err := c.evaluate(ctx, env, inputs)
	if err != nil {
		return nil, err
	}
	return c.Finish(raw)
}

// loadExceptions reads the exceptions once and refuses those naming a rule
// the policies do not have or a component no environment runs: they would
// waive nothing, silently.
func (c *Checker) loadExceptions() (*policy.Exceptions, error) {
	c.exceptionsOnce.Do(func() {
		ex, err := c.ws.Exceptions()
		if err != nil {
			c.exceptionsErr = err
			return
		}
		policies, err := c.ws.Policies()
		if err != nil {
			c.exceptionsErr = err
			return
		}
		rules := policy.RuleNames(policies)
		for _, r := range goRules {
			for _, name := range r.names {
				rules[name] = true
			}
		}
		components := map[string]bool{spec.NamespacesComponent: true, spec.AppsComponent: true, spec.BootstrapDir: true}
		envs, _ := c.ws.Environments(nil) // a broken environment is its own command's error
		for _, e := range envs {
			for name := range e.Spec.Components {
				components[name] = true
			}
		}
		c.exceptions, c.exceptionsErr = ex, ex.Check(rules, components)
	})
	return c.exceptions, c.exceptionsErr
}

// Finish applies the exceptions to Check's findings (they depend on the
// date, so they are never cached) and keeps one finding per stamp-wide
// violation.
func (c *Checker) Finish(raw []policy.Finding) ([]policy.Finding, error) {
	exceptions, err := c.loadExceptions()
	if err != nil {
		return nil, err
	}
	today := c.o.Today
	if today.IsZero() {
		today = time.Now()
	}
	return policy.Dedupe(exceptions.Apply(raw, today)), nil
}

// checkKind versions cached findings.
const checkKind = "check-env/3"

// checkEnv checks an environment's units: all its findings from the cache
// when nothing of it changed, else object by object (checkUnits).
func (c *Checker) checkEnv(ctx context.Context, env *spec.Environment, res *render.Result) ([]policy.Finding, error) {
	units := unitsOf(env, res)
	var key cache.Key
	cached := false
	if c.o.Cache != nil {
		k, err := c.checkKey(env, units)
		if err == nil {
			key, cached = k, true
			if b, ok := c.o.Cache.Get(key); ok {
				var fs []policy.Finding
				if err := json.Unmarshal(b, &fs); err == nil {
					for _, u := range units {
						c.reused.Add(int64(len(u.Objects)))
					}
					return fs, nil
				}
				c.o.Cache.Miss(key)
			}
		}
	}
	fs, err := c.checkUnits(ctx, env, units, res.Conversions)
	if err != nil {
		return nil, err
	}
	if cached {
		if b, err := json.Marshal(fs); err == nil {
			_ = c.o.Cache.Put(key, b) // a failed write only costs the next run time
		}
		if conns, ok := c.conns.get(env.Name()); ok {
			c.storeConnections(env, res, conns)
		}
		// A later diff against this content (its base side) reads them
		// instead of every object.
		if kept, ok := c.capacities.get(env.Name()); ok {
			if stamps, err := capacityOf(env, res, kept); err == nil {
				c.storeCapacity(env, res, stamps)
			}
		}
	}
	return fs, nil
}

// unitsOf lists a render's units of one environment.
func unitsOf(env *spec.Environment, res *render.Result) []*render.Unit {
	var units []*render.Unit
	for _, u := range res.Units {
		if u.Env == env.Name() {
			units = append(units, u)
		}
	}
	return units
}

// checkUnits checks an environment's objects. With a cache, each unit's
// results are looked up by its content (unitKey): an object of a unit
// found there keeps its findings of the checks that see it alone, and its
// policy findings while every path of the data they were concluded from
// finds the same content; only the others are evaluated (with every
// object as data). The checks across a stamp (goRules' check) judge every
// object each time, through typed (the render's conversions; nil: a
// memo of their own).
func (c *Checker) checkUnits(ctx context.Context, env *spec.Environment, units []*render.Unit, typed *manifest.Typed) ([]policy.Finding, error) {
	var (
		states []*unitState
		inputs []policy.Input
	)
	for _, u := range units {
		in := inputsOf(env, []*render.Unit{u})
		states = append(states, &unitState{unit: u, inputs: in, first: len(inputs)})
		inputs = append(inputs, in...)
	}
	var index *dataIndex
	if c.o.Cache != nil {
		if err := c.lookup(ctx, env, states, c.baseEntries(ctx, env)); err != nil {
			return nil, err
		}
		digests := make([]digest, 0, len(inputs))
		for _, s := range states {
			digests = append(digests, c.digests(s.unit)...)
		}
		index = newDataIndex(env, inputs, digests)
	}
	// The policies and CRDs compile only for objects to judge (a unit
	// without an entry has all its objects stale): the checks across a
	// stamp need neither.
	run := c.policies(ctx, env, inputs)
	defer run.close()
	// Summaries first: the findings of a rule across the stamp read them.
	sums := make([]policy.Summary, len(inputs))
	var sumStale []int
	for _, s := range states {
		for j := range s.inputs {
			if s.entry == nil || !fresh(s.entry.Objects[j].Summary.Reads, s.entry.Objects[j].SummarySeen, index) {
				sumStale = append(sumStale, s.first+j)
				continue
			}
			sums[s.first+j] = s.entry.Objects[j].Summary
		}
	}
	var sumSeen [][]digest
	if len(sumStale) > 0 {
		got, err := run.summaries(sumStale)
		if err != nil {
			return nil, err
		}
		for _, i := range sumStale {
			sums[i] = got[i]
			// What each read found, before the summaries are data: a
			// summary is evaluated without them.
			sumSeen = append(sumSeen, seen(index, sums[i].Reads))
		}
	}
	if index != nil {
		index.setSummaries(inputs, sums)
	}
	var stale []int
	for _, s := range states {
		for j := range s.inputs {
			if s.entry == nil || !s.entry.Objects[j].current(index) {
				stale = append(stale, s.first+j)
			}
		}
	}
	c.reused.Add(int64(len(inputs) - len(stale)))
	var results []policy.Result
	if len(stale) > 0 {
		var err error
		if results, err = run.evaluate(sums, stale); err != nil {
			return nil, err
		}
	}
	evaluated := map[*unitState]bool{}
	entry := func(i int) *objectEntry {
		s := stateOf(states, i)
		if s.entry == nil {
			s.entry = &unitEntry{Objects: make([]objectEntry, len(s.inputs))}
			for j, in := range s.inputs {
				s.entry.Objects[j].Local = c.local(env, in)
			}
		}
		evaluated[s] = true
		return &s.entry.Objects[i-s.first]
	}
	for n, i := range sumStale {
		o := entry(i)
		o.Summary, o.SummarySeen = sums[i], sumSeen[n]
	}
	for _, i := range stale {
		o := entry(i)
		o.Policy, o.Seen = results[i], seen(index, results[i].Reads)
	}
	var out []policy.Finding
	for _, s := range states {
		if s.entry == nil { // a unit without objects
			continue
		}
		for _, o := range s.entry.Objects {
			out = append(out, o.Local...)
			out = append(out, o.Policy.Findings...)
		}
	}
	run.close()
	// One conversion of each object for the checks across a stamp and
	// the capacity summaries: the render's, when it kept them.
	if typed == nil {
		typed = manifest.NewTyped()
	}
	cross, err := c.cross(env, inputs, typed)
	if err != nil {
		return nil, err
	}
	c.summarize(env, states, evaluated, typed)
	if c.o.Cache != nil {
		c.store(states, evaluated)
		c.storeBundle(env, units, states)
	}
	return policy.Dedupe(append(out, cross...)), nil
}

// stateOf is the unit holding the environment's i-th object.
func stateOf(states []*unitState, i int) *unitState {
	j, _ := slices.BinarySearchFunc(states, i, func(s *unitState, i int) int {
		switch {
		case i < s.first:
			return 1
		case i >= s.first+len(s.inputs):
			return -1
		}
		return 0
	})
	return states[j]
}

// current reports whether a cached object's policy findings still hold:
// every path they were concluded from finds what it found then.
func (o *objectEntry) current(index *dataIndex) bool {
	return fresh(o.Policy.Reads, o.Seen, index)
}

// fresh reports whether every path read finds what it found then (seen,
// at the same index).
func fresh(reads []policy.Path, seen []digest, index *dataIndex) bool {
	if index == nil || len(reads) != len(seen) {
		return false
	}
	for r, p := range reads {
		if d, ok := index.at(p); !ok || d != seen[r] {
			return false
		}
	}
	return true
}

// seen is what each path finds now (without an index, or at a path it
// cannot judge, the zero digest: judged stale when read back).
func seen(index *dataIndex, reads []policy.Path) []digest {
	var out []digest
	for _, p := range reads {
		var d digest
		if index != nil {
			d, _ = index.at(p)
		}
		out = append(out, d)
	}
	return out
}

// checkKey is the content address of an environment's findings: the tool,
// the policies and CRDs, the environment file, and every rendered object
// with where it was rendered from.
func (c *Checker) checkKey(env *spec.Environment, units []*render.Unit) (cache.Key, error) {
	if k, ok := c.keys.get(env.Name()); ok {
		return k, nil
	}
	k, err := c.hashEnv(env, units)
	if err != nil {
		return cache.Key{}, err
	}
	c.keys.set(env.Name(), k)
	return k, nil
}

// derivedKey addresses what else a check of an environment's content
// keeps (its connections, its stamps' capacities): the findings' key
// under another kind.
func (c *Checker) derivedKey(kind string, env *spec.Environment, res *render.Result) (cache.Key, bool) {
	if c.o.Cache == nil {
		return cache.Key{}, false
	}
	k, err := c.checkKey(env, unitsOf(env, res))
	if err != nil {
		return cache.Key{}, false
	}
	h := cache.NewHasher(kind)
	h.Bytes("findings key", k[:])
	k, err = h.Sum()
	return k, err == nil
}

// hashEnv is checkKey, computed (every rendered byte of the environment).
func (c *Checker) hashEnv(env *spec.Environment, units []*render.Unit) (cache.Key, error) {
	sources, err := c.sourcesKey()
	if err != nil {
		return cache.Key{}, err
	}
	// The environment file whole: the checks in Go read more of the
	// spec than the policies' view of it (an image's upstream, the
	// regions' networks), and findings carry its line numbers.
	file, err := c.ws.EnvironmentData(env.Name())
	if err != nil {
		return cache.Key{}, err
	}
	h := cache.NewHasher(checkKind)
	h.String("tool", cache.ToolID())
	h.Bytes("policies and CRDs", sources[:])
	h.Bytes("environment file", file)
	for _, u := range units {
		h.String("unit", u.Unit.String()+"\x00"+componentSource(env, u.Component))
		c.hashFiles(h, u)
	}
	return h.Sum()
}

// sourcesKey hashes the policies and CRDs, once per Checker: every
// environment's key includes them.
func (c *Checker) sourcesKey() (cache.Key, error) {
	c.sourcesOnce.Do(func() {
		h := cache.NewHasher(checkKind + "/sources")
		for _, g := range []struct {
			name string
			read func() (map[string][]byte, error)
		}{{"policies", c.ws.Policies}, {"crds", c.ws.CRDs}} {
			files, err := g.read()
			if err != nil {
				c.sourcesErr = err
				return
			}
			// By file name: the key must not depend on where the checkout is.
			byName := make(map[string][]byte, len(files))
			for p, b := range files {
				byName[filepath.Base(p)] = b
			}
			h.Files(g.name, byName)
		}
		c.sources, c.sourcesErr = h.Sum()
	})
	return c.sources, c.sourcesErr
}

// Inputs lists the objects an environment's units rendered, as the check
// step sees them.
func Inputs(env *spec.Environment, res *render.Result) []policy.Input {
	return inputsOf(env, unitsOf(env, res))
}

// inputsOf lists a render's objects for the policies, with where each was
// rendered and declared.
func inputsOf(env *spec.Environment, units []*render.Unit) []policy.Input {
	var inputs []policy.Input
	for _, u := range units {
		source := componentSource(env, u.Component)
		for i, obj := range u.Objects {
			inputs = append(inputs, policy.Input{Unit: u.Unit,
				File: layout.RepoPath(u.Files[i].Path), Source: source, Object: obj})
		}
	}
	return inputs
}

// evaluate runs every check on the inputs: the Rego policies over all of
// an environment's objects at once (rules look across a stamp's objects)
// and every check written in Go (goRules).
func (c *Checker) evaluate(ctx context.Context, env *spec.Environment, inputs []policy.Input) ([]policy.Finding, error) {
	run := c.policies(ctx, env, inputs)
	defer run.close()
	sums, err := run.summaries(nil)
	if err != nil {
		return nil, err
	}
	results, err := run.evaluate(sums, nil)
	if err != nil {
		return nil, err
	}
	var out []policy.Finding
	for i, r := range results {
		out = append(out, c.local(env, inputs[i])...)
		out = append(out, r.Findings...)
	}
	run.close()
	cross, err := c.cross(env, inputs, manifest.NewTyped())
	if err != nil {
		return nil, err
	}
	return policy.Dedupe(append(out, cross...)), nil
}

// policyRun is one environment's evaluation of the Rego policies within
// the check's timeout: its objects' summaries, then their findings. The
// policies compile, the objects convert and the timeout starts on first
// need.
type policyRun struct {
	c       *Checker
	ctx     context.Context // the caller's
	ectx    context.Context // ctx within the timeout, once started
	cancel  context.CancelFunc
	timeout time.Duration
	env     *spec.Environment
	inputs  []policy.Input
	session *policy.Session
}

// policies readies an environment's policyRun; close it when done.
func (c *Checker) policies(ctx context.Context, env *spec.Environment, inputs []policy.Input) *policyRun {
	timeout := c.o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &policyRun{c: c, ctx: ctx, timeout: timeout, env: env, inputs: inputs}
}

// close ends the run and lets its objects' values go: the checks across
// a stamp, which run next, allocate as much again.
func (r *policyRun) close() {
	if r.session != nil {
		r.cancel()
		r.session = nil
		<-r.c.sessions
	}
}

// start waits for its turn to hold values (Checker.sessions), then starts
// the timeout.
func (r *policyRun) start() error {
	if r.session != nil {
		return nil
	}
	if err := r.c.load(); err != nil {
		return err
	}
	select {
	case r.c.sessions <- struct{}{}:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	r.ectx, r.cancel = context.WithTimeout(r.ctx, r.timeout)
	s, err := r.c.engine.NewSession(policy.EnvironmentOf(r.env), r.inputs, r.c.o.Workers)
	if err != nil {
		err = r.fail(err)
		r.cancel()
		<-r.c.sessions
		return err
	}
	r.session = s
	return nil
}

// summaries evaluates the summaries of the objects at the indexes only
// (all when nil).
func (r *policyRun) summaries(only []int) ([]policy.Summary, error) {
	if err := r.start(); err != nil {
		return nil, err
	}
	sums, err := r.session.Summaries(r.ectx, only)
	return sums, r.fail(err)
}

// evaluate judges the objects at the indexes only (all when nil), with
// every object's summary (sums) as data.
func (r *policyRun) evaluate(sums []policy.Summary, only []int) ([]policy.Result, error) {
	if err := r.start(); err != nil {
		return nil, err
	}
	n := len(only)
	if only == nil {
		n = len(r.inputs)
	}
	r.c.evaluated.Add(int64(n)) // counted where it happens: Counts must not hide a judgement
	results, err := r.session.Evaluate(r.ectx, sums, only)
	return results, r.fail(err)
}

// fail names what the deadline was spent on when it struck.
func (r *policyRun) fail(err error) error {
	if err == nil {
		return nil
	}
	if r.ctx.Err() == nil && errors.Is(r.ectx.Err(), context.DeadlineExceeded) {
		return r.c.deadline(r.ctx, r.env, r.inputs, r.timeout, err)
	}
	return fmt.Errorf("check %s: %w", r.env.Name(), err)
}

// local runs the Go checks that see one object alone.
func (c *Checker) local(env *spec.Environment, in policy.Input) []policy.Finding {
	var out []policy.Finding
	for _, r := range goRules {
		if r.object != nil {
			out = append(out, r.object(c, env, in)...)
		}
	}
	return out
}

// cross runs the Go checks across an environment's objects, converting
// each through typed.
func (c *Checker) cross(env *spec.Environment, inputs []policy.Input, typed *manifest.Typed) ([]policy.Finding, error) {
	// The rules at once: each reads the whole environment on one
	// goroutine, and they share typed's conversions. Findings, and the
	// first error, come in the rules' order.
	found := make([][]policy.Finding, len(goRules))
	errs := make([]error, len(goRules))
	var g errgroup.Group
	for i, r := range goRules {
		if r.check == nil {
			continue
		}
		g.Go(func() error {
			fs, err := r.check(c, env, inputs, typed)
			if err != nil {
				errs[i] = fmt.Errorf("check %s: %s: %w", env.Name(), r.names[0], err)
			}
			found[i] = fs
			return nil
		})
	}
	_ = g.Wait() // the errors are in errs
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return slices.Concat(found...), nil
}

// componentSource is where a component is declared: its entry in the
// environment file (the generated namespaces come from every entry).
func componentSource(env *spec.Environment, component string) string {
	if component == spec.NamespacesComponent {
		return env.Where("spec", "components")
	}
	return env.Where("spec", "components", component)
}
