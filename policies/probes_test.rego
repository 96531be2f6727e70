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
