package manifest

import (
	"fmt"
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// podTemplatePaths is where each pod-bearing kind keeps its pod template.
var podTemplatePaths = map[string][]string{
	"Deployment":  {"spec", "template"},
	"StatefulSet": {"spec", "template"},
	"DaemonSet":   {"spec", "template"},
	"ReplicaSet":  {"spec", "template"},
	"Job":         {"spec", "template"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template"},
}

// Without is a shallow view of obj without the value at path: each map
// along the path is copied, nothing is changed in place.
func Without(obj map[string]any, path ...string) map[string]any {
	out := make(map[string]any, len(obj))
	maps.Copy(out, obj)
	if len(path) == 1 {
		delete(out, path[0])
		return out
	}
	if inner, ok := obj[path[0]].(map[string]any); ok {
		out[path[0]] = Without(inner, path[1:]...)
	}
	return out
}

// IsJob reports whether kind runs pods to completion (Job, CronJob).
func IsJob(kind string) bool { return kind == "Job" || kind == "CronJob" }

// PodTemplate returns a copy of the pod template of a pod-bearing object
// (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), or nil for
// other kinds.
func PodTemplate(o *Object) (*corev1.PodTemplateSpec, error) {
	path, ok := podTemplatePaths[o.GetKind()]
	if !ok {
		return nil, nil
	}
	var cur any = o.Object
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return &corev1.PodTemplateSpec{}, nil
		}
		cur = m[k]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return &corev1.PodTemplateSpec{}, nil
	}
	var t corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &t); err != nil {
		return nil, fmt.Errorf("%s: pod template: %w", IDOf(o), err)
	}
	return &t, nil
}

// Typed converts each object to a Go type once. The checks across a stamp
// (connectivity, the programs' needs, quotas, Pod Security) each read
// every workload's pod template and every NetworkPolicy, and the
// conversions (reflection over the whole PodSpec) were most of their cost.
// What it returns is shared: callers must not change it, nor an object
// once something was converted from it. A nil *Typed converts on every
// call.
type Typed struct {
	mu     sync.Mutex
	m      map[typedKey]any
	shared map[any]func() (any, error) // Shared's builds, each run once
}

type typedKey struct {
	obj *Object
	as  any
}

// NewTyped returns an empty memo; it holds its conversions until dropped.
func NewTyped() *Typed {
	return &Typed{m: map[typedKey]any{}}
}

// Len is how many conversions the memo keeps.
func (t *Typed) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// podTemplateKey names PodTemplate's conversions in a Typed.
type podTemplateKey struct{}

// Template returns o's pod template as PodTemplate does, converted at most
// once per object. Safe for concurrent use.
func (t *Typed) Template(o *Object) (*corev1.PodTemplateSpec, error) {
	if _, ok := podTemplatePaths[o.GetKind()]; !ok {
		return nil, nil
	}
	return Convert(t, podTemplateKey{}, o, PodTemplate)
}

// Shared returns build(), kept once per key while the memo is kept: what
// several checks derive alike from many objects (a stamp's NetworkPolicy
// engine), where Convert keeps what is derived from one. The key is a
// comparable value of an unexported type naming what is built and from
// what. Callers asking at once wait for the first to build it; a failure
// (a panic included) is kept too, as the same build would fail again. A
// nil *Typed builds on every call.
func Shared[T any](t *Typed, key any, build func() (T, error)) (T, error) {
	if t == nil {
		return build()
	}
	t.mu.Lock()
	if t.shared == nil {
		t.shared = map[any]func() (any, error){}
	}
	once, ok := t.shared[key]
	if !ok {
		once = sync.OnceValues(func() (v any, err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%v", r)
				}
			}()
			return build()
		})
		t.shared[key] = once
	}
	t.mu.Unlock()
	v, err := once()
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// Convert returns convert(o), kept once per object and key (a comparable
// value of an unexported type naming the conversion, as context keys do:
// one key, one conversion, one T) while the memo is kept; a failed
// conversion is not kept. Safe for concurrent use: callers converting the
// same object at once each call convert, and all get the value kept.
func Convert[T any](t *Typed, key any, o *Object, convert func(*Object) (T, error)) (T, error) {
	if t == nil {
		return convert(o)
	}
	k := typedKey{o, key}
	t.mu.Lock()
	v, ok := t.m[k]
	t.mu.Unlock()
	if ok {
		return v.(T), nil
	}
	out, err := convert(o)
	if err != nil {
		return out, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Two callers may convert the same object at once: both get the
	// conversion kept first, so a caller sees one value per object.
	if v, ok := t.m[k]; ok {
		return v.(T), nil
	}
	t.m[k] = out
	return out, nil
}
