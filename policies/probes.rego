# Probes: long-running containers tell Kubernetes when they are ready and
# when they are stuck.
package libertum.probes

import data.libertum.lib

deny contains lib.violation(
	sprintf("probes.%s", [probe_rule[p]]),
	sprintf("container %q has no %s", [c.name, p]),
	sprintf("add a %s to the container in the base or chart", [p]),
) if {
	input.kind in {"DaemonSet", "Deployment", "StatefulSet"}
	some c in lib.input_containers
	some p in ["readinessProbe", "livenessProbe"]
	not c[p]
}

probe_rule := {"readinessProbe": "readiness", "livenessProbe": "liveness"}
