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
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/libertum/platform-gitops/generator/cache"
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
}

// New returns a Checker for the workspace.
func New(ws *workspace.Workspace, o Options) *Checker {
	return &Checker{ws: ws, o: o, origins: origin.New(ws.Root)}
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
// applies the exceptions.
//
// Environments are checked at the same time: much of one environment's
// check runs on one goroutine (the schema check, the connectivity engine),
// and the policies of another fill the other CPUs meanwhile. Findings come
// back in environment order.
func (c *Checker) Render(ctx context.Context, res *render.Result) ([]policy.Finding, error) {
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
	return c.finish(slices.Concat(found...))
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
	return c.finish(raw)
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

// finish applies the exceptions (they depend on the date, so they are
// never cached) and keeps one finding per stamp-wide violation.
func (c *Checker) finish(raw []policy.Finding) ([]policy.Finding, error) {
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
const checkKind = "check-env/1"

func (c *Checker) checkEnv(ctx context.Context, env *spec.Environment, res *render.Result) ([]policy.Finding, error) {
	var units []*render.Unit
	for _, u := range res.Units {
		if u.Env == env.Name() {
			units = append(units, u)
		}
	}
	var key cache.Key
	cached := false
	if c.o.Cache != nil {
		k, err := c.checkKey(env, units)
		if err == nil {
			key, cached = k, true
			if b, ok := c.o.Cache.Get(key); ok {
				var fs []policy.Finding
				if err := json.Unmarshal(b, &fs); err == nil {
					return fs, nil
				}
				c.o.Cache.Miss(key)
			}
		}
	}
	if err := c.load(); err != nil {
		return nil, err
	}
	fs, err := c.evaluate(ctx, env, inputsOf(env, units))
	if err != nil {
		return nil, err
	}
	if cached {
		if b, err := json.Marshal(fs); err == nil {
			_ = c.o.Cache.Put(key, b) // a failed write only costs the next run time
		}
	}
	return fs, nil
}

// checkKey is the content address of an environment's findings: the tool,
// the policies and CRDs, the environment as policies see it, and every
// rendered object with where it was rendered from.
func (c *Checker) checkKey(env *spec.Environment, units []*render.Unit) (cache.Key, error) {
	sources, err := c.sourcesKey()
	if err != nil {
		return cache.Key{}, err
	}
	h := cache.NewHasher(checkKind)
	h.String("tool", cache.ToolID())
	h.Bytes("policies and CRDs", sources[:])
	h.JSON("environment", policy.EnvironmentOf(env))
	for _, u := range units {
		h.String("unit", u.Unit.String()+"\x00"+componentSource(env, u.Component))
		for _, f := range u.Files {
			h.Bytes(f.Path, f.Data)
		}
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
	var units []*render.Unit
	for _, u := range res.Units {
		if u.Env == env.Name() {
			units = append(units, u)
		}
	}
	return inputsOf(env, units)
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

// evaluate runs the Rego policies over all of an environment's objects at
// once (rules look across a stamp's objects) and every check written in Go
// (goRules).
func (c *Checker) evaluate(ctx context.Context, env *spec.Environment, inputs []policy.Input) ([]policy.Finding, error) {
	timeout := c.o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ectx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := c.engine.Evaluate(ectx, policy.EnvironmentOf(env), inputs, c.o.Workers)
	if err != nil {
		if ctx.Err() == nil && errors.Is(ectx.Err(), context.DeadlineExceeded) {
			return nil, c.deadline(ctx, env, inputs, timeout, err)
		}
		return nil, fmt.Errorf("check %s: %w", env.Name(), err)
	}
	for _, r := range goRules {
		fs, err := r.check(c, env, inputs)
		if err != nil {
			return nil, fmt.Errorf("check %s: %s: %w", env.Name(), r.names[0], err)
		}
		out = append(out, fs...)
	}
	return out, nil
}

// componentSource is where a component is declared: its entry in the
// environment file (the generated namespaces come from every entry).
func componentSource(env *spec.Environment, component string) string {
	if component == spec.NamespacesComponent {
		return env.Where("spec", "components")
	}
	return env.Where("spec", "components", component)
}
