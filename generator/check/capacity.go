package check

import (
	"encoding/json"
	"fmt"

	"github.com/libertum/platform-gitops/generator/capacity"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
)

// capacityKind versions an environment's cached stamp capacities.
const capacityKind = "capacity-env/1"

// summarize fills the capacity summary of each unit whose entry was made
// or changed in this check and lacks one (the entries the cache served
// carry theirs), converting pod templates through typed, and keeps every
// unit's summary for Capacity. A unit whose objects do not summarize keeps
// none: Capacity reads its objects and reports why.
func (c *Checker) summarize(env *spec.Environment, states []*unitState, evaluated map[*unitState]bool, typed *manifest.Typed) {
	kept := map[layout.Unit]*capacity.Unit{}
	for _, s := range states {
		if s.entry == nil {
			continue
		}
		if evaluated[s] && s.entry.Capacity == nil {
			if u, err := capacity.Summarize(s.unit.Objects, typed); err == nil {
				s.entry.Capacity = &u
			}
		}
		if s.entry.Capacity != nil {
			kept[s.unit.Unit] = s.entry.Capacity
		}
	}
	c.capacities.set(env.Name(), kept)
}

// Capacity works out the demand of every stamp of an environment of a
// render this Checker checked (Render): from the units' summaries its
// check kept (a unit the cache served needs no object read), else the
// cache's for the same content (keyed as its findings are), else from
// every object now.
func (c *Checker) Capacity(env *spec.Environment, res *render.Result) ([]capacity.Stamp, error) {
	kept, ok := c.capacities.get(env.Name())
	if ok {
		return capacityOf(env, res, kept)
	}
	key, keyed := c.derivedKey(capacityKind, env, res)
	if keyed {
		if b, ok := c.o.Cache.Get(key); ok {
			var out []capacity.Stamp
			if err := json.Unmarshal(b, &out); err == nil && len(out) == len(env.Spec.Stamps) {
				return out, nil
			}
			c.o.Cache.Miss(key)
		}
	}
	out, err := capacityOf(env, res, nil)
	if err != nil {
		return nil, err
	}
	c.storeCapacity(env, res, out)
	return out, nil
}

// capacityOf works out each stamp's demand from the summaries in kept,
// summarizing the units it lacks.
func capacityOf(env *spec.Environment, res *render.Result, kept map[layout.Unit]*capacity.Unit) ([]capacity.Stamp, error) {
	var out []capacity.Stamp
	for _, st := range env.Spec.Stamps {
		units := map[string]capacity.Unit{}
		for _, u := range res.Units {
			if u.Env != env.Name() || u.Stamp != st.Name {
				continue
			}
			sum := kept[u.Unit]
			if sum == nil {
				s, err := capacity.Summarize(u.Objects, nil)
				if err != nil {
					return nil, fmt.Errorf("capacity %s/%s: %w", env.Name(), st.Name, err)
				}
				sum = &s
			}
			units[u.Component] = *sum // a unit is a component of a stamp
		}
		c, err := capacity.Of(env, st, units)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// storeCapacity caches an environment's stamp capacities by its content.
func (c *Checker) storeCapacity(env *spec.Environment, res *render.Result, stamps []capacity.Stamp) {
	if key, ok := c.derivedKey(capacityKind, env, res); ok {
		if b, err := json.Marshal(stamps); err == nil {
			_ = c.o.Cache.Put(key, b) // a failed write only costs the next run time
		}
	}
}
