package monitoring

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/libertum/platform-gitops/generator/spec"
)

// Dashboard is the subset of Grafana's dashboard model the generator
// writes.
type Dashboard struct {
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Tags          []string `json:"tags"`
	SchemaVersion int      `json:"schemaVersion"`
	Time          struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Refresh string  `json:"refresh"`
	Panels  []Panel `json:"panels"`
}

// Panel is one time series panel.
type Panel struct {
	ID         int               `json:"id"`
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	GridPos    GridPos           `json:"gridPos"`
	Datasource map[string]string `json:"datasource"`
	Targets    []Target          `json:"targets"`
}

// GridPos places a panel.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Target is one PromQL query of a panel.
type Target struct {
	RefID        string `json:"refId"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat,omitempty"`
}

// Query is one panel's query, named for the dashboards tests.
type Query struct {
	Dashboard, Panel, Expr string
}

func (d *Dashboard) panel(title string, exprs ...[2]string) {
	n := len(d.Panels)
	p := Panel{ID: n + 1, Type: "timeseries", Title: title,
		GridPos:    GridPos{H: 8, W: 12, X: (n % 2) * 12, Y: (n / 2) * 8},
		Datasource: map[string]string{"type": "prometheus", "uid": "prometheus"}}
	for i, e := range exprs {
		p.Targets = append(p.Targets, Target{RefID: string(rune('A' + i)), Expr: e[0], LegendFormat: e[1]})
	}
	d.Panels = append(d.Panels, p)
}

func newDashboard(uid, title string, tags ...string) *Dashboard {
	d := &Dashboard{UID: uid, Title: title, Tags: append([]string{"libertum"}, tags...), SchemaVersion: 39, Refresh: "1m"}
	d.Time.From, d.Time.To = "now-6h", "now"
	return d
}

// inHouse reports whether every image of a component is built by CI.
func inHouse(c spec.Component) bool {
	for _, im := range c.Images {
		if !spec.InHouse(im.Name) {
			return false
		}
	}
	return len(c.Images) > 0 && c.External == nil
}

// Dashboards returns the environment's dashboards by file name: one per
// in-house service (request rate, errors, duration, saturation against its
// HPA), a stamp overview (capacity against the autoscaler maximum, zones)
// and the data tier with its backup.
func Dashboards(env *spec.Environment) map[string]*Dashboard {
	out := map[string]*Dashboard{}
	for _, name := range env.ComponentNames() {
		c := env.Spec.Components[name]
		if !inHouse(c) {
			continue
		}
		sel := fmt.Sprintf(`namespace=%q, app=%q`, c.Namespace, name)
		d := newDashboard("svc-"+name, "Service: "+name, "service")
		d.panel("Request rate", [2]string{fmt.Sprintf(`sum by (code) (rate(http_requests_total{%s}[5m]))`, sel), "{{code}}"})
		d.panel("Errors (5xx share)", [2]string{fmt.Sprintf(`sum(rate(http_requests_total{%[1]s, code=~"5.."}[5m])) / sum(rate(http_requests_total{%[1]s}[5m]))`, sel), "errors"})
		d.panel("Duration p50 / p95 / p99",
			[2]string{fmt.Sprintf(`histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{%s}[5m])))`, sel), "p50"},
			[2]string{fmt.Sprintf(`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{%s}[5m])))`, sel), "p95"},
			[2]string{fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{%s}[5m])))`, sel), "p99"})
		hpa := fmt.Sprintf(`namespace=%q, horizontalpodautoscaler=%q`, c.Namespace, name)
		d.panel("Saturation: replicas against the HPA",
			[2]string{fmt.Sprintf(`kube_horizontalpodautoscaler_status_current_replicas{%s}`, hpa), "current"},
			[2]string{fmt.Sprintf(`kube_horizontalpodautoscaler_spec_max_replicas{%s}`, hpa), "max"},
			[2]string{fmt.Sprintf(`sum(rate(container_cpu_usage_seconds_total{namespace=%q, pod=~%q}[5m]))`, c.Namespace, name+"-.*"), "cpu cores"})
		out["service-"+name+".json"] = d
	}
	o := newDashboard("stamp-overview", "Stamp overview", "stamp")
	o.panel("Nodes against the autoscaler maximum",
		[2]string{`count(kube_node_info)`, "nodes"},
		[2]string{fmt.Sprintf(`vector(%d)`, env.Spec.Cluster.Autoscaler.MaxNodes), "autoscaler max"})
	o.panel("CPU requested against allocatable",
		[2]string{`sum(kube_pod_container_resource_requests{resource="cpu"})`, "requested"},
		[2]string{`sum(kube_node_status_allocatable{resource="cpu"})`, "allocatable"})
	o.panel("Nodes per zone", [2]string{`count by (label_topology_kubernetes_io_zone) (kube_node_labels)`, "{{label_topology_kubernetes_io_zone}}"})
	o.panel("Pods not ready", [2]string{`sum by (namespace) (kube_pod_status_ready{condition="false"})`, "{{namespace}}"})
	if hs, ok := env.Spec.Components[HealthServiceName]; ok && hs.External == nil {
		o.panel("Stamp health (HealthService)", [2]string{StampHealthyMetric, "healthy"})
	}
	out["stamp-overview.json"] = o
	data := newDashboard("data-tier", "Data tier and backup", "data")
	// The data tier is what the HealthService checks.
	var ext, in []string
	for _, name := range slices.Sorted(slices.Values(env.Spec.Components[HealthServiceName].TalksTo)) {
		if c := env.Spec.Components[name]; c.External != nil {
			ext = append(ext, name)
		} else {
			in = append(in, name)
		}
	}
	if len(ext) > 0 {
		data.panel("Backends on the VM (HealthService checks)", [2]string{fmt.Sprintf(`%s{dependency=~%q}`, DependencyUpMetric, strings.Join(ext, "|")), "{{dependency}}"})
	}
	if len(in) > 0 {
		re := strings.Join(in, "|")
		data.panel("Ready replicas", [2]string{fmt.Sprintf(`kube_statefulset_status_replicas_ready{statefulset=~%q}`, re), "{{statefulset}}"})
		data.panel("Volume usage", [2]string{fmt.Sprintf(`kubelet_volume_stats_used_bytes{persistentvolumeclaim=~%q} / kubelet_volume_stats_capacity_bytes{persistentvolumeclaim=~%q}`, ".+-("+re+")-[0-9]+", ".+-("+re+")-[0-9]+"), "{{persistentvolumeclaim}}"})
	}
	data.panel("Hours since the last successful backup", [2]string{`(time() - kube_cronjob_status_last_successful_time{cronjob=~".*backup.*"}) / 3600`, "{{cronjob}}"})
	out["data-tier.json"] = data
	return out
}

// Encode renders a dashboard as indented JSON.
func (d *Dashboard) Encode() ([]byte, error) { return json.MarshalIndent(d, "", "  ") }
