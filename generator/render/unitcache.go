package render

import (
	"encoding/json"
	"fmt"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/plan"
)

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
		if got, _, ok := layout.Parse(f.Path); !ok || got != u.Unit {
			return fmt.Errorf("cached file %s is not under %s", f.Path, u.Unit)
		}
		files[i] = layout.File{Path: f.Path, Data: []byte(f.Data)}
		objs[i] = &manifest.Object{Object: c.Objects[i]}
	}
	u.Files, u.Objects = files, objs
	return nil
}

// renderCached renders a unit through the cache: a hit restores the unit, a
// miss renders it and stores the result. A broken cache never fails a render.
func renderCached(store *cache.Store, repo *sources, pu *plan.Unit, u *Unit) error {
	key := pu.Key
	if store == nil || key == (cache.Key{}) {
		return renderUnit(repo, pu, u)
	}
	if b, ok := store.Get(key); ok {
		if err := decodeUnit(b, u); err == nil {
			u.Cached = true
			return nil
		}
		store.Miss(key)
	}
	if err := renderUnit(repo, pu, u); err != nil {
		return err
	}
	if b, err := encodeUnit(u); err == nil {
		_ = store.Put(key, b) // a full disk or read-only cache only costs the next run time
	}
	return nil
}
