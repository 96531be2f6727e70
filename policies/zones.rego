# Zones: in environments with availability zones, every replicated
# workload survives the loss of one zone.
package libertum.zones

import data.libertum.lib

zones := data.environment.zones

zoned if count(zones) > 0

# replicas is the HPA minimum when an HPA scales the workload. The HPA named
# after the workload is looked up first; only a workload without one pays
# for a scan of the stamp's HPAs.
replicas(w) := m if {
	h := lib.lookup(w, "HorizontalPodAutoscaler", lib.namespace(w), w.metadata.name)
	lib.targets(h, w)
	m := object.get(h.spec, "minReplicas", 1)
} else := m if {
	some h in lib.objects_of(w, "HorizontalPodAutoscaler")
	lib.targets(h, w)
	m := object.get(h.spec, "minReplicas", 1)
} else := object.get(w, ["spec", "replicas"], 1)

deny contains lib.violation(
	"zones.replicas",
	sprintf("%s runs %d replicas (or HPA minimum) in an environment with %d zones", [input.kind, replicas(input), count(zones)]),
	"raise spec.components.<name>.replicas, or the stamp's baselineRPS so the HPA minimum covers every zone",
) if {
	zoned
	input.kind in {"Deployment", "StatefulSet"}
	replicas(input) < count(zones)
}

deny contains lib.violation(
	"zones.spread",
	sprintf("%s has no topologySpreadConstraint on topology.kubernetes.io/zone", [input.kind]),
	"the generator adds one for workloads it shapes; keep the workload named after its component, or add the constraint in the base",
) if {
	zoned
	input.kind in {"Deployment", "StatefulSet"}
	not has_zone_spread(input)
}

has_zone_spread(w) if {
	some c in object.get(lib.pod_spec(w), "topologySpreadConstraints", [])
	c.topologyKey == "topology.kubernetes.io/zone"
}

# A replicated workload spreads over nodes too: the loss of one node (a
# drain, a failed VM) takes one replica, not all of them on it.
deny contains lib.violation(
	"zones.node-spread",
	sprintf("%s runs %d replicas with no topologySpreadConstraint or pod anti-affinity on kubernetes.io/hostname", [input.kind, replicas(input)]),
	"the generator adds a hostname spread constraint for workloads it shapes; keep the workload named after its component, or add one in the base",
) if {
	input.kind in {"Deployment", "StatefulSet"}
	replicas(input) > 1
	not spreads_over_nodes(input)
}

spreads_over_nodes(w) if {
	some c in object.get(lib.pod_spec(w), "topologySpreadConstraints", [])
	c.topologyKey == "kubernetes.io/hostname"
}

spreads_over_nodes(w) if {
	anti := object.get(lib.pod_spec(w), ["affinity", "podAntiAffinity"], {})
	some term in array.concat(
		object.get(anti, "requiredDuringSchedulingIgnoredDuringExecution", []),
		[t.podAffinityTerm | some t in object.get(anti, "preferredDuringSchedulingIgnoredDuringExecution", [])],
	)
	term.topologyKey == "kubernetes.io/hostname"
}

deny contains lib.violation(
	"zones.pdb",
	sprintf("%s has no PodDisruptionBudget selecting its pods", [input.kind]),
	"the generator adds one for Deployments and StatefulSets; check the workload's selector",
) if {
	zoned
	input.kind in {"Deployment", "StatefulSet"}
	not has_pdb(input)
}

# has_pdb: the PDB named after the workload first, then any in the stamp.
has_pdb(w) if {
	p := lib.lookup(w, "PodDisruptionBudget", lib.namespace(w), w.metadata.name)
	lib.selects(p.spec.selector, lib.pod_labels(w))
} else if {
	some p in lib.objects_of(w, "PodDisruptionBudget")
	lib.namespace(p) == lib.namespace(w)
	lib.selects(p.spec.selector, lib.pod_labels(w))
}

allowed_zones := {sprintf("%s-%s", [data.environment.stamps[lib.stamp(input)].region, z]) | some z in zones}

# zone_values are the zones a pod's node affinity and node selector name.
zone_values contains v if {
	some term in lib.input_pod_spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms
	some e in term.matchExpressions
	e.key == "topology.kubernetes.io/zone"
	some v in e.values
}

zone_values contains v if {
	some pref in lib.input_pod_spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution
	some e in pref.preference.matchExpressions
	e.key == "topology.kubernetes.io/zone"
	some v in e.values
}

zone_values contains v if {
	v := lib.input_pod_spec.nodeSelector["topology.kubernetes.io/zone"]
}

deny contains lib.violation(
	"zones.affinity",
	sprintf("%s names zone %q, outside the environment's zones %v", [input.kind, z, sort(allowed_zones)]),
	"name only the stamp's zones (<region>-<zone> for each of spec.cluster.zones)",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some z in zone_values
	not z in allowed_zones
}

deny contains lib.violation(
	"zones.pdb-eviction",
	"PodDisruptionBudget does not set unhealthyPodEvictionPolicy: AlwaysAllow: a pod that never gets ready blocks every node drain",
	"set spec.unhealthyPodEvictionPolicy: AlwaysAllow (the generator does for the budgets it writes)",
) if {
	input.kind == "PodDisruptionBudget"
	object.get(input, ["spec", "unhealthyPodEvictionPolicy"], "") != "AlwaysAllow"
}
