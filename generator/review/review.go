// Package review tells reviewers what a change does to the platform: it
// renders a base git ref (in a temporary worktree) and the working tree,
// compares them per resource, and reports the policy violations the change
// introduces and fixes apart from those already on the base.
package review

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/verify"
)

// Options say what to compare.
type Options struct {
	// Root is the working tree (the head of the change).
	Root string
	// Base is the git ref the change is compared with.
	Base    string
	Envs    []string
	Workers int
	Today   time.Time
	// Cache, when set, holds rendered units and findings by content: the
	// base side of a PR is mostly what the last run already rendered.
	Cache *cache.Store
	// Select, when set, limits both renders to the units a change can
	// affect (see scope.Since); each side reads the others from its own
	// committed rendered/.
	Select func(env, component string) bool
}

// Unit is the change to one rendered component.
type Unit struct {
	Env       string      `json:"environment"`
	Stamp     string      `json:"stamp,omitempty"`
	Component string      `json:"component"`
	Files     []diff.File `json:"objects"`
}

// Component is a component's network intent, for the diagram.
type Component struct {
	Name    string   `json:"name"`
	Tier    string   `json:"tier"`
	TalksTo []string `json:"talksTo,omitempty"`
	Edge    bool     `json:"edge,omitempty"`
	Changed bool     `json:"changed"`
}

// Review is the whole comparison.
type Review struct {
	Base       string           `json:"base"`
	BaseCommit string           `json:"baseCommit"`
	Envs       []string         `json:"environments"`
	Units      []Unit           `json:"changes"`
	Introduced []policy.Finding `json:"introduced"`
	Fixed      []policy.Finding `json:"fixed"`
	Existing   []policy.Finding `json:"existing"`
	// Intent is each environment's network intent (head side).
	Intent map[string][]Component `json:"intent"`
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
}

// Run compares the working tree with the base ref.
func Run(ctx context.Context, o Options) (*Review, error) {
	repo := git.Repo{Dir: o.Root}
	baseCommit, err := repo.Resolve(ctx, o.Base)
	if err != nil {
		return nil, fmt.Errorf("diff --base %s: %w", o.Base, err)
	}
	baseDir, remove, err := repo.Worktree(ctx, baseCommit)
	if err != nil {
		return nil, err
	}
	defer remove()

	head, err := load(ctx, o.Root, o.Envs, o)
	if err != nil {
		return nil, err
	}
	base, err := load(ctx, baseDir, head.res.EnvNames(), o)
	if err != nil {
		return nil, fmt.Errorf("render base %s: %w", o.Base, err)
	}
	changed, err := diff.Trees(base.res.Files(), head.res.Files())
	if err != nil {
		return nil, err
	}
	r := &Review{Base: o.Base, BaseCommit: baseCommit, Envs: head.res.EnvNames(), Intent: map[string][]Component{}}
	r.Units = group(changed)
	r.Introduced, r.Fixed, r.Existing = delta(base.findings, head.findings)
	for _, e := range head.res.Envs {
		r.Intent[e.Name()] = intent(e, r.Units)
	}
	return r, nil
}

// load renders one side and checks it with that side's own policies, so a
// change to a policy shows in the delta too.
func load(ctx context.Context, root string, envs []string, o Options) (*side, error) {
	names := envs
	if len(envs) > 0 {
		// The base may lack an environment the change adds.
		all, err := spec.Names(root)
		if err != nil {
			return nil, err
		}
		names = intersect(envs, all)
		if len(names) == 0 {
			return &side{res: &render.Result{}}, nil
		}
	}
	res, err := render.Run(ctx, render.Options{Root: root, Envs: names, Workers: o.Workers, Cache: o.Cache, Select: o.Select})
	if err != nil {
		return nil, err
	}
	exceptions, err := policy.LoadExceptions(filepath.Join(root, policy.Dir, policy.ExceptionsFile))
	if err != nil {
		return nil, err
	}
	checker := &verify.Checker{Root: root, Workers: o.Workers, Cache: o.Cache}
	findings, err := checker.Check(ctx, res)
	if err != nil {
		return nil, err
	}
	return &side{res: res, findings: exceptions.Apply(findings, o.Today)}, nil
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

// group sorts changed files into (environment, stamp, component) units and
// masks secret-like values.
func group(files []diff.File) []Unit {
	var units []Unit
	index := map[string]int{}
	for _, f := range files {
		parts := strings.Split(f.Path, "/")
		var env, stamp, comp string
		switch len(parts) {
		case 4:
			env, stamp, comp = parts[0], parts[1], parts[2]
		case 3:
			env, comp = parts[0], parts[1]
		default:
			env, comp = parts[0], path.Dir(f.Path)
		}
		f.Changes = diff.Mask(f.Kind, f.Changes)
		key := env + "/" + stamp + "/" + comp
		i, ok := index[key]
		if !ok {
			i = len(units)
			index[key] = i
			units = append(units, Unit{Env: env, Stamp: stamp, Component: comp})
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

// intent lists an environment's components with their tier and flows,
// marking those the change touches.
func intent(e *spec.Environment, units []Unit) []Component {
	touched := map[string]bool{}
	for _, u := range units {
		if u.Env == e.Name() {
			touched[u.Component] = true
		}
	}
	var out []Component
	for _, name := range e.ComponentNames() {
		c := e.Spec.Components[name]
		talks := append([]string(nil), c.TalksTo...)
		sort.Strings(talks)
		out = append(out, Component{
			Name: name, Tier: c.Tier, TalksTo: talks,
			Edge:    c.Tier == spec.TierPublic && c.Ingress == nil && c.External == nil,
			Changed: touched[name],
		})
	}
	return out
}
