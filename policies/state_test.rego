package libertum.state_test

import data.libertum.fixtures as f
import data.libertum.state

statefulset(component, claims) := {
	"apiVersion": "apps/v1",
	"kind": "StatefulSet",
	"metadata": {"name": component, "namespace": "data", "labels": f.labels(component)},
	"spec": {"volumeClaimTemplates": [{"metadata": {"name": c}} | some c in claims]},
}

claim(component) := {
	"apiVersion": "v1",
	"kind": "PersistentVolumeClaim",
	"metadata": {"name": concat("-", [component, "data"]), "namespace": "data", "labels": f.labels(component)},
}

stateful_env := json.patch(f.env, [{"op": "add", "path": "/components/db/state", "value": "dev's own database: disposable"}])

deny_rules(obj, env) := r if {
	r := f.rules(state.deny) with input as obj with data.environment as env
}

test_state_pass_justified if count(deny_rules(statefulset("db", ["data"]), stateful_env)) == 0

test_state_pass_no_volume if count(deny_rules(statefulset("api", []), f.env)) == 0

test_state_fail_statefulset if {
	v := state.deny with input as statefulset("db", ["data"]) with data.environment as f.env
	some d in v
	d.rule == "state.pvc"
	contains(d.msg, "db keeps data on a PersistentVolume in the stamp")
}

test_state_fail_claim if "state.pvc" in deny_rules(claim("db"), f.env)

test_state_pass_claim_justified if count(deny_rules(claim("db"), stateful_env)) == 0

write_url := "https://dce-weu.westeurope-1.metrics.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Microsoft-PrometheusMetrics/api/v1/write"

metrics_env := json.patch(f.env, [
	{"op": "add", "path": "/components/prometheus", "value": {"tier": "private", "namespace": "monitoring", "consumers": [], "scrapesMetrics": true}},
	{"op": "add", "path": "/regions/westeurope/metricsWrite", "value": write_url},
])

prometheus_config(text) := {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": "prometheus-config", "namespace": "monitoring", "labels": f.labels("prometheus")},
	"data": {"prometheus.yml": text},
}

test_metrics_remote_write_pass if {
	count(deny_rules(prometheus_config(sprintf("remote_write:\n  - url: %s\n", [write_url])), metrics_env)) == 0
}

test_metrics_remote_write_fail_missing if {
	"state.metrics-remote-write" in deny_rules(prometheus_config("global: {}\n"), metrics_env)
}

# Another region's workspace is no home for this stamp's metrics.
test_metrics_remote_write_fail_other_region if {
	other := replace(write_url, "westeurope", "northeurope")
	"state.metrics-remote-write" in deny_rules(prometheus_config(sprintf("remote_write:\n  - url: %s\n", [other])), metrics_env)
}

test_metrics_remote_write_quiet_without_workspace if {
	count(deny_rules(prometheus_config("global: {}\n"), f.env)) == 0
}
