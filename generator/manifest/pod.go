package manifest

import (
	"fmt"

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
