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

// Unit is what a stamp's demand reads of one unit's objects, in their
// order: its pod-bearing workloads and its autoscalers. It is computed
// from the unit alone (Summarize), so a cache can keep it with the unit's
// other results and a stamp's demand needs no object of a unit it holds
// the summary of.
type Unit struct {
	Workloads   []Workload   `json:"workloads,omitempty"`
	Autoscalers []Autoscaler `json:"autoscalers,omitempty"`
}

// Workload is one pod-bearing object: what one of its pods requests and,
// by kind, how many run (a Deployment's or StatefulSet's replicas, a
// CronJob's parallelism; a DaemonSet's pods run on every node).
type Workload struct {
	Kind      string  `json:"kind"`
	Namespace string  `json:"namespace,omitempty"`
	Name      string  `json:"name"`
	Request   Amount  `json:"request"`
	Count     float64 `json:"count,omitempty"`
}

// Autoscaler is a HorizontalPodAutoscaler: the workload it scales and its
// maximum.
type Autoscaler struct {
	Namespace   string  `json:"namespace,omitempty"`
	TargetKind  string  `json:"targetKind"`
	TargetName  string  `json:"targetName"`
	MaxReplicas float64 `json:"maxReplicas"`
}

// Summarize reads a unit's objects for Of, converting pod templates
// through typed (nil: converted here).
func Summarize(objects []*manifest.Object, typed *manifest.Typed) (Unit, error) {
	var u Unit
	for _, o := range objects {
		if o.GetKind() == "HorizontalPodAutoscaler" {
			var hpa autoscalingv2.HorizontalPodAutoscaler
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &hpa); err != nil {
				return u, fmt.Errorf("%s: %w", manifest.IDOf(o), err)
			}
			u.Autoscalers = append(u.Autoscalers, Autoscaler{Namespace: o.GetNamespace(),
				TargetKind: hpa.Spec.ScaleTargetRef.Kind, TargetName: hpa.Spec.ScaleTargetRef.Name, MaxReplicas: float64(hpa.Spec.MaxReplicas)})
			continue
		}
		pod, err := typed.Template(o)
		if err != nil {
			return u, fmt.Errorf("%s: %w", manifest.IDOf(o), err)
		}
		if pod == nil {
			continue
		}
		w := Workload{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Request: podRequest(&pod.Spec)}
		switch w.Kind {
		case "Deployment", "StatefulSet":
			w.Count = count(o, "spec", "replicas")
		case "CronJob":
			w.Count = count(o, "spec", "jobTemplate", "spec", "parallelism")
		}
		u.Workloads = append(u.Workloads, w)
	}
	return u, nil
}

// FromObjects works out one stamp's demand from its rendered objects, by
// component: Of over each component's Summarize.
func FromObjects(e *spec.Environment, st spec.Stamp, objects map[string][]*manifest.Object) (Stamp, error) {
	units := make(map[string]Unit, len(objects))
	for comp, objs := range objects {
		u, err := Summarize(objs, nil)
		if err != nil {
			return Stamp{}, fmt.Errorf("capacity %s/%s: %w", e.Name(), st.Name, err)
		}
		units[comp] = u
	}
	return Of(e, st, units)
}

// Of works out one stamp's demand from its units' summaries, by component.
func Of(e *spec.Environment, st spec.Stamp, units map[string]Unit) (Stamp, error) {
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

	// The sums run in one fixed order (components by name, a unit's
	// workloads in its order, then the fixed ones by name): the same
	// inputs give the same bits.
	type workload struct{ kind, namespace, name string }
	requests := map[workload]Amount{}
	replicas := map[workload]float64{}
	scaled := map[workload]bool{}
	comps := slices.Sorted(maps.Keys(units))
	for _, comp := range comps {
		for _, wl := range units[comp].Workloads {
			w := workload{wl.Kind, wl.Namespace, wl.Name}
			requests[w] = wl.Request
			switch w.kind {
			case "Deployment", "StatefulSet":
				replicas[w] = wl.Count
			case "DaemonSet":
				out.Peak = out.Peak.add(wl.Request, maxNodes)
				out.Failover = out.Failover.add(wl.Request, maxNodes)
			case "CronJob":
				out.Peak = out.Peak.add(wl.Request, wl.Count)
				out.Failover = out.Failover.add(wl.Request, wl.Count)
			}
		}
	}
	for _, comp := range comps {
		for _, a := range units[comp].Autoscalers {
			w := workload{a.TargetKind, a.Namespace, a.TargetName}
			scaled[w] = true
			// At its own peak a scaled workload runs what that load needs;
			// at failover what the extra traffic needs, and never fewer than
			// its autoscaler's maximum (which the policy counts).
			peak := a.MaxReplicas
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
