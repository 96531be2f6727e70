// Package plan decides what a command renders: one Unit per (environment,
// stamp, component) with the inputs it reads, its cache key, and whether a
// change can affect it at all (--changed-since scoping: an unaffected unit
// carries its committed files instead of being rendered). A Plan is data;
// render executes it.
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/intent"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/source"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// Options say what to plan.
type Options struct {
	// Envs limits the plan to these environments; empty means all.
	Envs []string
	// Scope, when set, holds the units a change can affect: every other
	// unit is read back from the committed rendered/ (and rendered after
	// all when the tree does not hold it).
	Scope *Scope
	// Keys computes every unit's cache key (for a render through a cache).
	Keys bool
	// Shard, when set, keeps this runner's share of the units: the others
	// are read back from the committed rendered/ (so checks across a stamp
	// still see all of it), as units outside Scope are.
	Shard *Shard
	// Committed, when set, is the rendered tree units outside Scope or
	// Shard are read from, in place of the workspace's own rendered/ (a
	// diff's base reads its unaffected units from the head's: the scope
	// says they are the same bytes).
	Committed *layout.Tree
}

// Unit is one component of one stamp of one environment, with what its
// render reads.
type Unit struct {
	layout.Unit
	// Target is the component as the spec declares it for this stamp.
	Target intent.Target
	// Base is the repo-relative folder of the component's chart or
	// kustomize base; Kind says which.
	Base string
	Kind source.Kind
	// Overlays are the repo-relative folders of the kustomize Components
	// applied to the unit: the environment's, then the component's own.
	Overlays []string
	// Key is the content address of the unit's render (zero unless
	// Options.Keys).
	Key cache.Key
	// Committed holds the unit's committed files when the plan's scope
	// leaves it out: it is read back, not rendered.
	Committed []layout.File
}

// Plan is every unit of the planned environments.
type Plan struct {
	// Envs are the planned environments, sorted by name.
	Envs []*spec.Environment
	// Units are sorted by environment, stamp and component.
	Units []*Unit
	// Sources are the files under base/ and overlays/.
	Sources *source.Repo
}

// New plans the render of the workspace's environments.
func New(ws *workspace.Workspace, o Options) (*Plan, error) {
	envs, err := ws.Environments(o.Envs)
	if err != nil {
		return nil, err
	}
	repo, err := ws.Sources()
	if err != nil {
		return nil, err
	}
	if err := checkBases(repo, envs, o.Scope); err != nil {
		return nil, err
	}
	p := &Plan{Envs: envs, Sources: repo}
	var committed *layout.Tree
	if o.Committed != nil {
		committed = o.Committed
	} else if o.Scope != nil || o.Shard != nil {
		if committed, err = ws.Committed(); err != nil {
			return nil, err
		}
	}
	for _, e := range envs {
		var envInputs []byte
		if o.Keys {
			if envInputs, err = envKey(e); err != nil {
				return nil, fmt.Errorf("plan %s: %w", e.Name(), err)
			}
		}
		for _, st := range e.Spec.Stamps {
			// The stamp is encoded once for all its units: it lists an
			// identity per component, so encoding it per unit grew keys
			// with the square of the components.
			var stampInputs []byte
			if o.Keys {
				if stampInputs, err = json.Marshal(st); err != nil {
					return nil, fmt.Errorf("plan %s/%s: %w", e.Name(), st.Name, err)
				}
			}
			for _, name := range e.ComponentNames() {
				c := e.Spec.Components[name]
				u := &Unit{
					Unit:   layout.Unit{Env: e.Name(), Stamp: st.Name, Component: name},
					Target: intent.Target{Env: e, Stamp: st, Name: name, Component: c},
					Base:   workspace.ComponentBase(name, c),
				}
				u.Kind = repo.KindOf(u.Base)
				u.Overlays = overlayDirs(repo, e.Name(), name)
				if o.Scope != nil && !o.Scope.Has(e.Name(), name) {
					u.Committed = committed.Unit(u.Unit)
				}
				// A unit read back from rendered/ is never looked up in the
				// cache: it needs no key.
				if o.Keys && len(u.Committed) == 0 {
					if u.Key, err = p.unitKey(u, envInputs, stampInputs); err != nil {
						return nil, fmt.Errorf("plan %s: %w", u.Unit, err)
					}
				}
				p.Units = append(p.Units, u)
			}
		}
	}
	sort.SliceStable(p.Units, func(i, j int) bool { return p.Units[i].Less(p.Units[j].Unit) })
	if o.Shard != nil {
		for i, u := range p.Units {
			if !o.Shard.Has(i) && u.Committed == nil {
				u.Committed = committed.Unit(u.Unit)
			}
		}
	}
	return p, nil
}

// ByEnv splits the plan into one plan per environment, in the plan's
// order, sharing its sources: each renders alone what the whole plan
// renders of that environment (nothing a unit reads crosses environments).
func (p *Plan) ByEnv() []*Plan {
	out := make([]*Plan, len(p.Envs))
	for i, e := range p.Envs {
		sub := &Plan{Envs: []*spec.Environment{e}, Sources: p.Sources}
		for _, u := range p.Units {
			if u.Env == e.Name() {
				sub.Units = append(sub.Units, u)
			}
		}
		out[i] = sub
	}
	return out
}

// checkBases reports every component whose base folder is missing or holds
// neither a chart nor a kustomization, pointing at the environment line.
//
// With a scope, only the components it holds: the others are read back,
// not rendered (their base is unchanged, or a change to it would have put
// them in the scope), and a diff's base checks out only the bases it
// renders.
func checkBases(repo *source.Repo, envs []*spec.Environment, scope *Scope) error {
	var errs []error
	for _, e := range envs {
		for _, name := range e.ComponentNames() {
			if scope != nil && !scope.Has(e.Name(), name) {
				continue
			}
			dir := workspace.ComponentBase(name, e.Spec.Components[name])
			if repo.KindOf(dir) == source.None {
				errs = append(errs, e.Errorf([]string{"spec", "components", name},
					"component %s: base %s has neither Chart.yaml nor kustomization.yaml (missing base?)", name, dir))
			}
		}
	}
	return errors.Join(errs...)
}

func overlayDirs(repo *source.Repo, env, component string) []string {
	var dirs []string
	for _, d := range []string{path.Join(workspace.OverlaysDir, env), path.Join(workspace.OverlaysDir, env, component)} {
		if repo.Has(d + "/kustomization.yaml") {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// OverlayFiles are the overlay files the unit's final stage reads, by
// repo-relative path: the environment's overlay (without the other
// components' folders) and the component's own.
func (p *Plan) OverlayFiles(u *Unit) map[string][]byte {
	out := map[string][]byte{}
	envDir := path.Join(workspace.OverlaysDir, u.Env)
	for _, d := range u.Overlays {
		for rel, b := range p.Sources.Files(d) {
			if d == envDir && path.Dir(rel) != "." {
				continue // another component's overlay
			}
			out[path.Join(d, rel)] = b
		}
	}
	return out
}
