# Resource limits: every container states what it needs, every pod fits a
# node, and a stamp's autoscalers at their maximum fit its node pool.
package libertum.resources

import data.libertum.lib

deny contains lib.violation(
	"resources.requests",
	sprintf("container %q has no %s request", [c.name, r]),
	"set resources.requests.cpu and .memory (spec.components.<name>.resources for the main container; the base or chart for others)",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	some r in ["cpu", "memory"]
	not c.resources.requests[r]
}

deny contains lib.violation(
	"resources.memory-limit",
	sprintf("container %q has no memory limit", [c.name]),
	"set resources.limits.memory so one pod cannot exhaust a node",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	not c.resources.limits.memory
}

deny contains lib.violation(
	"resources.pod-fits-node",
	sprintf("the pod requests %v of %s but a %s node has %v allocatable", [need, r, data.environment.node.size, have]),
	"lower the requests or choose a larger node size in spec.cluster.node",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some r in ["cpu", "memory"]
	need := lib.pod_request(input, r)
	have := lib.quantity(data.environment.node.allocatable[r])
	need > have
}

# peak is what every workload of the stamp requests of resource r at once,
# at the most load it takes: scaled workloads at their HPA maximum (sized
# for the stamp's failover share where it has one), other Deployments and
# StatefulSets at their replicas, DaemonSets on every node the autoscaler
# may add, CronJobs' pods at their parallelism. It sums the stamp's
# summaries (below), not its workloads: the check keeps each object's
# summary by content, so a change to one workload summarizes that one
# again, and this rule adds a few numbers per workload.
peak(obj, r) := sum([
	sum([s.peak[r] | some s in capacity(obj); s.peak]),
	sum([s.fixed[r] | targets := scaled(obj); some s in capacity(obj); s.fixed; not s.workload in targets]),
	data.environment.autoscaler.maxNodes * sum([s.perNode[r] | some s in capacity(obj); s.perNode]),
])

# capacity lists the summaries (package resources') of obj's stamp.
capacity(obj) := [s.resources | some byName in lib.summaries_of(obj); some s in byName; s.resources]

# scaled are the workloads an HPA of the stamp scales, as kind/namespace/name.
scaled(obj) := {s.scales | some s in capacity(obj); s.scales}

workload_ref(kind, ns, name) := concat("/", [kind, ns, name])

# pods is what n of w's pods request, per resource.
pods(w, n) := {r: q |
	some r in ["cpu", "memory"]
	q := n * lib.pod_request(w, r)
}

# summary is what one object adds to its stamp's peak, per resource: an
# HPA its maximum replicas of its target's pods (and which workload it
# scales, whose own replicas then do not count), a Deployment or
# StatefulSet its replicas' pods, a DaemonSet its pod per node, a CronJob
# its parallel pods.
summary := {"scales": ref, "peak": pods(lib.target(input), input.spec.maxReplicas)} if {
	input.kind == "HorizontalPodAutoscaler"
	ref := workload_ref(input.spec.scaleTargetRef.kind, lib.namespace(input), input.spec.scaleTargetRef.name)
	lib.target(input)
} else := {"scales": ref} if {
	input.kind == "HorizontalPodAutoscaler"
	ref := workload_ref(input.spec.scaleTargetRef.kind, lib.namespace(input), input.spec.scaleTargetRef.name)
}

summary := {
	"workload": workload_ref(input.kind, lib.namespace(input), input.metadata.name),
	"fixed": pods(input, object.get(input, ["spec", "replicas"], 1)),
} if {
	input.kind in {"Deployment", "StatefulSet"}
}

summary := {"perNode": pods(input, 1)} if {
	input.kind == "DaemonSet"
}

summary := {"peak": pods(input, object.get(input, ["spec", "jobTemplate", "spec", "parallelism"], 1))} if {
	input.kind == "CronJob"
}

# amount says a quantity of resource r the way people size nodes.
amount("cpu", q) := sprintf("%.1f cores", [q])

amount("memory", q) := sprintf("%.1f GiB", [q / 1073741824])

# when says which load the autoscalers' maxima are sized for: the stamp's
# own peak, or (N-1, behind Front Door) its share of the environment's
# traffic with the stamp whose loss loads it most out.
when(st) := sprintf("with %s out (failover: Front Door sends it %s's share of the traffic)", [from, from]) if {
	from := object.get(data.environment.stamps[st], "failoverFrom", "")
	from != ""
} else := "at peak"

deny contains lib.stamp_violation_at(
	"resources.stamp-capacity",
	sprintf("stamp %s: %s its workloads request %s of %s (autoscalers at their maximum, fixed replicas, DaemonSets on every node, CronJobs), more than %d nodes x %s allocatable = %s: %s short", [lib.stamp(input), when(lib.stamp(input)), amount(r, need), r, data.environment.autoscaler.maxNodes, amount(r, per_node), amount(r, budget), amount(r, need - budget)]),
	"raise spec.cluster.autoscaler.maxNodes, or lower replicas, HPA maxima (stamp capacity.peakRPS, the origins' weights) or requests",
	object.get(data.environment.autoscaler, "source", ""),
) if {
	input.kind == "Namespace"
	lib.anchor(input)
	some r in ["cpu", "memory"]
	need := peak(input, r)
	per_node := lib.quantity(data.environment.node.allocatable[r])
	budget := data.environment.autoscaler.maxNodes * per_node
	need > budget
}

# Every namespace that runs pods has a ResourceQuota (one runaway workload
# cannot take the stamp's nodes from the others) and a LimitRange (no
# container asks for more than a node). Whether the quota admits the
# namespace's pods at failover is judged in Go (resources.quota-size,
# generator/quota), from the same count the render sizes it with.
deny contains lib.violation(
	"resources.namespace-guards",
	sprintf("namespace %q runs pods but has no %s", [input.metadata.name, kind]),
	"the render adds a ResourceQuota and a LimitRange to every namespace that runs pods (the namespaces unit)",
) if {
	input.kind == "Namespace"
	runs_pods(input)
	some kind in ["ResourceQuota", "LimitRange"]
	not guarded(input, kind)
}

# runs_pods(ns): a workload of the stamp lives in namespace ns. Every
# Deployment, StatefulSet, DaemonSet and CronJob has a summary (summary,
# above), found by its key, "namespace/name": reading the workloads
# themselves tied each Namespace's verdict to every workload's bytes, and
# converted every one of them (1,000 Deployments a stamp at 1,000
# services) to find one.
runs_pods(ns) if {
	some kind in ["Deployment", "StatefulSet", "DaemonSet", "CronJob"]
	some key, _ in lib.summaries_of_kind(ns, kind)
	startswith(key, concat("", [ns.metadata.name, "/"]))
}

runs_pods(ns) if {
	some w in lib.objects_of(ns, "Job")
	lib.namespace(w) == ns.metadata.name
}

guarded(ns, kind) if {
	some o in lib.objects_of(ns, kind)
	lib.namespace(o) == ns.metadata.name
}

# Disk-backed emptyDirs live on the node's disk: unbounded, one pod can fill
# it and the kubelet evicts every pod of the node; large, the scheduler must
# know the pod needs that much (an ephemeral-storage request), or it places
# it on a node without the room and the kubelet evicts it when it writes.
large_scratch := 1073741824 # 1 GiB

scratch_volumes(obj) := [v |
	some v in object.get(lib.pod_spec(obj), "volumes", [])
	v.emptyDir != null
	object.get(v.emptyDir, "medium", "") != "Memory"
]

deny contains lib.violation(
	"resources.ephemeral-storage",
	sprintf("emptyDir %q has no sizeLimit: it can fill the node's disk", [v.name]),
	"set emptyDir.sizeLimit (the kubelet evicts the pod past it, not every pod of the node)",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some v in scratch_volumes(input)
	not v.emptyDir.sizeLimit
}

deny contains lib.violation(
	"resources.ephemeral-storage",
	sprintf("the pod's emptyDirs may hold %s but its containers request %s of ephemeral-storage", [lib_gib(need), lib_gib(have)]),
	"request ephemeral-storage for the emptyDirs of 1Gi or more (in the base, beside the volume), so the scheduler places the pod where the disk has room",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	need := sum([lib.quantity(v.emptyDir.sizeLimit) | some v in scratch_volumes(input); v.emptyDir.sizeLimit])
	need >= large_scratch
	have := sum([lib.quantity(object.get(c, ["resources", "requests", "ephemeral-storage"], 0)) | some c in lib.input_all_containers])
	have < need
}

lib_gib(q) := sprintf("%v GiB", [round((q * 10) / 1073741824) / 10])
