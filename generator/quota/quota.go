// Package quota sizes the ResourceQuota and LimitRange of a namespace from
// what the stamp runs in it: the quota admits every pod the namespace can
// need at once — autoscaled workloads at their maximum (sized for
// failover), a rolling update's surge, DaemonSets on every node the
// autoscaler may add, CronJobs that may overlap — and nothing beyond, with
// a tenth of headroom. A quota tighter than that refuses pods when a stamp
// takes its neighbour's traffic; none lets one runaway workload starve the
// others. The LimitRange bounds a container at one node.
package quota

import (
	"fmt"
	"math"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Headroom is the share above the namespace's most demand the quota
// allows.
const Headroom = 0.10

// Demand is what a namespace's pods request and limit at most at once.
type Demand struct {
	Pods                                      int64
	RequestsCPU, RequestsMemory, LimitsMemory float64 // cores, bytes
}

// Of adds up the most the namespace's workloads (objs) run at once in a
// stamp of env, reading the pod templates through typed (nil: converted here).
func Of(env *spec.Environment, objs []*manifest.Object, typed *manifest.Typed) (Demand, error) {
	maxNodes := float64(env.Spec.Cluster.Autoscaler.MaxNodes)
	hpaMax := map[string]int32{} // kind/name -> maxReplicas
	for _, o := range objs {
		if o.GetKind() != "HorizontalPodAutoscaler" {
			continue
		}
		var h autoscalingv2.HorizontalPodAutoscaler
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &h); err != nil {
			return Demand{}, fmt.Errorf("%s: %w", manifest.IDOf(o), err)
		}
		hpaMax[h.Spec.ScaleTargetRef.Kind+"/"+h.Spec.ScaleTargetRef.Name] = h.Spec.MaxReplicas
	}
	var d Demand
	for _, o := range objs {
		pod, err := typed.Template(o)
		if err != nil {
			return Demand{}, err
		}
		if pod == nil {
			continue
		}
		n, err := pods(o, hpaMax, maxNodes)
		if err != nil {
			return Demand{}, fmt.Errorf("%s: %w", manifest.IDOf(o), err)
		}
		cpu, mem := Effective(&pod.Spec, corev1.ResourceRequestsCPU), Effective(&pod.Spec, corev1.ResourceRequestsMemory)
		limit := Effective(&pod.Spec, corev1.ResourceLimitsMemory)
		d.Pods += int64(n)
		d.RequestsCPU += n * cpu
		d.RequestsMemory += n * mem
		d.LimitsMemory += n * limit
	}
	return d, nil
}

// pods is how many pods of a workload can exist at once. The workload is
// converted without its pod template (read through manifest.Typed once for every
// check): the count needs only its own fields.
func pods(o *manifest.Object, hpaMax map[string]int32, maxNodes float64) (float64, error) {
	switch o.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(manifest.Without(o.Object, "spec", "template"), &d); err != nil {
			return 0, err
		}
		n := replicas(d.Spec.Replicas, hpaMax["Deployment/"+d.Name])
		// A rolling update runs maxSurge pods more (default 25%, rounded
		// up); Recreate none.
		surge := intstr.FromString("25%")
		if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			surge = intstr.FromInt32(0)
		} else if r := d.Spec.Strategy.RollingUpdate; r != nil && r.MaxSurge != nil {
			surge = *r.MaxSurge
		}
		extra, err := intstr.GetScaledValueFromIntOrPercent(&surge, int(n), true)
		if err != nil {
			return 0, err
		}
		return n + float64(extra), nil
	case "StatefulSet":
		var s appsv1.StatefulSet
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(manifest.Without(o.Object, "spec", "template"), &s); err != nil {
			return 0, err
		}
		return replicas(s.Spec.Replicas, hpaMax["StatefulSet/"+s.Name]), nil
	case "DaemonSet":
		return maxNodes, nil
	case "CronJob":
		var c batchv1.CronJob
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(manifest.Without(o.Object, "spec", "jobTemplate", "spec", "template"), &c); err != nil {
			return 0, err
		}
		n := float64(1)
		if p := c.Spec.JobTemplate.Spec.Parallelism; p != nil {
			n = float64(*p)
		}
		// Allow lets runs overlap, Replace starts one while the last
		// terminates: count two.
		if c.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			n *= 2
		}
		return n, nil
	case "Job":
		var j batchv1.Job
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(manifest.Without(o.Object, "spec", "template"), &j); err != nil {
			return 0, err
		}
		if p := j.Spec.Parallelism; p != nil {
			return float64(*p), nil
		}
		return 1, nil
	}
	return 1, nil
}

func replicas(set *int32, hpa int32) float64 {
	if hpa > 0 {
		return float64(hpa)
	}
	if set != nil {
		return float64(*set)
	}
	return 1
}

// Effective is a pod's request or limit of one resource (requests.cpu,
// requests.memory, limits.memory) as the scheduler and quota count it: the
// sum over its containers, or its largest init container if more.
func Effective(pod *corev1.PodSpec, name corev1.ResourceName) float64 {
	get := func(c corev1.Container) float64 {
		var q resource.Quantity
		switch name {
		case corev1.ResourceRequestsCPU:
			q = c.Resources.Requests[corev1.ResourceCPU]
		case corev1.ResourceRequestsMemory:
			q = c.Resources.Requests[corev1.ResourceMemory]
		case corev1.ResourceLimitsMemory:
			q = c.Resources.Limits[corev1.ResourceMemory]
		}
		return q.AsApproximateFloat64()
	}
	sum, init := 0.0, 0.0
	for _, c := range pod.Containers {
		sum += get(c)
	}
	for _, c := range pod.InitContainers {
		init = math.Max(init, get(c))
	}
	return math.Max(sum, init)
}

// Hard is the quota for a demand: the demand and a tenth more, CPU in
// whole tenths of a core and memory in whole MiB.
func Hard(d Demand) corev1.ResourceList {
	up := func(v, step float64) float64 { return math.Ceil(v*(1+Headroom)/step) * step }
	return corev1.ResourceList{
		corev1.ResourcePods:           *resource.NewQuantity(int64(math.Ceil(float64(d.Pods)*(1+Headroom))), resource.DecimalSI),
		corev1.ResourceRequestsCPU:    *resource.NewMilliQuantity(int64(up(d.RequestsCPU*1000, 100)), resource.DecimalSI),
		corev1.ResourceRequestsMemory: *resource.NewQuantity(int64(up(d.RequestsMemory, 1<<20)), resource.BinarySI),
		corev1.ResourceLimitsMemory:   *resource.NewQuantity(int64(up(d.LimitsMemory, 1<<20)), resource.BinarySI),
	}
}

// Covers reports which of a quota's hard limits a demand exceeds.
func Covers(hard corev1.ResourceList, d Demand) []string {
	var over []string
	check := func(name corev1.ResourceName, need float64, unit string, scale float64) {
		q, ok := hard[name]
		if !ok {
			return
		}
		if have := q.AsApproximateFloat64(); need > have {
			over = append(over, fmt.Sprintf("%s: needs %.1f%s, the quota allows %.1f%s", name, need/scale, unit, have/scale, unit))
		}
	}
	check(corev1.ResourcePods, float64(d.Pods), "", 1)
	check(corev1.ResourceRequestsCPU, d.RequestsCPU, " cores", 1)
	check(corev1.ResourceRequestsMemory, d.RequestsMemory, " GiB", 1<<30)
	check(corev1.ResourceLimitsMemory, d.LimitsMemory, " GiB", 1<<30)
	return over
}
