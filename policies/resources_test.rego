package libertum.resources_test

import data.libertum.fixtures as f
import data.libertum.lib
import data.libertum.resources

deny_rules(obj) := r if {
	r := f.rules(resources.deny) with input as obj with data.environment as f.env with data.rendered as f.rendered with data.summaries as summarized(f.objects)
}

# summarized is data.summaries for objs, as the check builds it: each
# object's summary (package resources') with objs as data.rendered.
summarized(objs) := {s: {k: {key: {"resources": v} |
	some o in objs
	lib.stamp(o) == s
	o.kind == k
	key := concat("/", [lib.namespace(o), o.metadata.name])
	v := resources.summary with input as o with data.rendered as lib.index(objs)
} |
	some k in {o.kind | some o in objs; lib.stamp(o) == s}
} |
	some s in {lib.stamp(o) | some o in objs}
}

# capacity_deny is what the namespace f.namespace is denied in a stamp of
# objs, with env as data.environment.
capacity_deny(env, objs) := d if {
	d := resources.deny with input as f.namespace
		with data.environment as env
		with data.rendered as lib.index(objs)
		with data.summaries as summarized(objs)
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
	violations := capacity_deny(f.env, [f.deployment, big, f.namespace])
	"resources.stamp-capacity" in f.rules(violations)
}

test_stamp_capacity_counts_fixed_replicas if {
	# 60 fixed replicas x 100m of a workload no HPA scales: 6 CPUs on 3 nodes x 1.9 CPUs.
	fixed := json.patch(f.db, [{"op": "replace", "path": "/spec/replicas", "value": 60}])
	violations := capacity_deny(f.env, [fixed, f.namespace])
	"resources.stamp-capacity" in f.rules(violations)
}

test_stamp_capacity_counts_daemonsets if {
	# A DaemonSet runs on every node the autoscaler may add: 3 x 1.5 CPUs,
	# plus the api's HPA at 6 x 250m, is more than 3 nodes x 1.9 CPUs.
	ds := json.patch(f.deployment, [
		{"op": "replace", "path": "/kind", "value": "DaemonSet"},
		{"op": "replace", "path": "/metadata/name", "value": "agent"},
		{"op": "remove", "path": "/spec/replicas"},
		{"op": "replace", "path": "/spec/template/spec/containers/0/resources/requests/cpu", "value": "1500m"},
	])
	without := capacity_deny(f.env, [f.deployment, f.hpa, f.namespace])
	not "resources.stamp-capacity" in f.rules(without)
	violations := capacity_deny(f.env, [f.deployment, f.hpa, ds, f.namespace])
	"resources.stamp-capacity" in f.rules(violations)
}

test_stamp_capacity_says_cores_and_points_at_the_autoscaler if {
	fixed := json.patch(f.db, [{"op": "replace", "path": "/spec/replicas", "value": 60}])
	env := json.patch(f.env, [{"op": "add", "path": "/autoscaler/source", "value": "environments/prod.yaml:20"}])
	some v in capacity_deny(env, [fixed, f.namespace])
	v.rule == "resources.stamp-capacity"
	contains(v.msg, "cores")
	v.source == "environments/prod.yaml:20"
}

test_stamp_capacity_names_the_failover_and_the_shortfall if {
	# 30 pods x 250m = 7.5 CPUs on 3 nodes x 1.9 = 5.7 CPUs: 1.8 short,
	# sized for stamp one's share with stamp two out.
	big := json.patch(f.hpa, [{"op": "replace", "path": "/spec/maxReplicas", "value": 30}])
	env := json.patch(f.env, [{"op": "add", "path": "/stamps/one/failoverFrom", "value": "two"}])
	some v in capacity_deny(env, [f.deployment, big, f.namespace])
	v.rule == "resources.stamp-capacity"
	contains(v.msg, "with two out (failover")
	contains(v.msg, "1.8 cores short")
}

test_summary_of_each_workload_kind if {
	s := resources.summary with input as f.hpa with data.rendered as f.rendered
	s.scales == "Deployment/app/api"
	s.peak.cpu == 6 * 0.25
	d := resources.summary with input as f.deployment with data.rendered as f.rendered
	d.workload == "Deployment/app/api"
	d.fixed.cpu == f.deployment.spec.replicas * 0.25
	ds := resources.summary with input as json.patch(f.deployment, [{"op": "replace", "path": "/kind", "value": "DaemonSet"}])
	ds.perNode.cpu == 0.25
	not resources.summary with input as f.namespace
}

test_summary_of_an_hpa_without_its_target_only_names_what_it_scales if {
	s := resources.summary with input as f.hpa with data.rendered as lib.index([f.hpa])
	s == {"scales": "Deployment/app/api"}
}

test_stamp_capacity_at_peak_without_a_failover if {
	big := json.patch(f.hpa, [{"op": "replace", "path": "/spec/maxReplicas", "value": 30}])
	some v in capacity_deny(f.env, [f.deployment, big, f.namespace])
	v.rule == "resources.stamp-capacity"
	contains(v.msg, ": at peak its workloads")
}

guards(ns) := [
	{"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": ns, "namespace": ns, "labels": f.labels(ns)}, "spec": {"hard": {"pods": "10"}}},
	{"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": ns, "namespace": ns, "labels": f.labels(ns)}, "spec": {"limits": [{"type": "Container"}]}},
]

test_namespace_guards_pass if {
	not "resources.namespace-guards" in f.rules(capacity_deny(f.env, array.concat([f.db, f.namespace], guards("data"))))
}

test_namespace_guards_fail if {
	"resources.namespace-guards" in f.rules(capacity_deny(f.env, [f.db, f.namespace, guards("data")[1]]))
}

test_namespace_guards_of_a_job_fail if {
	job := {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "data", "labels": f.labels("db")}, "spec": {"template": f.db.spec.template}}
	"resources.namespace-guards" in f.rules(capacity_deny(f.env, [job, f.namespace]))
}

test_namespace_without_pods_needs_no_guards if {
	v := capacity_deny(f.env, [f.namespace])
	not "resources.namespace-guards" in f.rules(v)
}

with_scratch(obj, volume, requests) := json.patch(obj, [
	{"op": "add", "path": "/spec/template/spec/volumes", "value": [volume]},
	{"op": "add", "path": "/spec/template/spec/containers/0/resources/requests/ephemeral-storage", "value": requests},
])

test_ephemeral_storage_pass if {
	ok := with_scratch(f.deployment, {"name": "work", "emptyDir": {"sizeLimit": "10Gi"}}, "10Gi")
	not "resources.ephemeral-storage" in deny_rules(ok)
	small := with_scratch(f.deployment, {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}, "0")
	not "resources.ephemeral-storage" in deny_rules(small)
	memory := with_scratch(f.deployment, {"name": "shm", "emptyDir": {"medium": "Memory"}}, "0")
	not "resources.ephemeral-storage" in deny_rules(memory)
}

test_ephemeral_storage_unbounded_fail if {
	"resources.ephemeral-storage" in deny_rules(with_scratch(f.deployment, {"name": "cache", "emptyDir": {}}, "1Gi"))
}

test_ephemeral_storage_large_unrequested_fail if {
	"resources.ephemeral-storage" in deny_rules(with_scratch(f.deployment, {"name": "work", "emptyDir": {"sizeLimit": "10Gi"}}, "1Gi"))
}
