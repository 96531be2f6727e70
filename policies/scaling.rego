# Scaling: a workload an HorizontalPodAutoscaler scales leaves its replica
# count to the autoscaler, so an Argo CD sync (self-heal, or a manual sync
# in prod) never resets what the autoscaler chose.
package libertum.scaling

import data.libertum.lib

# scaled_by(w) names the HPAs scaling w. The HPA named after the workload
# is looked up first; only a workload without one scans the stamp's HPAs.
scaled_by(w) := h.metadata.name if {
	h := lib.lookup(w, "HorizontalPodAutoscaler", lib.namespace(w), w.metadata.name)
	lib.targets(h, w)
} else := names if {
	found := {h.metadata.name | some h in lib.objects_of(w, "HorizontalPodAutoscaler"); lib.targets(h, w)}
	count(found) > 0
	names := concat(", ", sort(found))
}

deny contains lib.violation(
	"scaling.hpa-replicas",
	sprintf("%s sets spec.replicas (%v) while HorizontalPodAutoscaler %s scales it: every sync resets the autoscaler's choice", [input.kind, input.spec.replicas, scaled_by(input)]),
	"leave spec.replicas out of the base or chart for a component with scaling (the generator removes it from workloads it shapes)",
) if {
	input.kind in {"Deployment", "StatefulSet"}
	object.get(input, ["spec", "replicas"], null) != null
	scaled_by(input)
}

warn contains lib.violation(
	"scaling.fixed-hpa",
	sprintf("HorizontalPodAutoscaler %s has minReplicas = maxReplicas = %v: it never scales", [input.metadata.name, input.spec.maxReplicas]),
	"raise the stamp's peakRPS above its baselineRPS, or give the component fixed replicas instead of scaling",
) if {
	input.kind == "HorizontalPodAutoscaler"
	object.get(input.spec, "minReplicas", 1) == input.spec.maxReplicas
}
