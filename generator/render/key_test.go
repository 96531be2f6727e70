package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestKeyChangesWhereTheRenderDoes proves the cache key's hand-kept list of
// what one unit reads of the others (plan/key.go): every field of the
// environment spec is changed in turn, found by reflection so a field
// added later is changed too, and every unit whose render changes must
// have a changed key, or a cache would serve it stale. It runs on the real
// platform's prod, whose components read each other the most (alert rules
// and dashboards of every service, network policies of every peer).
//
// A field is changed once per type-level path (the first component that
// sets it, and so on); values a change makes invalid are skipped, and
// fields set nowhere are listed in the log.
func TestKeyChangesWhereTheRenderDoes(t *testing.T) {
	if testing.Short() {
		t.Skip("renders the prod platform once per field")
	}
	const env = "prod"
	root := t.TempDir()
	for _, dir := range []string{workspace.BaseDir, workspace.OverlaysDir} {
		if err := os.CopyFS(filepath.Join(root, dir), os.DirFS(filepath.Join(platformtest.Repo(), dir))); err != nil {
			t.Fatal(err)
		}
	}
	file := workspace.EnvironmentFile(env)
	data, err := os.ReadFile(filepath.Join(platformtest.Repo(), file))
	if err != nil {
		t.Fatal(err)
	}
	parse := func() *spec.Environment {
		e, err := spec.Parse(file, data)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	want, err := renderUnits(root, file, parse())
	if err != nil {
		t.Fatal(err)
	}
	var changed, invalid int
	for _, m := range mutations(reflect.ValueOf(parse().Spec)) {
		e, ok := m.valid(parse, file)
		if !ok {
			invalid++
			continue
		}
		got, err := renderUnits(root, file, e)
		if err != nil {
			invalid++
			continue
		}
		changed++
		for id, u := range got {
			w := want[id]
			if u.key == w.key && !bytes.Equal(u.files, w.files) {
				t.Errorf("changing spec.%s changes the render of %s, but not its cache key: plan/key.go misses what the unit reads", m.path, id)
			}
		}
	}
	if changed == 0 {
		t.Fatal("no field could be changed")
	}
	t.Logf("%d fields changed, %d changes skipped as invalid", changed, invalid)
}

// unitRender is what the test compares of a unit: its key and its files.
type unitRender struct {
	key   cache.Key
	files []byte
}

// renderUnits writes e as root's only environment, plans it with keys and
// renders each unit as its cache entry holds it: the unit alone, before the
// stamp's derived content (the alert rules stampStage fills in on every run
// from all of the stamp's units, never from the cache).
func renderUnits(root, file string, e *spec.Environment) (map[string]unitRender, error) {
	b, err := yaml.Marshal(e)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, workspace.EnvironmentsDir), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, file), b, 0o644); err != nil {
		return nil, err
	}
	p, err := plan.New(workspace.Open(root), plan.Options{Keys: true})
	if err != nil {
		return nil, err
	}
	units := make([]*Unit, len(p.Units))
	repo := newSources(p)
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, pu := range p.Units {
		units[i] = &Unit{Unit: pu.Unit}
		g.Go(func() error { return renderUnit(repo, pu, units[i]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := map[string]unitRender{}
	for i, u := range units {
		key := p.Units[i].Key
		var buf bytes.Buffer
		for _, f := range u.Files {
			buf.WriteString(f.Path + "\n")
			buf.Write(f.Data)
		}
		out[u.Unit.String()] = unitRender{key: key, files: buf.Bytes()}
	}
	return out, nil
}

// mutation changes one leaf of an environment spec to the first of its
// candidate values that leaves the environment valid.
type mutation struct {
	path     string
	typePath string
	steps    []step
	// leaf is the value it changes; candidates are what it changes it to.
	leaf       reflect.Value
	candidates []reflect.Value
}

// valid returns a fresh environment with m applied, its first candidate
// that passes the spec's validation.
func (m mutation) valid(parse func() *spec.Environment, file string) (*spec.Environment, bool) {
	for _, c := range m.candidates {
		e := parse()
		applySteps(reflect.ValueOf(&e.Spec).Elem(), m.steps, c)
		b, err := yaml.Marshal(e)
		if err != nil {
			continue
		}
		if _, err := spec.Parse(file, b); err == nil {
			return e, true
		}
	}
	return nil, false
}

// step is one move from a value to a part of it: a struct field, a map
// key or a slice index.
type step struct {
	field int
	key   reflect.Value
	index int
	kind  reflect.Kind
}

// mutations lists one change for every leaf of v (a spec value), once per
// type-level path: the first map entry or slice element holding a set
// value stands for the others.
func mutations(v reflect.Value) []mutation {
	var out []mutation
	changed := map[string]bool{}           // type-level paths with a mutation
	values := map[string][]reflect.Value{} // every value at a type-level path
	var walk func(v reflect.Value, path, typePath string, steps []step)
	walk = func(v reflect.Value, path, typePath string, steps []step) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), path, typePath, append(slices.Clone(steps), step{kind: v.Kind()}))
			}
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				name := strings.Split(f.Tag.Get("yaml"), ",")[0]
				if !f.IsExported() || name == "-" {
					continue
				}
				if name == "" {
					name = strings.ToLower(f.Name)
				}
				walk(v.Field(i), path+"."+name, typePath+"."+name, append(slices.Clone(steps), step{field: i, kind: reflect.Struct}))
			}
		case reflect.Map:
			keys := v.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
			for _, k := range keys {
				walk(v.MapIndex(k), fmt.Sprintf("%s[%v]", path, k), typePath+"[*]", append(slices.Clone(steps), step{key: k, kind: reflect.Map}))
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), typePath+"[*]", append(slices.Clone(steps), step{index: i, kind: reflect.Slice}))
			}
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
			values[typePath] = append(values[typePath], v)
			if changed[typePath] || v.IsZero() && v.Kind() != reflect.Bool {
				return
			}
			changed[typePath] = true
			out = append(out, mutation{path: strings.TrimPrefix(path, "."), typePath: typePath, steps: steps, leaf: v})
		}
	}
	walk(v, "", "", nil)
	for i := range out {
		out[i].candidates = candidates(out[i].leaf, values[out[i].typePath])
	}
	return out
}

// candidates are the values a leaf holding v is changed to, most likely
// valid first: the other values the same field holds elsewhere in the
// spec (a reference to another component, a known region), then a small
// change of v itself.
func candidates(v reflect.Value, same []reflect.Value) []reflect.Value {
	var out []reflect.Value
	seen := map[any]bool{v.Interface(): true}
	for _, o := range same {
		if o.Type() == v.Type() && !seen[o.Interface()] {
			seen[o.Interface()] = true
			out = append(out, o)
		}
	}
	return append(out, changed(v))
}

// applySteps sets the leaf steps lead to in v (addressable) to to.
func applySteps(v reflect.Value, steps []step, to reflect.Value) {
	if len(steps) == 0 {
		v.Set(to.Convert(v.Type()))
		return
	}
	s, rest := steps[0], steps[1:]
	switch s.kind {
	case reflect.Pointer:
		applySteps(v.Elem(), rest, to)
	case reflect.Interface:
		// An interface's value is not addressable either.
		c := reflect.New(v.Elem().Type()).Elem()
		c.Set(v.Elem())
		applySteps(c, rest, to)
		v.Set(c)
	case reflect.Struct:
		applySteps(v.Field(s.field), rest, to)
	case reflect.Slice:
		applySteps(v.Index(s.index), rest, to)
	case reflect.Map:
		// Map values are not addressable: change a copy, put it back.
		c := reflect.New(v.Type().Elem()).Elem()
		c.Set(v.MapIndex(s.key))
		applySteps(c, rest, to)
		v.SetMapIndex(s.key, c)
	}
}

// changed is v changed a little, so that it most likely stays valid: a
// number by one, a boolean flipped, a string's last digit moved by one (a
// size, a port, a version, a CIDR's prefix) or, without a digit, a letter
// added.
func changed(v reflect.Value) reflect.Value {
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	switch c.Kind() {
	case reflect.Bool:
		c.SetBool(!c.Bool())
	case reflect.Int, reflect.Int32, reflect.Int64:
		c.SetInt(c.Int() + 1)
	case reflect.Float64:
		c.SetFloat(c.Float() + 1)
	case reflect.String:
		s := []byte(c.String())
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] >= '0' && s[i] <= '9' {
				if s[i] == '9' {
					s[i] = '8'
				} else {
					s[i]++
				}
				c.SetString(string(s))
				return c
			}
		}
		c.SetString(string(s) + "x")
	}
	return c
}
