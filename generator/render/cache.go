package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/intent"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/source"
	"github.com/libertum/platform-gitops/generator/spec"
)

// unitKind versions the cache entries of rendered units; bump it when the
// entry format or the set of inputs below changes meaning.
const unitKind = "render-unit/2"

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
	Namespace string
	Tier      string
	TalksTo   []string
	External  bool
}

// unitInputs is the rest of what one unit reads: its stamp and component.
type unitInputs struct {
	Stamp     spec.Stamp
	Name      string
	Component spec.Component
}

// envKey returns the JSON of the environment's shared inputs.
func envKey(e *spec.Environment) ([]byte, error) {
	in := envInputs{Env: e.Name(), Spec: e.Spec, Peers: make(map[string]peer, len(e.Spec.Components))}
	in.Spec.Components = nil
	for name, c := range e.Spec.Components {
		in.Peers[name] = peer{Namespace: c.Namespace, Tier: c.Tier, TalksTo: c.TalksTo, External: c.External != nil}
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
// the environment's shared inputs (env, from envKey), the unit's own inputs
// and the bytes of every source file it reads.
func unitKey(repo *sources, t intent.Target, env []byte) (cache.Key, error) {
	h := cache.NewHasher(unitKind)
	h.String("tool", cache.ToolID())
	h.Bytes("environment", env)
	h.JSON("unit", unitInputs{Stamp: t.Stamp, Name: t.Name, Component: t.Component})
	h.Files("base", repo.Files(path.Join(source.BaseDir, t.Component.BaseDir(t.Name))))
	h.Files("overlays", overlayFiles(repo, t))
	return h.Sum()
}

// cachedUnit is a unit's entry: its files and, so the objects need not be
// parsed back from YAML, the same objects as JSON.
type cachedUnit struct {
	Files   []cachedFile     `json:"files"`
	Objects []map[string]any `json:"objects"`
}

type cachedFile struct {
	Path string `json:"path"`
	Data string `json:"data"`
}

func encodeUnit(u *Unit) ([]byte, error) {
	c := cachedUnit{}
	for _, f := range u.Files {
		c.Files = append(c.Files, cachedFile{Path: f.Path, Data: string(f.Data)})
	}
	for _, o := range u.Objects {
		c.Objects = append(c.Objects, o.Object)
	}
	return json.Marshal(c)
}

// decodeUnit fills u from an entry. Anything inconsistent is an error: the
// caller then renders the unit as if the entry were not there.
func decodeUnit(b []byte, u *Unit) error {
	var c cachedUnit
	// Plain encoding/json, as manifest.Normalize decodes the rendered
	// objects: numbers come back float64 exactly as a fresh render holds them.
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	if len(c.Files) != len(c.Objects) {
		return fmt.Errorf("cached unit has %d files for %d objects", len(c.Files), len(c.Objects))
	}
	files := make([]layout.File, len(c.Files))
	objs := make([]*manifest.Object, len(c.Objects))
	for i, f := range c.Files {
		if want := layout.ComponentDir(u.Env, u.Stamp, u.Component); path.Dir(f.Path) != want {
			return fmt.Errorf("cached file %s is not under %s", f.Path, want)
		}
		files[i] = layout.File{Path: f.Path, Data: []byte(f.Data)}
		objs[i] = &manifest.Object{Object: c.Objects[i]}
	}
	u.Files, u.Objects = files, objs
	return nil
}

// renderCached renders a unit through the cache: a hit restores the unit, a
// miss renders it and stores the result. A broken cache never fails a render.
func renderCached(store *cache.Store, repo *sources, t intent.Target, u *Unit) error {
	if store == nil {
		return renderUnit(repo, t, u)
	}
	env, err := repo.envKey(t.Env)
	if err != nil {
		return renderUnit(repo, t, u)
	}
	key, err := unitKey(repo, t, env)
	if err != nil {
		return renderUnit(repo, t, u)
	}
	if b, ok := store.Get(key); ok {
		if err := decodeUnit(b, u); err == nil {
			u.Cached = true
			return nil
		}
		store.Miss(key)
	}
	if err := renderUnit(repo, t, u); err != nil {
		return err
	}
	if b, err := encodeUnit(u); err == nil {
		_ = store.Put(key, b) // a full disk or read-only cache only costs the next run time
	}
	return nil
}
