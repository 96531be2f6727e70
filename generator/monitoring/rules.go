// Package monitoring generates what makes the platform observable from the
// environment spec: Prometheus alert rules for every component, the
// Alertmanager's routing, and Grafana dashboards. Thresholds come from
// spec.alerting where they differ per environment.
package monitoring

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/spec"
)

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []Group `json:"groups"`
}

// Group is a named group of rules.
type Group struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Rule is one alerting rule.
type Rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// Severities of the generated alerts.
const (
	Critical = "critical"
	Warning  = "warning"
)

// Metrics the in-house HealthService exposes (its contract with the
// alerts): whether the stamp should stay in rotation, and whether each
// backend it checks answers.
const (
	StampHealthyMetric = "libertum_stamp_healthy"
	DependencyUpMetric = "libertum_dependency_up"
)

// CertificateWarning is how long before a served certificate expires its
// alert fires: Key Vault renews at 80% of a one-year certificate's life (some
// 73 days before), so 30 days left means the renewal did not happen.
const (
	CertificateWarning     = 30 * 24 * time.Hour
	CertificateWarningText = "30 days"
)

// HealthServiceName is the component whose verdict decides whether a stamp
// stays in Front Door's rotation (seed 001).
const HealthServiceName = "healthservice"

type builder struct {
	env   *spec.Environment
	a     *spec.Alerting
	rules []Rule
}

func (b *builder) add(alert, component, severity, expr, forDur, summary, description string) {
	b.rules = append(b.rules, Rule{
		Alert: alert, Expr: expr, For: forDur,
		Labels: map[string]string{"severity": severity, "component": component},
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
			"runbook_url": strings.TrimRight(b.a.RunbookURL, "/") + "#" + strings.ToLower(alert),
		},
	})
}

// Rules returns a stamp's alert rules, one group per component, for what
// the stamp runs (runs, read from its rendered objects): every rule watches
// a series something in the stamp exports. Prometheus' external labels say
// which stamp fired. Nil without spec.alerting.
func Rules(env *spec.Environment, runs Runs) *RuleFile {
	a := env.Spec.Alerting
	if a == nil {
		return nil
	}
	file := &RuleFile{Groups: []Group{}}
	for _, name := range env.ComponentNames() {
		b := &builder{env: env, a: a}
		b.component(name, env.Spec.Components[name], runs)
		if len(b.rules) > 0 {
			file.Groups = append(file.Groups, Group{Name: env.Name() + "." + name, Rules: b.rules})
		}
	}
	return file
}

// RulesConfigMap names the ConfigMap the metrics collector (the component
// with scrapesMetrics) loads its alert rules from, and RulesKey its key.
func RulesConfigMap(component string) string { return component + "-rules" }

// RulesKey is the key of the rule file in RulesConfigMap.
const RulesKey = "alerts.yaml"

func (b *builder) component(name string, c spec.Component, runs Runs) {
	ns := c.Namespace
	sel := fmt.Sprintf(`namespace=%q`, ns)
	if health := runs[HealthServiceName]; c.External != nil && health != nil && len(health.Apps) > 0 {
		// On a VM outside the cluster: the HealthService checks it.
		b.add("BackendUnreachable", name, Critical,
			fmt.Sprintf(`%s{app=%q, dependency=%q} == 0`, DependencyUpMetric, HealthServiceName, name), "2m",
			fmt.Sprintf("%s on %s is unreachable", name, c.External.Host),
			fmt.Sprintf("The HealthService of stamp {{ $externalLabels.stamp }} cannot reach %s on the private VM %s: every component using it fails.", name, c.External.Host))
	}
	run := runs[name]
	if run == nil {
		return
	}
	if len(run.Apps) > 0 {
		b.add("TargetDown", name, Critical,
			fmt.Sprintf(`up{%s, %s} == 0`, sel, matcher("app", run.Apps)), "5m",
			fmt.Sprintf("%s is not answering scrapes", name),
			fmt.Sprintf("Prometheus cannot scrape {{ $labels.pod }} of %s in %s for 5 minutes.", name, ns))
	}
	if len(run.Workloads) > 0 {
		var pods []string
		for _, w := range run.Workloads {
			pods = append(pods, quote(w.Name)+"-.*")
		}
		b.add("ContainerRestarting", name, Warning,
			fmt.Sprintf(`increase(kube_pod_container_status_restarts_total{%s, %s}[15m]) >= %d`, sel, regexMatcher("pod", pods), b.a.RestartsPer15m), "",
			fmt.Sprintf("%s's containers keep restarting", name),
			fmt.Sprintf("Container {{ $labels.container }} of {{ $labels.pod }} restarted {{ $value }} times in 15 minutes (threshold %d).", b.a.RestartsPer15m))
		var notReady []string
		for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet"} {
			var names []string
			for _, w := range run.Workloads {
				if w.Kind == kind {
					names = append(names, w.Name)
				}
			}
			if len(names) == 0 {
				continue
			}
			m := sel + ", " + matcher(strings.ToLower(kind), names)
			notReady = append(notReady, fmt.Sprintf(map[string]string{
				"Deployment":  `(kube_deployment_status_replicas_available{%[1]s} < kube_deployment_spec_replicas{%[1]s})`,
				"StatefulSet": `(kube_statefulset_status_replicas_ready{%[1]s} < kube_statefulset_replicas{%[1]s})`,
				"DaemonSet":   `(kube_daemonset_status_number_ready{%[1]s} < kube_daemonset_status_desired_number_scheduled{%[1]s})`,
			}[kind], m))
		}
		b.add("ReplicasNotReady", name, Warning, strings.Join(notReady, " or "), "10m",
			fmt.Sprintf("%s runs fewer ready replicas than it wants", name),
			fmt.Sprintf("%s in %s has had only {{ $value }} ready replicas for 10 minutes.", name, ns))
	}
	if len(run.HPAs) > 0 {
		m := sel + ", " + matcher("horizontalpodautoscaler", run.HPAs)
		b.add("HPAAtMaximum", name, Warning,
			fmt.Sprintf(`kube_horizontalpodautoscaler_status_current_replicas{%[1]s} >= kube_horizontalpodautoscaler_spec_max_replicas{%[1]s}`, m), "15m",
			fmt.Sprintf("%s has run at its HPA maximum for 15 minutes", name),
			fmt.Sprintf("%s cannot scale further: the stamp is at the peak load it was sized for. Add capacity (spec.stamps[].capacity.peakRPS) or a stamp.", name))
	}
	if len(run.PDBs) > 0 {
		b.add("PDBNoDisruptionAllowed", name, Warning,
			fmt.Sprintf(`kube_poddisruptionbudget_status_pod_disruptions_allowed{%s, %s} == 0`, sel, matcher("poddisruptionbudget", run.PDBs)), "15m",
			fmt.Sprintf("%s's PodDisruptionBudget allows no disruption", name),
			fmt.Sprintf("Node drains and zone maintenance are blocked on %s: a replica is already down.", name))
	}
	if len(run.Claims) > 0 {
		vol := sel + ", " + regexMatcher("persistentvolumeclaim", run.Claims)
		b.add("VolumeFilling", name, Warning,
			fmt.Sprintf(`kubelet_volume_stats_used_bytes{%[1]s} / kubelet_volume_stats_capacity_bytes{%[1]s} > %g`, vol, b.a.VolumeUsage), "10m",
			fmt.Sprintf("a volume of %s is filling up", name),
			fmt.Sprintf("{{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full (threshold %g).", b.a.VolumeUsage))
	}
	if len(run.TLSHosts) > 0 {
		// The ingress controller exports each served certificate's expiry
		// (ingress-nginx's nginx_ingress_controller_ssl_expire_time_seconds,
		// labelled by host); Key Vault renews them well before this.
		b.add("CertificateExpiring", name, Warning,
			fmt.Sprintf(`nginx_ingress_controller_ssl_expire_time_seconds{%s} - time() < %d`, matcher("host", run.TLSHosts), int(CertificateWarning.Seconds())), "1h",
			fmt.Sprintf("a TLS certificate of %s expires within %s", name, CertificateWarningText),
			fmt.Sprintf("The certificate for {{ $labels.host }} ({{ $labels.secret_name }}) expires in {{ $value | humanizeDuration }}: Key Vault has not renewed it, or the CSI driver has not synced the renewal (docs/certificates.md)."))
	}
	if name == HealthServiceName && len(run.Apps) > 0 {
		b.add("StampUnhealthy", name, Critical,
			fmt.Sprintf(`%s{app=%q} == 0`, StampHealthyMetric, name), "2m",
			"the HealthService reports its stamp unhealthy",
			"Front Door takes stamp {{ $externalLabels.stamp }} out of rotation while its HealthService reports it unhealthy.")
	}
	maxAge, _ := time.ParseDuration(b.a.BackupMaxAge)
	for _, job := range slices.Sorted(slices.Values(run.CronJobs)) {
		// A CronJob that has never succeeded has no
		// kube_cronjob_status_last_successful_time at all, so the age of the
		// last success alone never sees it: once the CronJob is older than
		// the threshold (kube_cronjob_created) with no success, that is the
		// alert too. One rule for both (promtool refuses two alerts of one
		// name and labels). Both metrics are kube-state-metrics' own
		// (docs/metrics/workload/cronjob-metrics.md, v2.15.0).
		sel := fmt.Sprintf(`%s, cronjob=%q`, sel, job)
		b.add("BackupMissing", name, Critical,
			fmt.Sprintf(`(time() - kube_cronjob_status_last_successful_time{%[1]s} > %[2]d)`+
				` or (time() - kube_cronjob_created{%[1]s} > %[2]d unless on(namespace, cronjob) kube_cronjob_status_last_successful_time{%[1]s})`, sel, int(maxAge.Seconds())), "10m",
			fmt.Sprintf("%s has not succeeded for %s", job, b.a.BackupMaxAge),
			fmt.Sprintf("No successful run of %s for {{ $value | humanizeDuration }} (threshold %s): its last success is that old, or it has never succeeded since it was created.", job, b.a.BackupMaxAge))
	}
}

// matcher selects label values equal to one of names: label="a", or
// label=~"a|b" for several.
func matcher(label string, names []string) string {
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	if len(names) == 1 {
		return fmt.Sprintf("%s=%q", label, names[0])
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = quote(n)
	}
	return regexMatcher(label, quoted)
}

// regexMatcher selects label values matching one of the regular
// expressions.
func regexMatcher(label string, patterns []string) string {
	return fmt.Sprintf("%s=~%q", label, strings.Join(slices.Compact(slices.Sorted(slices.Values(patterns))), "|"))
}

// quote escapes a name for a regular expression.
func quote(name string) string { return regexp.QuoteMeta(name) }

// Encode renders a rule file as YAML.
func (f *RuleFile) Encode() ([]byte, error) { return yaml.Marshal(f) }

// AlertmanagerConfig routes alerts by severity to receivers whose webhook
// URLs the Alertmanager reads from files the CSI driver mounts from Key
// Vault; the configuration holds no endpoint.
func AlertmanagerConfig(env *spec.Environment, secretsDir string) ([]byte, error) {
	a := env.Spec.Alerting
	type webhook struct {
		URLFile      string `json:"url_file"`
		SendResolved bool   `json:"send_resolved"`
	}
	type receiver struct {
		Name     string    `json:"name"`
		Webhooks []webhook `json:"webhook_configs"`
	}
	type route struct {
		Receiver string   `json:"receiver,omitempty"`
		Matchers []string `json:"matchers,omitempty"`
		GroupBy  []string `json:"group_by,omitempty"`
		Routes   []route  `json:"routes,omitempty"`
	}
	cfg := struct {
		Route     route      `json:"route"`
		Receivers []receiver `json:"receivers"`
	}{}
	severities := make([]string, 0, len(a.Receivers))
	for sev := range a.Receivers {
		severities = append(severities, sev)
	}
	sort.Strings(severities)
	for _, sev := range severities {
		cfg.Receivers = append(cfg.Receivers, receiver{Name: sev, Webhooks: []webhook{{URLFile: secretsDir + "/" + a.Receivers[sev], SendResolved: true}}})
		cfg.Route.Routes = append(cfg.Route.Routes, route{Receiver: sev, Matchers: []string{fmt.Sprintf("severity=%q", sev)}})
	}
	// Anything without a known severity goes to the most urgent receiver.
	cfg.Route.Receiver = severities[0]
	if _, ok := a.Receivers[Critical]; ok {
		cfg.Route.Receiver = Critical
	}
	cfg.Route.GroupBy = []string{"alertname", "component", "stamp"}
	return yaml.Marshal(cfg)
}
