package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/generator/spec"
)

// The HealthService's flags the generator renders: the path it answers
// Front Door's probe on, and one --check=<name>=<tcp://host:port |
// https://host/> per dependency.
const (
	ProbePathFlag = "--probe-path"
	CheckFlag     = "--check"
)

// healthDependencies are what a stamp needs to serve: every component the
// components served through an Ingress reach, directly or through others,
// that is not itself served. An operators' tool served per stamp
// (ingress.stampOnly, Grafana) serves no user: its dependencies are not
// the stamp's. Sorted.
func healthDependencies(e *spec.Environment) []string {
	served := map[string]bool{}
	var queue []string
	for _, name := range e.ComponentNames() {
		if in := e.Spec.Components[name].Ingress; in != nil && !in.StampOnly {
			served[name] = true
			queue = append(queue, name)
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		for _, t := range e.Spec.Components[name].TalksTo {
			if !seen[t] && !served[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// fillHealth sets, in one stamp, the HealthService's --probe-path from
// spec.frontDoor.probePath (the one place Front Door's probe path is set)
// and its --check flags from what the stamp runs: every component the
// served components depend on, at the port its rendered Service answers,
// and the region's storage when the HealthService declares it calls Blob
// Storage. Flags the base wrote by hand are replaced, so the HealthService
// cannot miss a dependency the spec adds, nor check a port the dependency
// no longer serves.
func fillHealth(e *spec.Environment, st spec.Stamp, units []*Unit) error {
	f := e.Spec.FrontDoor
	health := f.Health
	var checks []string
	for _, dep := range healthDependencies(e) {
		c := e.Spec.Components[dep]
		port, err := servicePort(units, dep, c.Namespace)
		if err != nil {
			return err
		}
		checks = append(checks, fmt.Sprintf("%s=%s=tcp://%s.%s.svc.cluster.local:%d", CheckFlag, dep, dep, c.Namespace, port))
	}
	if slices.Contains(e.Spec.Components[health].Azure, programs.ServiceBlob) {
		acct := e.Spec.Regions[st.Region].LogStorage
		if acct == "" {
			return fmt.Errorf("%s calls Blob Storage, but region %s names no storage account (spec.regions.%s.logStorage)", health, st.Region, st.Region)
		}
		checks = append(checks, fmt.Sprintf("%s=storage=https://%s.blob.core.windows.net/", CheckFlag, acct))
	}
	for _, u := range units {
		if u.Component != health {
			continue
		}
		for i, o := range u.Objects {
			if o.GetKind() != "Deployment" || o.GetName() != health {
				continue
			}
			return u.edit(i, func(o *manifest.Object) error {
				if err := setFlag(o, health, ProbePathFlag, []string{ProbePathFlag + "=" + f.ProbePath}); err != nil {
					return err
				}
				return setFlag(o, health, CheckFlag, checks)
			})
		}
	}
	return fmt.Errorf("the stamp renders no Deployment %s", health)
}

// servicePort is the first TCP port of the Service named for a component.
func servicePort(units []*Unit, name, namespace string) (int32, error) {
	for _, u := range units {
		if u.Component != name {
			continue
		}
		for _, o := range u.Objects {
			if o.GetKind() != "Service" || o.GetName() != name || o.GetNamespace() != namespace {
				continue
			}
			var svc corev1.Service
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &svc); err != nil {
				return 0, fmt.Errorf("Service %s/%s: %w", namespace, name, err)
			}
			for _, p := range svc.Spec.Ports {
				if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
					return p.Port, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("it depends on %s, which renders no Service %s/%s with a TCP port to check", name, namespace, name)
}

// setFlag replaces every occurrence of a container's flag (--flag or
// --flag=value) with args, where the first of them stood (or at the end).
func setFlag(o *manifest.Object, container, flag string, args []string) error {
	v, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "template", "spec", "containers")
	cs, _ := v.([]any)
	for _, c := range cs {
		m, ok := c.(map[string]any)
		if !ok || m["name"] != container {
			continue
		}
		have, _ := m["args"].([]any)
		var out []any
		at := -1
		for _, a := range have {
			if s, ok := a.(string); ok && (s == flag || strings.HasPrefix(s, flag+"=")) {
				if at < 0 {
					at = len(out)
				}
				continue
			}
			out = append(out, a)
		}
		if at < 0 {
			at = len(out)
		}
		add := make([]any, len(args))
		for i, a := range args {
			add[i] = a
		}
		m["args"] = slices.Insert(out, at, add...)
		return nil
	}
	return fmt.Errorf("%s has no container %s", manifest.IDOf(o), container)
}
