package libertum.scaling_test

import data.libertum.fixtures as f
import data.libertum.lib
import data.libertum.scaling

deny_rules(obj, rendered) := r if {
	r := f.rules(scaling.deny) with input as obj with data.environment as f.env with data.rendered as rendered
}

unscaled := json.patch(f.deployment, [{"op": "remove", "path": "/spec/replicas"}])

test_hpa_replicas_pass if not "scaling.hpa-replicas" in deny_rules(unscaled, lib.index([unscaled, f.hpa]))

test_hpa_replicas_fail if "scaling.hpa-replicas" in deny_rules(f.deployment, lib.index([f.deployment, f.hpa]))

test_hpa_replicas_without_hpa_pass if not "scaling.hpa-replicas" in deny_rules(f.deployment, lib.index([f.deployment]))

test_hpa_replicas_found_by_scan if {
	renamed := json.patch(f.hpa, [{"op": "replace", "path": "/metadata/name", "value": "api-autoscaler"}])
	"scaling.hpa-replicas" in deny_rules(f.deployment, lib.index([f.deployment, renamed]))
}

warn_rules(obj) := r if {
	r := f.rules(scaling.warn) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

test_fixed_hpa_pass if not "scaling.fixed-hpa" in warn_rules(f.hpa)

test_fixed_hpa_warn if "scaling.fixed-hpa" in warn_rules(json.patch(f.hpa, [{"op": "replace", "path": "/spec/minReplicas", "value": 6}]))
