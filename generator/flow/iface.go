package flow

import (
	"fmt"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// InterfaceWith reads what a component serves its consumers and scraper from
// its own rendered objects: the ports of the Services selecting its main
// pods (the ClusterIP ones when there are any: a headless Service also
// carries peer ports) and the metrics port of prometheus.io/port, the
// annotation the rendered Prometheus configuration keeps pods by. The
// ports replicas use among themselves are their programs' (package
// programs), which this package does not know: Peer is left empty.
//
// Each object's pod template is read with template (which has
// manifest.PodTemplate's contract), for callers that have the templates
// decoded already; the templates are only read.
func InterfaceWith(component string, objs []*manifest.Object, template func(*manifest.Object) (*corev1.PodTemplateSpec, error)) (Interface, error) {
	var iface Interface
	var pods []*corev1.PodTemplateSpec
	var podIDs []manifest.ID
	for _, o := range objs {
		if manifest.IsJob(o.GetKind()) {
			continue
		}
		t, err := template(o)
		if err != nil {
			return iface, err
		}
		if t == nil || t.Labels[LabelName] != component {
			continue
		}
		pods = append(pods, t)
		podIDs = append(podIDs, manifest.IDOf(o))
	}
	var ports []Port
	for _, t := range pods {
		ports = append(ports, ContainerPorts(t)...)
	}
	var clusterIP, headless []Port
	for _, o := range objs {
		if o.GetKind() != "Service" {
			continue
		}
		var svc corev1.Service
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &svc); err != nil {
			return iface, fmt.Errorf("%s: %w", manifest.IDOf(o), err)
		}
		if len(svc.Spec.Selector) == 0 || !selectsAny(svc.Spec.Selector, pods) {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			p, err := resolveTarget(sp, ports)
			if err != nil {
				return iface, fmt.Errorf("%s: %w", manifest.IDOf(o), err)
			}
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				headless = append(headless, p)
			} else {
				clusterIP = append(clusterIP, p)
			}
		}
	}
	iface.Client = clusterIP
	if len(clusterIP) == 0 {
		iface.Client = headless
	}
	for i, t := range pods {
		if t.Annotations[ScrapeAnnotation] == "true" {
			v := t.Annotations[MetricsPortAnnotation]
			p, ok := lookup(v, ports)
			if !ok {
				return iface, fmt.Errorf("%s: %s %q is no container port of the pod", podIDs[i], MetricsPortAnnotation, v)
			}
			iface.Metrics = append(iface.Metrics, p)
		}
	}
	iface.Client, iface.Metrics = SortPorts(iface.Client), SortPorts(iface.Metrics)
	return iface, nil
}

// ContainerPorts lists the ports a pod template's containers declare
// (protocol TCP when unset).
func ContainerPorts(t *corev1.PodTemplateSpec) []Port {
	var out []Port
	for _, c := range t.Spec.Containers {
		for _, cp := range c.Ports {
			proto := cp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			out = append(out, Port{Name: cp.Name, Port: cp.ContainerPort, Protocol: proto})
		}
	}
	return out
}

// lookup finds a container port by name or number.
func lookup(ref string, ports []Port) (Port, bool) {
	n, err := strconv.Atoi(ref)
	for _, p := range ports {
		if (err == nil && int(p.Port) == n) || (err != nil && p.Name == ref) {
			return p, true
		}
	}
	if err == nil && n > 0 && n < 65536 {
		return Port{Port: int32(n), Protocol: corev1.ProtocolTCP}, true
	}
	return Port{}, false
}

func resolveTarget(sp corev1.ServicePort, ports []Port) (Port, error) {
	proto := sp.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	target := sp.TargetPort
	if target.Type == intstr.Int && target.IntVal == 0 {
		target = intstr.FromInt32(sp.Port)
	}
	p, ok := lookup(target.String(), ports)
	if !ok {
		return Port{}, fmt.Errorf("port %s: targetPort %q names no container port of the pods it selects", sp.Name, target.String())
	}
	p.Protocol = proto
	return p, nil
}

func selectsAny(selector map[string]string, pods []*corev1.PodTemplateSpec) bool {
	for _, t := range pods {
		all := true
		for k, v := range selector {
			if t.Labels[k] != v {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// SortPorts orders ports by number and protocol, once each.
func SortPorts(ps []Port) []Port {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Port != ps[j].Port {
			return ps[i].Port < ps[j].Port
		}
		return ps[i].Protocol < ps[j].Protocol
	})
	var out []Port
	for _, p := range ps {
		if len(out) == 0 || !out[len(out)-1].Same(p) {
			out = append(out, p)
		}
	}
	return out
}
