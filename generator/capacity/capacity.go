// Package capacity works out what a stamp's workloads request at peak and
// at failover — when another stamp of the environment is out and Front
// Door shares the traffic among the healthy stamps by their origins'
// weights —
// against the stamp's node budget (the autoscaler's maximum nodes times a
// node's allocatable). At failover it counts as the resources.stamp-capacity
// policy does: autoscaled workloads at their maximum (which covers the
// failover traffic, spec.Environment.HPABounds), other Deployments and
// StatefulSets at their replicas, DaemonSets on every node, CronJobs at
// their parallelism; at its own peak the autoscaled ones at the replicas
// that peak needs.
package capacity

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/quota"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Amount is a quantity of CPU (cores) and memory (GiB).
type Amount struct {
	CPU    float64 `json:"cpu"`
	Memory float64 `json:"memoryGiB"`
}

func (a Amount) add(b Amount, n float64) Amount {
	return Amount{CPU: a.CPU + n*b.CPU, Memory: a.Memory + n*b.Memory}
}

// Stamp is one stamp's demand against its budget.
type Stamp struct {
	Env    string `json:"environment"`
	Stamp  string `json:"stamp"`
	Budget Amount `json:"budget"`
	Peak   Amount `json:"peak"`
	// Failover is the demand when FailoverFrom, the other stamp whose
	// loss loads this one most, is out; Peak when no other stamp shares
	// Front Door's traffic with it.
	Failover     Amount `json:"failover"`
	FailoverFrom string `json:"failoverFrom,omitempty"`
	// Factor is how much more traffic than its own peak the stamp takes
	// then.
	Factor float64 `json:"factor"`
}

// Of works out one stamp's demand from its rendered objects, by component.
func Of(e *spec.Environment, st spec.Stamp, objects map[string][]*manifest.Object) (Stamp, error) {
	out := Stamp{Env: e.Name(), Stamp: st.Name, Factor: 1}
	node, err := amountOf(e.Spec.Cluster.Node.Allocatable.CPU, e.Spec.Cluster.Node.Allocatable.Memory)
	if err != nil {
		return out, fmt.Errorf("capacity %s/%s: node allocatable: %w", e.Name(), st.Name, err)
	}
	maxNodes := float64(e.Spec.Cluster.Autoscaler.MaxNodes)
	out.Budget = Amount{}.add(node, maxNodes)
	rps, from := e.FailoverRPS(st)
	out.FailoverFrom = from
	if st.Capacity.PeakRPS > 0 {
		out.Factor = float64(rps) / float64(st.Capacity.PeakRPS)
	}

	type workload struct{ kind, namespace, name string }
	requests := map[workload]Amount{}
	replicas := map[workload]float64{}
	scaled := map[workload]bool{}
	for _, comp := range slices.Sorted(maps.Keys(objects)) {
		for _, o := range objects[comp] {
			w := workload{o.GetKind(), o.GetNamespace(), o.GetName()}
			pod, err := manifest.PodTemplate(o)
			if err != nil {
				return out, err
			}
			if pod == nil {
				continue
			}
			req := podRequest(&pod.Spec)
			requests[w] = req
			switch w.kind {
			case "Deployment", "StatefulSet":
				replicas[w] = count(o, "spec", "replicas")
			case "DaemonSet":
				out.Peak = out.Peak.add(req, maxNodes)
				out.Failover = out.Failover.add(req, maxNodes)
			case "CronJob":
				n := count(o, "spec", "jobTemplate", "spec", "parallelism")
				out.Peak = out.Peak.add(req, n)
				out.Failover = out.Failover.add(req, n)
			}
		}
	}
	for _, comp := range slices.Sorted(maps.Keys(objects)) {
		for _, o := range objects[comp] {
			if o.GetKind() != "HorizontalPodAutoscaler" {
				continue
			}
			var hpa autoscalingv2.HorizontalPodAutoscaler
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &hpa); err != nil {
				return out, fmt.Errorf("capacity %s/%s: %s: %w", e.Name(), st.Name, manifest.IDOf(o), err)
			}
			w := workload{hpa.Spec.ScaleTargetRef.Kind, o.GetNamespace(), hpa.Spec.ScaleTargetRef.Name}
			scaled[w] = true
			// At its own peak a scaled workload runs what that load needs;
			// at failover what the extra traffic needs, and never fewer than
			// its autoscaler's maximum (which the policy counts).
			peak := float64(hpa.Spec.MaxReplicas)
			at := peak
			if s := e.Spec.Components[comp].Scaling; s != nil && s.PodThroughputRPS > 0 {
				_, own := s.HPABounds(st, len(e.Spec.Cluster.Zones))
				peak = math.Min(peak, float64(own))
				at = math.Max(at, math.Ceil(float64(rps)/float64(s.PodThroughputRPS)))
			}
			out.Peak = out.Peak.add(requests[w], peak)
			out.Failover = out.Failover.add(requests[w], at)
		}
	}
	for _, w := range slices.SortedFunc(maps.Keys(replicas), func(a, b workload) int {
		return strings.Compare(a.kind+"/"+a.namespace+"/"+a.name, b.kind+"/"+b.namespace+"/"+b.name)
	}) {
		if !scaled[w] {
			out.Peak = out.Peak.add(requests[w], replicas[w])
			out.Failover = out.Failover.add(requests[w], replicas[w])
		}
	}
	return out, nil
}

// podRequest is what the scheduler reserves for one pod (quota.Effective).
func podRequest(pod *corev1.PodSpec) Amount {
	return Amount{
		CPU:    quota.Effective(pod, corev1.ResourceRequestsCPU),
		Memory: quota.Effective(pod, corev1.ResourceRequestsMemory) / gib,
	}
}

// count reads a replica count, 1 where the field is left out (the API
// server's default).
func count(o *manifest.Object, path ...string) float64 {
	v, _, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	}
	return 1
}

const gib = 1 << 30

// amountOf parses a CPU and a memory quantity.
func amountOf(cpu, memory string) (Amount, error) {
	c, err := resource.ParseQuantity(cpu)
	if err != nil {
		return Amount{}, fmt.Errorf("cpu %q: %w", cpu, err)
	}
	m, err := resource.ParseQuantity(memory)
	if err != nil {
		return Amount{}, fmt.Errorf("memory %q: %w", memory, err)
	}
	return Amount{CPU: c.AsApproximateFloat64(), Memory: m.AsApproximateFloat64() / gib}, nil
}
