package spec

import (
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// int32Range refuses every integer of the spec's typed fields that does
// not fit the 32-bit fields it ends up in (replicas, ports, HPA bounds):
// 4294967299 must not render as 3, nor 2147483648 as a negative number.
// Free-form values (chart values) are the chart's to judge.
func (v *validator) int32Range() {
	v.ints(nil, reflect.ValueOf(v.env).Elem())
}

func (v *validator) ints(path []string, val reflect.Value) {
	switch val.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !val.IsNil() {
			v.ints(path, val.Elem())
		}
	case reflect.Struct:
		t := val.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			v.ints(append(path[:len(path):len(path)], name), val.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := range val.Len() {
			v.ints(append(path[:len(path):len(path)], strconv.Itoa(i)), val.Index(i))
		}
	case reflect.Map:
		if val.Type().Key().Kind() != reflect.String {
			return
		}
		keys := val.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			v.ints(append(path[:len(path):len(path)], k.String()), val.MapIndex(k))
		}
	case reflect.Int, reflect.Uint: // the spec's counts; a time.Duration is int64 nanoseconds
		var out bool
		if val.CanInt() {
			out = val.Int() > math.MaxInt32 || val.Int() < math.MinInt32
		} else {
			out = val.Uint() > math.MaxInt32
		}
		if out {
			v.fail(path, "%s: %v is out of range (at most %d: Kubernetes keeps it in 32 bits)", path[len(path)-1], val.Interface(), math.MaxInt32)
		}
	}
}
