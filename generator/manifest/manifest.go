// Package manifest owns rendered Kubernetes objects as data: decoding YAML
// streams, object identity, the total order objects are written in, the file
// name each object gets, and the one canonical YAML encoding.
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"

	yamlv2 "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/exact"
)

// Object is one Kubernetes object.
type Object = unstructured.Unstructured

// ID identifies an object within one rendered component.
type ID struct {
	Group, Kind, Namespace, Name string
}

func (id ID) String() string {
	k := id.Kind
	if id.Group != "" {
		k += "." + id.Group
	}
	if id.Namespace != "" {
		return k + " " + id.Namespace + "/" + id.Name
	}
	return k + " " + id.Name
}

// IDOf returns the identity of o.
func IDOf(o *Object) ID {
	gvk := o.GroupVersionKind()
	return ID{Group: gvk.Group, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
}

// Decode splits a multi-document YAML stream into objects, skipping empty
// documents. source names the stream in errors.
func Decode(source string, data []byte) ([]*Object, error) {
	read := documents(data)
	var out []*Object
	for doc := 1; ; doc++ {
		chunk, err := read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read document %d: %w", source, doc, err)
		}
		if blank(chunk) {
			continue
		}
		m, err := decodeDocument(chunk)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		if m == nil {
			continue
		}
		o := &Object{Object: m}
		if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
			return nil, fmt.Errorf("%s: document %d: an object needs apiVersion, kind and metadata.name", source, doc)
		}
		out = append(out, o)
	}
}

// documents returns a reader of data's documents as k8s.io's YAMLReader
// splits them, at every line starting with "---", each line ending in \n.
// Data without such a line and without \r (every rendered file) is one
// document, read without splitting it into lines.
func documents(data []byte) func() ([]byte, error) {
	if bytes.HasPrefix(data, []byte("---")) || bytes.Contains(data, []byte("\n---")) || bytes.IndexByte(data, '\r') >= 0 {
		return utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data))).Read
	}
	done := len(data) == 0
	return func() ([]byte, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		if data[len(data)-1] != '\n' {
			return append(data[:len(data):len(data)], '\n'), nil
		}
		return data, nil
	}
}

// blank reports whether a document holds nothing but spaces, comments and
// separators.
func blank(b []byte) bool {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			return false
		}
	}
	return true
}

// kindOrder puts what others depend on first, the way a cluster wants to
// receive them: namespaces and CRDs, then identities and configuration, then
// workloads and what routes to them.
var kindOrder = map[string]int{
	"Namespace":                0,
	"CustomResourceDefinition": 1,
	"PriorityClass":            2,
	"StorageClass":             3,
	"ServiceAccount":           4,
	"ClusterRole":              5,
	"ClusterRoleBinding":       6,
	"Role":                     7,
	"RoleBinding":              8,
	"SecretProviderClass":      9,
	"ConfigMap":                10,
	"IngressClass":             11,
	"Service":                  12,
	"EndpointSlice":            13,
	"NetworkPolicy":            14,
	"StatefulSet":              15,
	"Deployment":               16,
	"DaemonSet":                17,
	"CronJob":                  18,
	"Job":                      19,
	"HorizontalPodAutoscaler":  20,
	"PodDisruptionBudget":      21,
	"Ingress":                  22,
}

func rank(kind string) int {
	if r, ok := kindOrder[kind]; ok {
		return r
	}
	return len(kindOrder)
}

// Less is the total order of objects: kind priority, then group, kind,
// namespace and name.
func Less(a, b *Object) bool {
	ia, ib := IDOf(a), IDOf(b)
	if ra, rb := rank(ia.Kind), rank(ib.Kind); ra != rb {
		return ra < rb
	}
	if ia.Group != ib.Group {
		return ia.Group < ib.Group
	}
	if ia.Kind != ib.Kind {
		return ia.Kind < ib.Kind
	}
	if ia.Namespace != ib.Namespace {
		return ia.Namespace < ib.Namespace
	}
	return ia.Name < ib.Name
}

// Sort orders objs by Less.
func Sort(objs []*Object) {
	sort.SliceStable(objs, func(i, j int) bool { return Less(objs[i], objs[j]) })
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileName is the stable file name of an object within its component
// directory: <Kind>_<name>.yaml.
func FileName(o *Object) string {
	name := unsafeChars.ReplaceAllString(o.GetName(), "-")
	return o.GetKind() + "_" + name + ".yaml"
}

// Encode returns the canonical YAML of o: keys sorted; status (desired state
// carries none), nulls and empty creationTimestamps dropped; so the same
// object always gives the same bytes.
func Encode(o *Object) ([]byte, error) {
	if exact.On() {
		return encodeGoYAML(o)
	}
	if b, ok := emit(o.Object); ok {
		return b, nil
	}
	return encodeGoYAML(o)
}

// encodeGoYAML is Encode through go-yaml v2: the definition of the bytes
// emit reproduces, and what Encode falls back to.
func encodeGoYAML(o *Object) ([]byte, error) {
	clean := prune(o.Object).(map[string]any)
	delete(clean, "status")
	var b []byte
	var err error
	if doc, ok := yamlValue(clean); ok {
		b, err = yamlv2.Marshal(doc)
	} else {
		b, err = yaml.Marshal(clean)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", IDOf(o), err)
	}
	return b, nil
}

// yamlValue prepares v for go-yaml v2 so that it encodes to exactly the
// bytes sigs.k8s.io/yaml.Marshal gives (JSON, parsed back by go-yaml v2,
// encoded by go-yaml v2) without the JSON round trip, which was a third of
// the cost of a render: the numbers JSON would print as integers become
// integers, the rest is what go-yaml reads back from JSON already. ok is
// false for anything whose JSON form is not that obvious (typed values,
// integral floats beyond 2^53); the caller then takes the round trip.
func yamlValue(v any) (any, bool) {
	return walk(v, nil, func(n float64) (any, bool) {
		if n == math.Trunc(n) {
			if math.Abs(n) >= 1<<53 {
				return nil, false
			}
			return int64(n), true
		}
		return n, true
	})
}

// plain copies v with every number as float64, as encoding/json decodes
// it; ok is false for a value JSON would treat otherwise.
func plain(v any) (any, bool) {
	return walk(v, nil, plainNumber)
}

func plainNumber(n float64) (any, bool) { return n, true }

// walk copies a JSON-shaped value (maps, slices, strings, bools, nil and
// numbers), handing every number to num as a float64 and, when keep is set,
// leaving out the map entries it refuses. ok is false for any other type,
// for integers a float64 would round and for NaN and infinities, which JSON
// cannot hold.
func walk(v any, keep func(k string, v any) bool, num func(float64) (any, bool)) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if keep != nil && !keep(k, val) {
				continue
			}
			c, ok := walk(val, keep, num)
			if !ok {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			c, ok := walk(val, keep, num)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	case string, bool, nil:
		return t, true
	case int:
		return walk(int64(t), keep, num)
	case int32:
		return num(float64(t))
	case int64:
		if t >= 1<<53 || t <= -(1<<53) {
			return nil, false
		}
		return num(float64(t))
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, false
		}
		return num(t)
	}
	return nil, false
}

// Clean returns a copy of o's content as it is written: without status,
// null values and the empty stubs typed round trips leave behind.
func Clean(o *Object) map[string]any {
	clean := prune(o.Object).(map[string]any)
	delete(clean, "status")
	return clean
}

// CleanNormal is Normalize(&Object{Object: Clean(o)}): o's content as it is
// written, with plain maps, slices and float64 numbers, copied once instead
// of twice.
func CleanNormal(o *Object) (*Object, error) {
	if m, ok := walk(o.Object, kept, plainNumber); ok {
		clean := m.(map[string]any)
		delete(clean, "status")
		return &Object{Object: clean}, nil
	}
	return Normalize(&Object{Object: Clean(o)})
}

// prune drops null values and the empty status/creationTimestamp stubs typed
// round trips leave behind: the entries kept refuses.
func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if kept(k, val) {
				out[k] = prune(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = prune(val)
		}
		return out
	default:
		return v
	}
}

// anyKept: prune keeps some entry of m.
func anyKept(m map[string]any) bool {
	for k, v := range m {
		if kept(k, v) {
			return true
		}
	}
	return false
}

// kept: prune keeps the entry k: v (not null, not an empty status or
// creationTimestamp).
func kept(k string, v any) bool {
	return v != nil && !((k == "status" || k == "creationTimestamp") && prunedEmpty(v))
}

// prunedEmpty: prune leaves v empty (nil, "", or a map none of whose
// entries it keeps), so a status or creationTimestamp holding it goes.
func prunedEmpty(v any) bool {
	if m, ok := v.(map[string]any); ok {
		return !anyKept(m)
	}
	return v == nil || v == ""
}

// EncodeJSONStream returns objs as one multi-document stream of JSON
// documents (valid YAML, which kustomize reads), cleaned as Encode cleans
// them: a quarter of the cost of the YAML stream, for machine consumers.
func EncodeJSONStream(objs []*Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := json.Marshal(Clean(o))
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", IDOf(o), err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// Normalize returns a copy of o whose numbers are all float64 and whose
// nested values are plain maps and slices: what decoding its JSON gives, the
// form Encode and comparisons expect. Plain values are converted directly;
// anything else takes the JSON round trip.
func Normalize(o *Object) (*Object, error) {
	if m, ok := plain(o.Object); ok {
		return &Object{Object: m.(map[string]any)}, nil
	}
	b, err := yaml.Marshal(o.Object)
	if err != nil {
		return nil, fmt.Errorf("normalize %s: %w", IDOf(o), err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("normalize %s: %w", IDOf(o), err)
	}
	return &Object{Object: m}, nil
}

// Labels returns o's labels, never nil.
func Labels(o *Object) map[string]string {
	l := o.GetLabels()
	if l == nil {
		return map[string]string{}
	}
	return l
}
