package libertum.resources_test

import data.libertum.fixtures as f
import data.libertum.lib
import data.libertum.resources

deny_rules(obj) := r if {
	r := f.rules(resources.deny) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

test_requests_pass if not "resources.requests" in deny_rules(f.deployment)

test_requests_fail if {
	bad := json.remove(f.deployment, ["spec/template/spec/containers/0/resources/requests/cpu"])
	"resources.requests" in deny_rules(bad)
}

test_requests_fail_init_container if {
	bad := json.patch(f.deployment, [{"op": "add", "path": "/spec/template/spec/initContainers", "value": [{"name": "init", "image": "x"}]}])
	"resources.requests" in deny_rules(bad)
}

test_memory_limit_pass if not "resources.memory-limit" in deny_rules(f.deployment)

test_memory_limit_fail if {
	bad := json.remove(f.deployment, ["spec/template/spec/containers/0/resources/limits"])
	"resources.memory-limit" in deny_rules(bad)
}

test_pod_fits_node_pass if not "resources.pod-fits-node" in deny_rules(f.deployment)

test_pod_fits_node_fail if {
	bad := json.patch(f.deployment, [{"op": "replace", "path": "/spec/template/spec/containers/0/resources/requests/memory", "value": "6Gi"}])
	"resources.pod-fits-node" in deny_rules(bad)
}

test_stamp_capacity_pass if not "resources.stamp-capacity" in deny_rules(f.namespace)

test_stamp_capacity_fail if {
	# 30 pods x 250m = 7.5 CPUs on 3 nodes x 1.9 CPUs.
	big := json.patch(f.hpa, [{"op": "replace", "path": "/spec/maxReplicas", "value": 30}])
	violations := resources.deny with input as f.namespace with data.environment as f.env with data.rendered as lib.index([f.deployment, big, f.namespace])
	"resources.stamp-capacity" in f.rules(violations)
}
