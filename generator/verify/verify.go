// Package verify proves a render safe and current: it renders in memory,
// checks every object against its schema and the policies, applies the
// reviewed exceptions, and compares the result with the committed
// rendered/ tree.
package verify

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"time"

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
	res, err := render.Run(ctx, render.Options{Root: o.Root, Envs: o.Envs, Workers: o.Workers})
	if err != nil {
		return nil, err
	}
	engine, err := policy.Load(filepath.Join(o.Root, policy.Dir))
	if err != nil {
		return nil, err
	}
	exceptions, err := policy.LoadExceptions(filepath.Join(o.Root, policy.Dir, policy.ExceptionsFile))
	if err != nil {
		return nil, err
	}
	validator, err := schema.Load(filepath.Join(o.Root, schema.Dir))
	if err != nil {
		return nil, err
	}
	rep := &Report{Envs: res.EnvNames(), Files: res.Files()}
	findings, err := Check(ctx, engine, validator, res, o.Workers)
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

// Check runs the schema check and the policies over a render.
func Check(ctx context.Context, engine *policy.Engine, validator *schema.Validator, res *render.Result, workers int) ([]policy.Finding, error) {
	var out []policy.Finding
	for _, env := range res.Envs {
		var inputs []policy.Input
		for _, u := range res.Units {
			if u.Env != env.Name() {
				continue
			}
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
