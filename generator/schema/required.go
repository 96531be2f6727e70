package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
)

//go:generate sh -c "go run ./requiredgen > required_gen.go"

// Missing lists the required fields (dotted paths) that raw, an object
// decoded as JSON, leaves out or sets to null, walking it along the Go
// type t it decodes into. What is required comes from requiredFields:
// the API server's published OpenAPI schema, by openapi-gen's rule.
func missing(raw any, t reflect.Type) []string {
	var out []string
	walk("", raw, t, &out)
	sort.Strings(out)
	return out
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

func walk(path string, raw any, t reflect.Type, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return // a scalar on the wire: Quantity, IntOrString, Time
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return
		}
		for _, name := range requiredFields[t.PkgPath()+"."+t.Name()] {
			if m[name] == nil {
				*out = append(*out, join(path, name))
			}
		}
		fields := fieldsOf(t)
		for name, v := range m {
			if ft, ok := fields[name]; ok {
				walk(join(path, name), v, ft, out)
			}
		}
	case reflect.Slice, reflect.Array:
		items, ok := raw.([]any)
		if !ok {
			return
		}
		for i, v := range items {
			walk(path+"["+strconv.Itoa(i)+"]", v, t.Elem(), out)
		}
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return
		}
		for k, v := range m {
			walk(join(path, k), v, t.Elem(), out)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fieldTypes caches each struct type's JSON field names, inlined embedded
// structs' included.
var fieldTypes sync.Map // reflect.Type -> map[string]reflect.Type

func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldTypes.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, t := range fieldsOf(ft) {
					fields[n] = t
				}
			}
			continue
		}
		if name == "" || !f.IsExported() {
			continue
		}
		fields[name] = f.Type
	}
	fieldTypes.Store(t, fields)
	return fields
}

// removed reports the Kubernetes release that no longer serves the typed
// object's API version (k8s.io/api records it for every prerelease
// version), when kube (v1.MINOR.PATCH) is that release or later.
func removed(typed any, kube string) error {
	lc, ok := typed.(interface{ APILifecycleRemoved() (int, int) })
	if !ok || kube == "" {
		return nil
	}
	major, minor := lc.APILifecycleRemoved()
	runs, err := version.ParseGeneric(kube)
	if err != nil || major == 0 || !runs.AtLeast(version.MajorMinor(uint(major), uint(minor))) {
		return nil
	}
	msg := fmt.Sprintf("this API version was removed in Kubernetes %d.%d and the environment runs %s", major, minor, kube)
	if r, ok := typed.(interface {
		APILifecycleReplacement() schema.GroupVersionKind
	}); ok {
		gvk := r.APILifecycleReplacement()
		msg += "; use " + gvk.GroupVersion().String() + " " + gvk.Kind
	}
	return errors.New(msg)
}
