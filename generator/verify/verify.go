// Package verify proves a render safe and current: it renders in memory,
// checks every object against its schema and the policies, applies the
// reviewed exceptions, and compares the result with the committed
// rendered/ tree.
package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/schema"
	"github.com/libertum/platform-gitops/generator/spec"
)

// SchemaRule names schema findings.
const SchemaRule = "schema.strict"

// Options say what to verify.
type Options struct {
	Root    string
	Envs    []string
	Workers int
	// Today is the date exceptions are judged on.
	Today time.Time
	// Drift compares with the committed rendered/ tree; off, only policies run.
	Drift bool
	// Cache, when set, holds rendered units and findings by content.
	Cache *cache.Store
	// Select, when set, limits the render to the units a change can affect
	// (see scope.Since); the others are read from the committed rendered/.
	Select func(env, component string) bool
}

// Object is one checked object, for reports that list what passed.
type Object struct {
	Env, Stamp, Component string
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
	// Component units rendered, restored from the cache, and read back
	// from rendered/ because no change affects them.
	Rendered int `json:"-"`
	Cached   int `json:"-"`
	Reused   int `json:"-"`
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

// Run verifies the requested environments.
func Run(ctx context.Context, o Options) (*Report, error) {
	res, err := render.Run(ctx, render.Options{Root: o.Root, Envs: o.Envs, Workers: o.Workers, Cache: o.Cache, Select: o.Select})
	if err != nil {
		return nil, err
	}
	exceptions, err := policy.LoadExceptions(filepath.Join(o.Root, policy.Dir, policy.ExceptionsFile))
	if err != nil {
		return nil, err
	}
	rep := &Report{Envs: res.EnvNames(), Files: res.Files()}
	for _, u := range res.Units {
		if u.Stamp == "" || u.Component == spec.NamespacesComponent || u.Component == spec.AppsComponent {
			continue // derived from the whole environment: always rendered
		}
		switch {
		case u.Reused:
			rep.Reused++
		case u.Cached:
			rep.Cached++
		default:
			rep.Rendered++
		}
	}
	checker := &Checker{Root: o.Root, Workers: o.Workers, Cache: o.Cache}
	findings, err := checker.Check(ctx, res)
	if err != nil {
		return nil, err
	}
	rep.Findings = policy.Dedupe(exceptions.Apply(findings, o.Today))
	for _, u := range res.Units {
		for i, obj := range u.Objects {
			rep.Objects = append(rep.Objects, Object{Env: u.Env, Stamp: u.Stamp, Component: u.Component,
				File: path.Join(layout.Dir, u.Files[i].Path), Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()})
		}
	}
	if o.Drift {
		committed, err := layout.Read(filepath.Join(o.Root, layout.Dir), rep.Envs)
		if err != nil {
			return nil, err
		}
		drift, err := diff.Trees(committed, rep.Files)
		if err != nil {
			return nil, err
		}
		for i := range drift {
			drift[i].Path = path.Join(layout.Dir, drift[i].Path)
		}
		rep.Drift = drift
	}
	return rep, nil
}

// Checker runs the schema check and the policies of one repo over renders.
// The policies and CRDs are loaded on first need: an environment whose
// findings are cached never compiles them.
type Checker struct {
	// Root is the repo root holding policies/ and crds/.
	Root    string
	Workers int
	// Cache, when set, holds each environment's findings by the content of
	// everything they depend on.
	Cache *cache.Store

	once      sync.Once
	engine    *policy.Engine
	validator *schema.Validator
	loadErr   error

	sourcesOnce sync.Once
	sources     cache.Key
	sourcesErr  error
}

func (c *Checker) load() error {
	c.once.Do(func() {
		c.engine, c.loadErr = policy.Load(filepath.Join(c.Root, policy.Dir))
		if c.loadErr != nil {
			return
		}
		c.validator, c.loadErr = schema.Load(filepath.Join(c.Root, schema.Dir))
	})
	return c.loadErr
}

// Check runs the schema check and the policies over a render, environment
// by environment. Exceptions are not applied: they depend on the date.
func (c *Checker) Check(ctx context.Context, res *render.Result) ([]policy.Finding, error) {
	var out []policy.Finding
	for _, env := range res.Envs {
		fs, err := c.checkEnv(ctx, env, res)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
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
	if c.Cache != nil {
		k, err := c.checkKey(env, units)
		if err == nil {
			key, cached = k, true
			if b, ok := c.Cache.Get(key); ok {
				var fs []policy.Finding
				if err := json.Unmarshal(b, &fs); err == nil {
					return fs, nil
				}
				c.Cache.Miss(key)
			}
		}
	}
	if err := c.load(); err != nil {
		return nil, err
	}
	fs, err := checkUnits(ctx, c.engine, c.validator, env, units, c.Workers)
	if err != nil {
		return nil, err
	}
	if cached {
		if b, err := json.Marshal(fs); err == nil {
			_ = c.Cache.Put(key, b) // a failed write only costs the next run time
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
		h.String("unit", u.Stamp+"/"+u.Component+"\x00"+componentSource(env, u.Component))
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
		for _, g := range []struct{ name, glob string }{
			{"policies", filepath.Join(c.Root, policy.Dir, "*.rego")},
			{"crds", filepath.Join(c.Root, schema.Dir, "*.yaml")},
		} {
			files, err := readGlob(g.glob)
			if err != nil {
				c.sourcesErr = err
				return
			}
			h.Files(g.name, files)
		}
		c.sources, c.sourcesErr = h.Sum()
	})
	return c.sources, c.sourcesErr
}

func readGlob(glob string) (map[string][]byte, error) {
	paths, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(p)] = b
	}
	return out, nil
}

func checkUnits(ctx context.Context, engine *policy.Engine, validator *schema.Validator, env *spec.Environment, units []*render.Unit, workers int) ([]policy.Finding, error) {
	var out []policy.Finding
	var inputs []policy.Input
	for _, u := range units {
		source := componentSource(env, u.Component)
		for i, obj := range u.Objects {
			file := path.Join(layout.Dir, u.Files[i].Path)
			inputs = append(inputs, policy.Input{Stamp: u.Stamp, Component: u.Component, File: file, Source: source, Object: obj})
			if err := validator.Check(obj); err != nil {
				out = append(out, policy.Finding{
					Rule: SchemaRule, Level: policy.Deny, Env: u.Env, Stamp: u.Stamp, Component: u.Component,
					Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), File: file, Source: source,
					Message: err.Error(), Fix: "fix the field in the base, chart or overlay that produces it",
				})
			}
		}
	}
	fs, err := engine.Evaluate(ctx, policy.EnvironmentOf(env), inputs, workers)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", env.Name(), err)
	}
	return append(out, fs...), nil
}

// componentSource is where a component is declared: its entry in the
// environment file (the generated namespaces come from every entry).
func componentSource(env *spec.Environment, component string) string {
	if component == spec.NamespacesComponent {
		return env.Where("spec", "components")
	}
	return env.Where("spec", "components", component)
}
