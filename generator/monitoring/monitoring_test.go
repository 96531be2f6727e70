package monitoring

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

func env(t *testing.T, name string) *spec.Environment {
	t.Helper()
	e, err := workspace.Open(platformtest.Repo()).Environment(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// alerts indexes a rule file by component and alert name.
func alerts(f *RuleFile) map[string]map[string]Rule {
	out := map[string]map[string]Rule{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			c := r.Labels["component"]
			if out[c] == nil {
				out[c] = map[string]Rule{}
			}
			out[c][r.Alert] = r
		}
	}
	return out
}

// runsOf reads what one stamp of an environment runs from the committed
// render (render's golden test keeps it current).
func runsOf(t *testing.T, envName, stamp string) Runs {
	t.Helper()
	byComponent := map[string][]*manifest.Object{}
	for _, o := range platformtest.Rendered(t, platformtest.Repo(), envName) {
		if o.Stamp == stamp {
			byComponent[o.Component] = append(byComponent[o.Component], o.Object)
		}
	}
	runs := Runs{}
	for c, objs := range byComponent {
		runs.Add(c, objs)
	}
	return runs
}

// object builds a rendered object from YAML.
func object(t *testing.T, doc string) *manifest.Object {
	t.Helper()
	objs, err := manifest.Decode("test.yaml", []byte(doc))
	if err != nil || len(objs) != 1 {
		t.Fatalf("%v (%d objects)", err, len(objs))
	}
	return objs[0]
}

// TestRulesFollowWhatTheComponentRuns: each rule is generated only for
// what the component renders, on the series its objects export: no volume
// alert without a claim, no budget alert without a budget, no scrape
// alert for pods Prometheus does not scrape, and the replica alert on the
// workload's own kind and name.
func TestRulesFollowWhatTheComponentRuns(t *testing.T) {
	const (
		deployment = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: api}, spec: {template: {metadata: {labels: {app.kubernetes.io/name: api}}}}}`
		scraped    = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: api}, spec: {template: {metadata: {labels: {app.kubernetes.io/name: api}, annotations: {prometheus.io/scrape: "true"}}}}}`
		daemonSet  = `{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent}, spec: {template: {metadata: {labels: {app.kubernetes.io/name: agent}}}}}`
		stateful   = `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: api}, spec: {volumeClaimTemplates: [{metadata: {name: data}}]}}`
		pdb        = `{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: api-pdb}}`
		hpa        = `{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: api}}`
		cronJob    = `{apiVersion: batch/v1, kind: CronJob, metadata: {name: api-backup}}`
		ingress    = `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: api}, spec: {tls: [{secretName: api-tls, hosts: [api.one.example.com, api.example.com]}]}}`
	)
	e := env(t, "prod")
	for _, tc := range []struct {
		name    string
		objects []string
		want    map[string]string // alert -> a part of its expression
	}{
		{"nothing rendered", nil, map[string]string{}},
		{"a Deployment", []string{deployment}, map[string]string{
			"ContainerRestarting": `pod=~"api-.*"`,
			"ReplicasNotReady":    `kube_deployment_spec_replicas{namespace="libertum", deployment="api"}`,
		}},
		{"a scraped Deployment", []string{scraped}, map[string]string{
			"TargetDown":          `up{namespace="libertum", app="api"}`,
			"ContainerRestarting": `pod=~"api-.*"`,
			"ReplicasNotReady":    `deployment="api"`,
		}},
		{"a DaemonSet", []string{daemonSet}, map[string]string{
			"ContainerRestarting": `pod=~"agent-.*"`,
			"ReplicasNotReady":    `kube_daemonset_status_desired_number_scheduled{namespace="libertum", daemonset="agent"}`,
		}},
		{"a StatefulSet with claims", []string{stateful}, map[string]string{
			"ContainerRestarting": `pod=~"api-.*"`,
			"ReplicasNotReady":    `kube_statefulset_replicas{namespace="libertum", statefulset="api"}`,
			"VolumeFilling":       `persistentvolumeclaim=~"data-api-[0-9]+"`,
		}},
		{"a budget and an autoscaler", []string{deployment, pdb, hpa}, map[string]string{
			"ContainerRestarting":    `pod=~"api-.*"`,
			"ReplicasNotReady":       `deployment="api"`,
			"PDBNoDisruptionAllowed": `poddisruptionbudget="api-pdb"`,
			"HPAAtMaximum":           `horizontalpodautoscaler="api"`,
		}},
		{"two workloads", []string{deployment, daemonSet}, map[string]string{
			"ContainerRestarting": `pod=~"agent-.*|api-.*"`,
			"ReplicasNotReady":    `deployment="api"}) or (kube_daemonset_status_number_ready{namespace="libertum", daemonset="agent"}`,
		}},
		{"a CronJob", []string{cronJob}, map[string]string{
			"BackupMissing": `cronjob="api-backup"`,
		}},
		{"an Ingress with TLS", []string{ingress}, map[string]string{
			"CertificateExpiring": `nginx_ingress_controller_ssl_expire_time_seconds{host=~"api\\.example\\.com|api\\.one\\.example\\.com"} - time() < 2592000`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objs []*manifest.Object
			for _, d := range tc.objects {
				objs = append(objs, object(t, d))
			}
			runs := Runs{}
			runs.Add("api", objs)
			got := alerts(Rules(e, runs))["api"]
			if names, want := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(tc.want)); !slices.Equal(names, want) {
				t.Fatalf("alerts %v, want %v", names, want)
			}
			for a, part := range tc.want {
				if !strings.Contains(got[a].Expr, part) {
					t.Errorf("%s: %s, want it to hold %s", a, got[a].Expr, part)
				}
			}
		})
	}
}

// TestEveryAlertIsComplete: every alert of every stamp of the repo has a
// severity, a summary, a description and a runbook.
func TestEveryAlertIsComplete(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod"} {
		e := env(t, name)
		for _, st := range e.Spec.Stamps {
			for cname, rules := range alerts(Rules(e, runsOf(t, name, st.Name))) {
				for a, r := range rules {
					if r.Labels["severity"] != Critical && r.Labels["severity"] != Warning {
						t.Errorf("%s/%s %s: severity %q", name, cname, a, r.Labels["severity"])
					}
					for _, k := range []string{"summary", "description", "runbook_url"} {
						if r.Annotations[k] == "" {
							t.Errorf("%s/%s %s: no %s", name, cname, a, k)
						}
					}
					if !strings.HasSuffix(r.Annotations["runbook_url"], "#"+strings.ToLower(a)) {
						t.Errorf("%s/%s %s: runbook %s", name, cname, a, r.Annotations["runbook_url"])
					}
				}
			}
		}
	}
}

// TestPDBAlertsFollowTheRenderedPDBs: dev (one zone, HPA minimum 1) renders
// no PodDisruptionBudget, so it has no PDB alert; prod has one for api and
// none for promtail, a DaemonSet no budget covers.
func TestPDBAlertsFollowTheRenderedPDBs(t *testing.T) {
	if _, ok := alerts(Rules(env(t, "dev"), runsOf(t, "dev", "weu-1")))["api"]["PDBNoDisruptionAllowed"]; ok {
		t.Error("dev: a PDB alert for api, which renders no PDB there")
	}
	prod := alerts(Rules(env(t, "prod"), runsOf(t, "prod", "weu-1")))
	if _, ok := prod["api"]["PDBNoDisruptionAllowed"]; !ok {
		t.Error("prod: no PDB alert for api")
	}
	if _, ok := prod["promtail"]["PDBNoDisruptionAllowed"]; ok {
		t.Error("prod: a PDB alert for promtail, which renders no PDB")
	}
}

// TestThresholdsComeFromTheSpec: what differs per environment is read from
// spec.alerting.
func TestThresholdsComeFromTheSpec(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		e := env(t, name)
		a := e.Spec.Alerting
		r := alerts(Rules(e, runsOf(t, name, "weu-1")))
		if want := fmt.Sprintf(">= %d", a.RestartsPer15m); !strings.HasSuffix(r["api"]["ContainerRestarting"].Expr, want) {
			t.Errorf("%s: restarts expr %q, want %q", name, r["api"]["ContainerRestarting"].Expr, want)
		}
		if want := fmt.Sprintf("> %g", a.VolumeUsage); !strings.HasSuffix(r["prometheus"]["VolumeFilling"].Expr, want) {
			t.Errorf("%s: volume expr %q, want %q", name, r["prometheus"]["VolumeFilling"].Expr, want)
		}
	}
	if dev, prod := env(t, "dev").Spec.Alerting, env(t, "prod").Spec.Alerting; dev.RestartsPer15m == prod.RestartsPer15m {
		t.Error("dev and prod share every threshold: the test proves nothing")
	}
	if got := alerts(Rules(env(t, "prod"), runsOf(t, "prod", "weu-1")))["mongodb"]["BackupMissing"].Expr; strings.Count(got, "> 93600") != 2 {
		t.Errorf("backup alert %q, want 26h (93600s) from spec.alerting.backupMaxAge", got)
	}
}

// TestAlertmanagerRoutesBySeverityWithoutEndpoints: each severity has its
// receiver, whose URL is a file the CSI driver mounts; no URL is written.
func TestAlertmanagerRoutesBySeverityWithoutEndpoints(t *testing.T) {
	e := env(t, "prod")
	b, err := AlertmanagerConfig(e, "/mnt/secrets-store")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Route struct {
			Receiver string
			GroupBy  []string `json:"group_by"`
			Routes   []struct {
				Receiver string
				Matchers []string
			}
		}
		Receivers []struct {
			Name     string
			Webhooks []struct {
				URLFile      string `json:"url_file"`
				URL          string `json:"url"`
				SendResolved bool   `json:"send_resolved"`
			} `json:"webhook_configs"`
		}
	}
	if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if strings.Contains(string(b), "http") {
		t.Errorf("the configuration holds an endpoint:\n%s", b)
	}
	if cfg.Route.Receiver != Critical || len(cfg.Route.Routes) != len(e.Spec.Alerting.Receivers) {
		t.Errorf("route = %+v", cfg.Route)
	}
	for _, r := range cfg.Receivers {
		obj := e.Spec.Alerting.Receivers[r.Name]
		if len(r.Webhooks) != 1 || r.Webhooks[0].URLFile != "/mnt/secrets-store/"+obj || r.Webhooks[0].URL != "" {
			t.Errorf("receiver %s = %+v, want the Key Vault object %s as a file", r.Name, r.Webhooks, obj)
		}
	}
}

// TestDashboards: one per in-house service, a stamp overview and the data
// tier; every panel queries something; the model is JSON.
func TestDashboards(t *testing.T) {
	e := env(t, "staging")
	ds := Dashboards(e)
	var names []string
	for n := range ds {
		names = append(names, n)
	}
	for _, want := range []string{"service-api.json", "service-web.json", "service-tokenization.json", "service-healthservice.json", "stamp-overview.json", "data-tier.json"} {
		if !slices.Contains(names, want) {
			t.Errorf("no dashboard %s (have %v)", want, names)
		}
	}
	data := mustEncode(t, ds["data-tier.json"])
	for _, c := range []string{"kafka", "redis", "mongodb"} {
		if !strings.Contains(data, c) {
			t.Errorf("the data tier dashboard does not show %s", c)
		}
	}
	if slices.Contains(names, "service-kafka.json") {
		t.Error("a third-party component got a service dashboard")
	}
	for _, q := range queries(ds) {
		if strings.TrimSpace(q.Expr) == "" {
			t.Errorf("%s / %s: empty query", q.Dashboard, q.Panel)
		}
	}
	api := ds["service-api.json"]
	var titles []string
	for _, p := range api.Panels {
		titles = append(titles, p.Title)
	}
	if got := strings.Join(titles, "|"); !strings.Contains(got, "Request rate") || !strings.Contains(got, "Errors") || !strings.Contains(got, "Duration") || !strings.Contains(got, "HPA") {
		t.Errorf("api dashboard panels %q lack rate, errors, duration or saturation", got)
	}
	b, err := api.Encode()
	if err != nil || !json.Valid(b) {
		t.Errorf("dashboard does not encode as JSON: %v", err)
	}
	if !strings.Contains(mustEncode(t, ds["stamp-overview.json"]), fmt.Sprintf("vector(%d)", e.Spec.Cluster.Autoscaler.MaxNodes)) {
		t.Error("the stamp overview does not draw the autoscaler maximum")
	}
}

func mustEncode(t *testing.T, d *Dashboard) string {
	t.Helper()
	b, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// queries lists every dashboard query, for checking that they parse.
func queries(ds map[string]*Dashboard) []Query {
	var out []Query
	for _, name := range slices.Sorted(maps.Keys(ds)) {
		for _, p := range ds[name].Panels {
			for _, t := range p.Targets {
				out = append(out, Query{Dashboard: name, Panel: p.Title, Expr: t.Expr})
			}
		}
	}
	return out
}

// TestBackupMissingCoversANeverSucceededBackup: the backup's one
// BackupMissing rule fires on a last success too old, and on no success at
// all once the CronJob is older than the threshold (a series that does not
// exist has no age).
func TestBackupMissingCoversANeverSucceededBackup(t *testing.T) {
	var n int
	for _, g := range Rules(env(t, "prod"), runsOf(t, "prod", "weu-1")).Groups {
		for _, r := range g.Rules {
			if r.Alert != "BackupMissing" {
				continue
			}
			n++
			for _, part := range []string{
				`(time() - kube_cronjob_status_last_successful_time{namespace="data", cronjob="mongodb-backup"} > 93600)`,
				`or (time() - kube_cronjob_created{namespace="data", cronjob="mongodb-backup"} > 93600 unless on(namespace, cronjob) kube_cronjob_status_last_successful_time{namespace="data", cronjob="mongodb-backup"})`,
			} {
				if !strings.Contains(r.Expr, part) {
					t.Errorf("BackupMissing %q lacks %q", r.Expr, part)
				}
			}
		}
	}
	if n != 1 {
		t.Errorf("prod: %d BackupMissing rules, want one for mongodb-backup", n)
	}
}
