// Package diff compares rendered trees semantically, per resource: two
// files that decode to the same object are equal whatever their key order
// or formatting, and a changed object is described as field paths with old
// and new values (go-cmp does the comparison).
package diff

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/layout"
)

// Status of a file between two trees.
type Status string

// Statuses.
const (
	Added   Status = "added"
	Removed Status = "removed"
	Changed Status = "changed"
)

// Change is one field that differs. Old or New is nil when the field is
// absent on that side.
type Change struct {
	Path string `json:"path"`
	Old  any    `json:"old,omitempty"`
	New  any    `json:"new,omitempty"`
}

// File is one rendered file (one object) that differs.
type File struct {
	Path      string   `json:"path"`
	Status    Status   `json:"status"`
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Changes   []Change `json:"changes,omitempty"`
	// Object is an added object's content, credentials masked, for
	// reviewers to read what a change adds.
	Object map[string]any `json:"object,omitempty"`
}

// Resource returns "Kind namespace/name".
func (f File) Resource() string {
	if f.Namespace != "" {
		return f.Kind + " " + f.Namespace + "/" + f.Name
	}
	return f.Kind + " " + f.Name
}

// Trees compares two sorted file lists and returns the files that differ
// semantically, sorted by path. Credentials in the changes are masked
// (see credential): a report shows that they changed, never their values.
func Trees(old, new []layout.File) ([]File, error) {
	oldBy := map[string][]byte{}
	for _, f := range old {
		oldBy[f.Path] = f.Data
	}
	var out []File
	seen := map[string]bool{}
	for _, f := range new {
		seen[f.Path] = true
		prev, ok := oldBy[f.Path]
		if !ok {
			d, err := describe(f.Path, Added, f.Data)
			if err != nil {
				return nil, err
			}
			var obj map[string]any
			if yaml.Unmarshal(f.Data, &obj) == nil {
				d.Object = obj
			}
			out = append(out, d)
			continue
		}
		if string(prev) == string(f.Data) {
			continue
		}
		changes, err := Objects(prev, f.Data)
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w", f.Path, err)
		}
		if len(changes) == 0 {
			continue // formatting only
		}
		d, err := describe(f.Path, Changed, f.Data)
		if err != nil {
			return nil, err
		}
		d.Changes = changes
		out = append(out, d)
	}
	for _, f := range old {
		if !seen[f.Path] {
			d, err := describe(f.Path, Removed, f.Data)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	mask(out)
	return out, nil
}

type header struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

func describe(path string, st Status, data []byte) (File, error) {
	var h header
	if err := yaml.Unmarshal(data, &h); err != nil {
		// A file that is not an object (or is broken) is still a difference.
		return File{Path: path, Status: st, Kind: "(unreadable)", Name: path}, nil
	}
	return File{Path: path, Status: st, Kind: h.Kind, Namespace: h.Metadata.Namespace, Name: h.Metadata.Name}, nil
}

// Objects compares two YAML documents semantically and returns the fields
// that differ, sorted by path.
func Objects(a, b []byte) ([]Change, error) {
	var x, y any
	if err := yaml.Unmarshal(a, &x); err != nil {
		return []Change{{Path: "", Old: string(a), New: string(b)}}, nil
	}
	if err := yaml.Unmarshal(b, &y); err != nil {
		return nil, err
	}
	return Values(x, y), nil
}

// Values compares two decoded values and returns the differing fields.
func Values(x, y any) []Change {
	var r reporter
	cmp.Equal(x, y, cmp.Reporter(&r), byName)
	sort.SliceStable(r.changes, func(i, j int) bool { return r.changes[i].Path < r.changes[j].Path })
	return r.changes
}

// byName compares lists of named items (containers, env, ports, volumes)
// as maps keyed by name, so inserting one item reads as one added item
// rather than every later index changing. Lists with unnamed or duplicate
// items are compared by index.
var byName = cmp.FilterValues(func(x, y []any) bool { return named(x) && named(y) },
	cmp.Transformer("byName", func(list []any) namedList {
		out := make(namedList, len(list))
		for _, item := range list {
			out[item.(map[string]any)["name"].(string)] = item
		}
		return out
	}))

// named reports whether every item is a map with a distinct string name.
func named(list []any) bool {
	seen := make(map[string]bool, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return false
		}
		name, ok := m["name"].(string)
		if !ok || seen[name] {
			return false
		}
		seen[name] = true
	}
	return true
}

// namedList is a list re-keyed by item name (a distinct type, so the
// transformer does not apply to its own output).
type namedList map[string]any

type reporter struct {
	path    cmp.Path
	changes []Change
}

func (r *reporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }
func (r *reporter) PopStep()                 { r.path = r.path[:len(r.path)-1] }

func (r *reporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	vx, vy := r.path.Last().Values()
	r.changes = append(r.changes, Change{Path: formatPath(r.path), Old: value(vx), New: value(vy)})
}

func value(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Kind() == reflect.Interface && v.IsNil() {
		return nil
	}
	return v.Interface()
}

// formatPath renders a cmp path as spec.template.spec.containers[name=api].image.
func formatPath(p cmp.Path) string {
	var b strings.Builder
	named := false
	for _, step := range p {
		switch s := step.(type) {
		case cmp.MapIndex:
			key := fmt.Sprint(s.Key().Interface())
			if named {
				fmt.Fprintf(&b, "[name=%s]", key)
				named = false
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(key)
		case cmp.SliceIndex:
			ix, iy := s.SplitKeys()
			if ix == iy {
				fmt.Fprintf(&b, "[%d]", ix)
			} else if ix >= 0 {
				fmt.Fprintf(&b, "[%d]", ix)
			} else {
				fmt.Fprintf(&b, "[%d]", iy)
			}
		case cmp.Transform:
			named = s.Name() == "byName"
		}
	}
	return b.String()
}
