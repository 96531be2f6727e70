package plan

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/exact"
	"github.com/libertum/platform-gitops/generator/spec"
)

// unitKind versions the cache entries of rendered units; bump it when the
// entry format or the set of inputs below changes meaning.
const unitKind = "render-unit/4"

// envInputs is what every unit of an environment reads from it: the
// environment without its components and, of the components, only what
// network intent needs (who talks to whom, from which namespace, whether
// they run outside the cluster). A change to another component's image tag
// or size therefore leaves a unit's key alone. It is encoded once per
// environment, so keys stay linear in the number of components.
type envInputs struct {
	Env   string
	Spec  spec.EnvironmentSpec
	Peers map[string]peer
}

type peer struct {
	Namespace      string
	Tier           string
	TalksTo        []string
	External       *spec.External
	Ingress        bool
	ScrapesMetrics bool
	Jobs           map[string]spec.Job
	// What the generated alert rules and dashboards read of every component.
	Scaled   bool
	Replicas int
	Images   []spec.Image
}

// unitInputs is the rest of what one unit reads: its stamp and component.
type unitInputs struct {
	Stamp     spec.Stamp
	Name      string
	Component spec.Component
}

// componentInputs is unitInputs without the stamp, which a unit's key
// takes already encoded (once per stamp).
type componentInputs struct {
	Name      string
	Component spec.Component
}

// imageNames keeps the names of images (in-house ones make a component a
// service with a dashboard), not their tags: a tag bump re-renders only its
// component.
func imageNames(images []spec.Image) []spec.Image {
	out := make([]spec.Image, len(images))
	for i, im := range images {
		out[i] = spec.Image{Name: im.Name}
	}
	return out
}

// envKey returns the JSON of the environment's shared inputs.
func envKey(e *spec.Environment) ([]byte, error) {
	in := envInputs{Env: e.Name(), Spec: e.Spec, Peers: make(map[string]peer, len(e.Spec.Components))}
	in.Spec.Components = nil
	for name, c := range e.Spec.Components {
		in.Peers[name] = peer{Namespace: c.Namespace, Tier: c.Tier, TalksTo: c.TalksTo, External: c.External,
			Ingress: c.Ingress != nil, ScrapesMetrics: c.ScrapesMetrics, Jobs: c.Jobs,
			Scaled: c.Scaling != nil, Replicas: c.Replicas, Images: imageNames(c.Images)}
	}
	return json.Marshal(in)
}

// ChangedComponents returns the components of next whose render can differ
// from prev's because their part of the environment file changed (the same
// inputs the cache keys units by): all of them when the shared part changed.
// A nil prev means every component.
func ChangedComponents(prev, next *spec.Environment) map[string]bool {
	out := map[string]bool{}
	all := prev == nil
	if !all {
		a, errA := envKey(prev)
		b, errB := envKey(next)
		all = errA != nil || errB != nil || !bytes.Equal(a, b)
	}
	for _, name := range next.ComponentNames() {
		for _, st := range next.Spec.Stamps {
			if all || !sameUnit(prev, next, st, name) {
				out[name] = true
				break
			}
		}
	}
	return out
}

func sameUnit(prev, next *spec.Environment, st spec.Stamp, name string) bool {
	c, ok := prev.Spec.Components[name]
	if !ok {
		return false
	}
	i := slices.IndexFunc(prev.Spec.Stamps, func(s spec.Stamp) bool { return s.Name == st.Name })
	if i < 0 {
		return false
	}
	a, errA := json.Marshal(unitInputs{Stamp: prev.Spec.Stamps[i], Name: name, Component: c})
	b, errB := json.Marshal(unitInputs{Stamp: st, Name: name, Component: next.Spec.Components[name]})
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// unitKey is the content address of one unit's render: the tool's build,
// the environment's shared inputs (env, from envKey), its stamp (stamp, the
// stamp's JSON), the unit's own inputs and the bytes of every source file
// it reads.
func (p *Plan) unitKey(u *Unit, env, stamp []byte) (cache.Key, error) {
	t := u.Target
	h := cache.NewHasher(unitKind)
	h.String("tool", cache.ToolID())
	if exact.On() {
		// What a fast render stored never serves an exact one.
		h.String("mode", exact.Env)
	}
	h.Bytes("environment", env)
	h.Bytes("stamp", stamp)
	h.JSON("unit", componentInputs{Name: t.Name, Component: t.Component})
	h.Files("base", p.Sources.Files(u.Base))
	h.Files("overlays", p.OverlayFiles(u))
	return h.Sum()
}
