package monitoring

import (
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// Scrape is the pod annotation the Prometheus configuration keeps targets
// by, and AppLabel the pod label it copies into the target's app label
// (base/prometheus: relabel_configs of the kubernetes-pods job).
const (
	Scrape   = "prometheus.io/scrape"
	AppLabel = "app.kubernetes.io/name"
)

// Runs is what one stamp runs, by component, as its alert rules watch it:
// read from the stamp's rendered objects, so that a rule exists only for
// something whose metrics can exist (a PodDisruptionBudget alert only where
// a budget is rendered, a volume alert only where a claim is).
type Runs map[string]*Running

// Running is what one component runs in a stamp.
type Running struct {
	// Workloads are its Deployments, StatefulSets and DaemonSets.
	Workloads []Workload
	// Apps are the app labels of its pods Prometheus scrapes (the up
	// series' app label).
	Apps []string
	// HPAs, PDBs and CronJobs name its autoscalers, disruption budgets and
	// CronJobs.
	HPAs, PDBs, CronJobs []string
	// Claims are the names its PersistentVolumeClaims match, as regular
	// expressions: a StatefulSet's claim templates give CLAIM-SET-ORDINAL.
	Claims []string
	// TLSHosts are the hosts its Ingresses serve over TLS.
	TLSHosts []string
}

// Workload is one long-running workload.
type Workload struct {
	Kind, Name string
}

// Add records a component's rendered objects.
func (r Runs) Add(component string, objs []*manifest.Object) {
	run := r[component]
	if run == nil {
		run = &Running{}
	}
	for _, o := range objs {
		switch kind, name := o.GetKind(), o.GetName(); kind {
		case "Deployment", "StatefulSet", "DaemonSet":
			run.Workloads = append(run.Workloads, Workload{Kind: kind, Name: name})
			annotations, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "annotations")
			labels, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
			if app := labels[AppLabel]; annotations[Scrape] == "true" && app != "" && !slices.Contains(run.Apps, app) {
				run.Apps = append(run.Apps, app)
			}
			if kind != "StatefulSet" {
				continue
			}
			templates, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumeClaimTemplates")
			for _, t := range templates {
				if claim, _, _ := unstructured.NestedString(asMap(t), "metadata", "name"); claim != "" {
					run.Claims = append(run.Claims, quote(claim+"-"+name)+"-[0-9]+")
				}
			}
		case "HorizontalPodAutoscaler":
			run.HPAs = append(run.HPAs, name)
		case "PodDisruptionBudget":
			run.PDBs = append(run.PDBs, name)
		case "CronJob":
			run.CronJobs = append(run.CronJobs, name)
		case "PersistentVolumeClaim":
			run.Claims = append(run.Claims, quote(name))
		case "Ingress":
			tls, _, _ := unstructured.NestedSlice(o.Object, "spec", "tls")
			for _, t := range tls {
				hosts, _, _ := unstructured.NestedStringSlice(asMap(t), "hosts")
				run.TLSHosts = append(run.TLSHosts, hosts...)
			}
		}
	}
	if len(run.Workloads)+len(run.CronJobs)+len(run.Claims)+len(run.TLSHosts) > 0 {
		r[component] = run
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
