package manifest

import (
	"fmt"
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

// Pods converts each object's pod template once. The checks across a stamp
// (connectivity, the programs' needs, quotas, Pod Security) each read
// every workload's template, and the conversion (reflection over the whole
// PodSpec) was most of their cost. The templates it returns are shared:
// callers must not change them, nor the objects once their template was
// read. A nil *Pods converts on every call, as PodTemplate does.
type Pods struct {
	mu sync.Mutex
	m  map[*Object]*corev1.PodTemplateSpec
}

// NewPods returns an empty memo; it holds the templates until dropped.
func NewPods() *Pods {
	return &Pods{m: map[*Object]*corev1.PodTemplateSpec{}}
}

// Template returns o's pod template as PodTemplate does, converted at most
// once per object. Safe for concurrent use.
func (p *Pods) Template(o *Object) (*corev1.PodTemplateSpec, error) {
	if p == nil {
		return PodTemplate(o)
	}
	if _, ok := podTemplatePaths[o.GetKind()]; !ok {
		return nil, nil
	}
	p.mu.Lock()
	t, ok := p.m[o]
	p.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := PodTemplate(o)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.m[o] = t
	p.mu.Unlock()
	return t, nil
}
