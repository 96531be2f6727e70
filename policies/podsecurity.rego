# Pod security: non-root, no privilege escalation, nothing privileged, no
# host paths, read-only root filesystems unless the component says why not.
package libertum.podsecurity

import data.libertum.lib

pod_context := object.get(lib.pod_spec(input), "securityContext", {})

setting(c, key) := v if {
	v := c.securityContext[key]
} else := v if {
	v := pod_context[key]
}

deny contains lib.violation(
	"podsecurity.non-root",
	sprintf("container %q may run as root", [c.name]),
	"set runAsNonRoot: true and a non-zero runAsUser in the pod or container securityContext",
) if {
	some c in lib.all_containers(input)
	not runs_as_non_root(c)
}

runs_as_non_root(c) if {
	setting(c, "runAsNonRoot") == true
	not setting(c, "runAsUser") == 0
}

deny contains lib.violation(
	"podsecurity.privilege-escalation",
	sprintf("container %q does not set allowPrivilegeEscalation: false", [c.name]),
	"set securityContext.allowPrivilegeEscalation: false on the container",
) if {
	some c in lib.all_containers(input)
	not c.securityContext.allowPrivilegeEscalation == false
}

deny contains lib.violation(
	"podsecurity.privileged",
	sprintf("container %q is privileged", [c.name]),
	"remove securityContext.privileged",
) if {
	some c in lib.all_containers(input)
	c.securityContext.privileged == true
}

deny contains lib.violation(
	"podsecurity.host-namespaces",
	sprintf("the pod shares the node's %s namespace", [ns]),
	"remove hostNetwork, hostPID and hostIPC",
) if {
	some ns in ["hostNetwork", "hostPID", "hostIPC"]
	lib.pod_spec(input)[ns] == true
}

deny contains lib.violation(
	"podsecurity.host-path",
	sprintf("volume %q mounts host path %s", [v.name, v.hostPath.path]),
	"use an emptyDir or a persistent volume; a reviewed exception is needed for node agents",
) if {
	some v in object.get(lib.pod_spec(input), "volumes", [])
	v.hostPath
}

deny contains lib.violation(
	"podsecurity.read-only-root",
	sprintf("container %q has a writable root filesystem", [c.name]),
	"set readOnlyRootFilesystem: true (mount an emptyDir where it writes), or state why not in spec.components.<name>.writableRootFilesystem",
) if {
	some c in lib.all_containers(input)
	not c.securityContext.readOnlyRootFilesystem == true
	not object.get(lib.spec_component(input), "writableRootFilesystem", "") != ""
}
