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

# The kubelet looks a probe's named port up among the ports of the probe's
# own container, not the pod's (ResolveContainerPort, pkg/probe/util.go in
# Kubernetes v1.32): a name only another container declares fails the
# probe every time, and a failing liveness probe restarts the container
# for ever.
deny contains lib.violation(
	"probes.port",
	sprintf("container %q's %s names port %q, which the container does not declare", [c.name, p, port]),
	"name a port this container declares, or give the number (the containers of a pod share its network)",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "StatefulSet"}
	some c in lib.input_all_containers
	some p in ["readinessProbe", "livenessProbe", "startupProbe"]
	some handler in ["httpGet", "tcpSocket"]
	port := c[p][handler].port
	is_string(port)
	not declares_port(c, port)
}

declares_port(c, name) if {
	some cp in object.get(c, "ports", [])
	cp.name == name
}
