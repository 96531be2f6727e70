package libertum.zones_test

import data.libertum.fixtures as f
import data.libertum.lib
import data.libertum.zones

deny_rules(obj) := r if {
	r := f.rules(zones.deny) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

test_replicas_pass if not "zones.replicas" in deny_rules(f.db)

test_replicas_fail if {
	bad := json.patch(f.db, [{"op": "replace", "path": "/spec/replicas", "value": 2}])
	"zones.replicas" in deny_rules(bad)
}

test_replicas_uses_hpa_minimum if {
	# The deployment says 1 replica, but its HPA keeps 3.
	one := json.patch(f.deployment, [{"op": "replace", "path": "/spec/replicas", "value": 1}])
	not "zones.replicas" in deny_rules(one)
	low := json.patch(f.hpa, [{"op": "replace", "path": "/spec/minReplicas", "value": 2}])
	v := zones.deny with input as one with data.environment as f.env with data.rendered as lib.index([one, low, f.pdb("api", "app")])
	"zones.replicas" in f.rules(v)
}

test_single_zone_environment_is_exempt if {
	bad := json.patch(f.db, [{"op": "replace", "path": "/spec/replicas", "value": 1}])
	v := zones.deny with input as bad with data.environment as object.union(f.env, {"zones": []}) with data.rendered as f.rendered
	not "zones.replicas" in f.rules(v)
}

test_spread_pass if not "zones.spread" in deny_rules(f.deployment)

test_spread_fail if {
	bad := json.remove(f.deployment, ["spec/template/spec/topologySpreadConstraints"])
	"zones.spread" in deny_rules(bad)
}

test_pdb_pass if not "zones.pdb" in deny_rules(f.deployment)

test_pdb_fail if {
	v := zones.deny with input as f.deployment with data.environment as f.env with data.rendered as lib.index([f.deployment])
	"zones.pdb" in f.rules(v)
}

test_affinity_pass if not "zones.affinity" in deny_rules(f.deployment)

test_affinity_fail if {
	bad := json.patch(f.deployment, [{"op": "replace", "path": "/spec/template/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchExpressions/0/values", "value": ["westeurope-1", "northeurope-1"]}])
	"zones.affinity" in deny_rules(bad)
}

test_affinity_fail_node_selector if {
	bad := json.patch(f.deployment, [{"op": "add", "path": "/spec/template/spec/nodeSelector", "value": {"topology.kubernetes.io/zone": "westeurope-4"}}])
	"zones.affinity" in deny_rules(bad)
}

# An HPA or PDB not named after its workload is still found (the lookup by
# name is only the fast path).
test_replicas_uses_hpa_with_another_name if {
	one := json.patch(f.deployment, [{"op": "replace", "path": "/spec/replicas", "value": 1}])
	renamed := json.patch(f.hpa, [{"op": "replace", "path": "/metadata/name", "value": "api-autoscaler"}])
	pdb := f.pdb("api", "app")
	v := zones.deny with input as one with data.environment as f.env with data.rendered as lib.index([one, renamed, pdb])
	not "zones.replicas" in f.rules(v)
}

test_pdb_with_another_name_pass if {
	renamed := json.patch(f.pdb("api", "app"), [{"op": "replace", "path": "/metadata/name", "value": "api-budget"}])
	v := zones.deny with input as f.deployment with data.environment as f.env with data.rendered as lib.index([f.deployment, f.hpa, renamed])
	not "zones.pdb" in f.rules(v)
}

test_pdb_in_another_namespace_fail if {
	elsewhere := json.patch(f.pdb("api", "app"), [{"op": "replace", "path": "/metadata/namespace", "value": "other"}])
	v := zones.deny with input as f.deployment with data.environment as f.env with data.rendered as lib.index([f.deployment, f.hpa, elsewhere])
	"zones.pdb" in f.rules(v)
}

test_pdb_eviction_pass if not "zones.pdb-eviction" in deny_rules(f.pdb("api", "app"))

test_pdb_eviction_fail if "zones.pdb-eviction" in deny_rules(json.remove(f.pdb("api", "app"), ["spec/unhealthyPodEvictionPolicy"]))

test_node_spread_pass if not "zones.node-spread" in deny_rules(f.deployment)

test_node_spread_fail if {
	bad := json.patch(f.deployment, [{"op": "remove", "path": "/spec/template/spec/topologySpreadConstraints/1"}])
	"zones.node-spread" in deny_rules(bad)
}

test_node_spread_by_anti_affinity if {
	anti := json.patch(f.deployment, [
		{"op": "remove", "path": "/spec/template/spec/topologySpreadConstraints/1"},
		{"op": "add", "path": "/spec/template/spec/affinity/podAntiAffinity", "value": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}}}]}},
	])
	not "zones.node-spread" in deny_rules(anti)
}

test_node_spread_one_replica_is_exempt if {
	one := json.patch(f.db, [
		{"op": "replace", "path": "/spec/replicas", "value": 1},
		{"op": "remove", "path": "/spec/template/spec/topologySpreadConstraints/1"},
	])
	not "zones.node-spread" in deny_rules(one)
}
