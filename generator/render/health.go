package render

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/spec"
)

// CheckFlag is the HealthService's flag for one dependency it checks:
// --check=<name>=<tcp://host:port | https://host/>.
const CheckFlag = "--check"

// stampHealth renders the checks of every stamp's HealthService (the
// component Front Door probes) from what the stamp runs, once its units
// are there: every component the served components depend on, at the port
// its rendered Service answers, and the region's storage when the
// HealthService declares it calls Blob Storage. A check the base wrote by
// hand is replaced, so the HealthService cannot miss a dependency the spec
// adds, nor check a port the dependency no longer serves.
func stampHealth(envs []*spec.Environment, units []*Unit) error {
	for _, e := range envs {
		f := e.Spec.FrontDoor
		if f == nil {
			continue
		}
		for _, st := range e.Spec.Stamps {
			var stamp []*Unit
			for _, u := range units {
				if u.Env == e.Name() && u.Stamp == st.Name {
					stamp = append(stamp, u)
				}
			}
			if err := fillChecks(e, st, stamp); err != nil {
				return fmt.Errorf("render %s/%s: %s's checks: %w", e.Name(), st.Name, f.Health, err)
			}
		}
	}
	return nil
}

// HealthDependencies are what a stamp needs to serve: every component the
// components served through an Ingress reach, directly or through others,
// that is not itself served. Sorted.
func HealthDependencies(e *spec.Environment) []string {
	served := map[string]bool{}
	var queue []string
	for _, name := range e.ComponentNames() {
		if e.Spec.Components[name].Ingress != nil {
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
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// fillChecks sets the health component's --check flags in one stamp.
func fillChecks(e *spec.Environment, st spec.Stamp, units []*Unit) error {
	health := e.Spec.FrontDoor.Health
	var checks []string
	for _, dep := range HealthDependencies(e) {
		c := e.Spec.Components[dep]
		port, err := servicePort(units, dep, c.Namespace)
		if err != nil {
			return err
		}
		checks = append(checks, fmt.Sprintf("%s=%s=tcp://%s.%s.svc.cluster.local:%d", CheckFlag, dep, dep, c.Namespace, port))
	}
	if slices.Contains(e.Spec.Components[health].Azure, "blob") {
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
			return u.edit(i, func(o *manifest.Object) error { return setChecks(o, health, checks) })
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

// setChecks replaces the container's --check flags with checks, where the
// first of them stood (or at the end).
func setChecks(o *manifest.Object, container string, checks []string) error {
	v, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "template", "spec", "containers")
	cs, _ := v.([]any)
	for _, c := range cs {
		m, ok := c.(map[string]any)
		if !ok || m["name"] != container {
			continue
		}
		args, _ := m["args"].([]any)
		var out []any
		at := -1
		for _, a := range args {
			if s, ok := a.(string); ok && (s == CheckFlag || strings.HasPrefix(s, CheckFlag+"=")) {
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
		add := make([]any, len(checks))
		for i, c := range checks {
			add[i] = c
		}
		m["args"] = slices.Insert(out, at, add...)
		return nil
	}
	return fmt.Errorf("%s has no container %s", manifest.IDOf(o), container)
}
