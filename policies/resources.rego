# Resource limits: every container states what it needs, every pod fits a
# node, and a stamp's autoscalers at their maximum fit its node pool.
package libertum.resources

import data.libertum.lib

deny contains lib.violation(
	"resources.requests",
	sprintf("container %q has no %s request", [c.name, r]),
	"set resources.requests.cpu and .memory (spec.components.<name>.resources for the main container; the base or chart for others)",
) if {
	some c in lib.all_containers(input)
	some r in ["cpu", "memory"]
	not c.resources.requests[r]
}

deny contains lib.violation(
	"resources.memory-limit",
	sprintf("container %q has no memory limit", [c.name]),
	"set resources.limits.memory so one pod cannot exhaust a node",
) if {
	some c in lib.all_containers(input)
	not c.resources.limits.memory
}

deny contains lib.violation(
	"resources.pod-fits-node",
	sprintf("the pod requests %v of %s but a %s node has %v allocatable", [need, r, data.environment.node.size, have]),
	"lower the requests or choose a larger node size in spec.cluster.node",
) if {
	input.kind in lib.workload_kinds
	some r in ["cpu", "memory"]
	need := lib.pod_request(input, r)
	have := lib.quantity(data.environment.node.allocatable[r])
	need > have
}

# hpa_peak sums maxReplicas x pod requests over the stamp's autoscalers.
hpa_peak(obj, r) := sum([(h.spec.maxReplicas * lib.pod_request(lib.target(h), r)) |
	some h in lib.objects_of(obj, "HorizontalPodAutoscaler")
])

deny contains lib.stamp_violation(
	"resources.stamp-capacity",
	sprintf("stamp %s: the autoscalers at their maximum request %v of %s, more than %d nodes x %v allocatable", [lib.stamp(input), need, r, data.environment.autoscaler.maxNodes, per_node]),
	"raise spec.cluster.autoscaler.maxNodes, or lower podThroughputRPS-derived maxima (stamp capacity.peakRPS) or requests",
) if {
	lib.anchor(input)
	some r in ["cpu", "memory"]
	need := hpa_peak(input, r)
	per_node := lib.quantity(data.environment.node.allocatable[r])
	need > data.environment.autoscaler.maxNodes * per_node
}
