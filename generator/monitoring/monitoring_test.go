package monitoring

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

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

// TestEveryComponentHasItsAlerts: the alerts each kind of component needs,
// in every environment of the repo, each with a severity, a summary, a
// description and a runbook.
func TestEveryComponentHasItsAlerts(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod"} {
		e := env(t, name)
		byComp := alerts(Rules(e))
		for _, cname := range e.ComponentNames() {
			c := e.Spec.Components[cname]
			var want []string
			if c.External != nil {
				want = append(want, "BackendUnreachable")
			} else {
				want = append(want, "TargetDown", "ContainerRestarting", "ReplicasNotReady", "VolumeFilling")
				if c.Scaling != nil {
					want = append(want, "HPAAtMaximum")
				}
				if replicated(e, c) {
					want = append(want, "PDBNoDisruptionAllowed")
				} else if _, ok := byComp[cname]["PDBNoDisruptionAllowed"]; ok {
					t.Errorf("%s/%s: a PDB alert for a component the generator gives no PDB", name, cname)
				}
				if cname == HealthServiceName {
					want = append(want, "StampUnhealthy")
				}
			}
			if len(c.Jobs) > 0 {
				want = append(want, "BackupMissing")
			}
			for _, a := range want {
				r, ok := byComp[cname][a]
				if !ok {
					t.Errorf("%s/%s: no %s alert", name, cname, a)
					continue
				}
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

// TestPDBAlertsFollowTheRenderedPDBs: dev (one zone, HPA minimum 1) renders
// no PodDisruptionBudget, so it has no PDB alert; prod has both.
func TestPDBAlertsFollowTheRenderedPDBs(t *testing.T) {
	if _, ok := alerts(Rules(env(t, "dev")))["api"]["PDBNoDisruptionAllowed"]; ok {
		t.Error("dev: a PDB alert for api, which renders no PDB there")
	}
	if _, ok := alerts(Rules(env(t, "prod")))["api"]["PDBNoDisruptionAllowed"]; !ok {
		t.Error("prod: no PDB alert for api")
	}
}

// TestThresholdsComeFromTheSpec: what differs per environment is read from
// spec.alerting.
func TestThresholdsComeFromTheSpec(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		e := env(t, name)
		a := e.Spec.Alerting
		r := alerts(Rules(e))["api"]
		if want := fmt.Sprintf(">= %d", a.RestartsPer15m); !strings.HasSuffix(r["ContainerRestarting"].Expr, want) {
			t.Errorf("%s: restarts expr %q, want %q", name, r["ContainerRestarting"].Expr, want)
		}
		if want := fmt.Sprintf("> %g", a.VolumeUsage); !strings.HasSuffix(r["VolumeFilling"].Expr, want) {
			t.Errorf("%s: volume expr %q, want %q", name, r["VolumeFilling"].Expr, want)
		}
	}
	if dev, prod := env(t, "dev").Spec.Alerting, env(t, "prod").Spec.Alerting; dev.RestartsPer15m == prod.RestartsPer15m {
		t.Error("dev and prod share every threshold: the test proves nothing")
	}
	if got := alerts(Rules(env(t, "prod")))["mongodb"]["BackupMissing"].Expr; strings.Count(got, "> 93600") != 2 {
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
	for _, g := range Rules(env(t, "prod")).Groups {
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
