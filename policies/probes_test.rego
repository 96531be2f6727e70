package libertum.probes_test

import data.libertum.fixtures as f
import data.libertum.probes

deny_rules(obj) := r if {
	r := f.rules(probes.deny) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

test_pass if {
	count(deny_rules(f.deployment)) == 0

	# Jobs run to completion: no probes needed.
	count(deny_rules(json.remove(f.backup, ["spec/jobTemplate/spec/template/spec/containers/0/readinessProbe"]))) == 0
}

test_readiness_fail if "probes.readiness" in deny_rules(json.remove(f.deployment, ["spec/template/spec/containers/0/readinessProbe"]))

test_liveness_fail if "probes.liveness" in deny_rules(json.remove(f.deployment, ["spec/template/spec/containers/0/livenessProbe"]))

test_named_port_declared_pass if {
	named := json.patch(f.deployment, [
		{"op": "add", "path": "/spec/template/spec/containers/0/ports", "value": [{"name": "http", "containerPort": 8080}]},
		{"op": "replace", "path": "/spec/template/spec/containers/0/livenessProbe/httpGet/port", "value": "http"},
	])
	not "probes.port" in deny_rules(named)
}

test_named_port_of_another_container_fail if {
	sidecar := json.patch(f.deployment, [
		{"op": "add", "path": "/spec/template/spec/containers/0/ports", "value": [{"name": "http", "containerPort": 8080}]},
		{"op": "add", "path": "/spec/template/spec/containers/1", "value": {
			"name": "sidecar",
			"readinessProbe": {"exec": {"command": ["true"]}},
			"livenessProbe": {"tcpSocket": {"port": "http"}},
		}},
	])
	"probes.port" in deny_rules(sidecar)
}
