# Pod security: non-root, no privilege escalation, nothing privileged, no
# host paths, read-only root filesystems unless the component says why not.
package libertum.podsecurity

import data.libertum.lib

pod_context := object.get(lib.input_pod_spec, "securityContext", {})

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
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
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
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	not c.securityContext.allowPrivilegeEscalation == false
}

deny contains lib.violation(
	"podsecurity.privileged",
	sprintf("container %q is privileged", [c.name]),
	"remove securityContext.privileged",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	c.securityContext.privileged == true
}

deny contains lib.violation(
	"podsecurity.host-namespaces",
	sprintf("the pod shares the node's %s namespace", [ns]),
	"remove hostNetwork, hostPID and hostIPC",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some ns in ["hostNetwork", "hostPID", "hostIPC"]
	lib.input_pod_spec[ns] == true
}

deny contains lib.violation(
	"podsecurity.host-path",
	sprintf("volume %q mounts host path %s", [v.name, v.hostPath.path]),
	"use an emptyDir or a persistent volume; a reviewed exception is needed for node agents",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some v in object.get(lib.input_pod_spec, "volumes", [])
	v.hostPath
}

deny contains lib.violation(
	"podsecurity.read-only-root",
	sprintf("container %q has a writable root filesystem", [c.name]),
	"set readOnlyRootFilesystem: true (mount an emptyDir where it writes), or state why not in spec.components.<name>.writableRootFilesystem",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	not c.securityContext.readOnlyRootFilesystem == true
	not writable_root_declared(input)
}

# writable_root_declared(obj): the environment states why obj's component
# writes its root filesystem. A component the environment does not know
# states nothing.
writable_root_declared(obj) if object.get(lib.spec_component(obj), "writableRootFilesystem", "") != ""

# allowed_capabilities may be added back after dropping ALL: binding a port
# below 1024 is all a web server needs.
allowed_capabilities := {"NET_BIND_SERVICE"}

deny contains lib.violation(
	"podsecurity.capabilities",
	sprintf("container %q adds capability %s", [c.name, cap]),
	"drop ALL and add nothing but NET_BIND_SERVICE; a component that truly needs more says why in policies/exceptions.yaml",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	some cap in object.get(c, ["securityContext", "capabilities", "add"], [])
	not cap in allowed_capabilities
}

deny contains lib.violation(
	"podsecurity.seccomp",
	sprintf("container %q runs with seccomp profile Unconfined", [c.name]),
	"use seccompProfile type RuntimeDefault (or Localhost) in the pod or container securityContext",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	setting(c, "seccompProfile").type == "Unconfined"
}

deny contains lib.violation(
	"podsecurity.host-port",
	sprintf("container %q binds host port %v", [c.name, p.hostPort]),
	"expose the port through a Service; a hostPort ties the pod to a node and opens the node's address",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	some p in object.get(c, "ports", [])
	object.get(p, "hostPort", 0) != 0
}

deny contains lib.violation(
	"podsecurity.node-proxy",
	sprintf("%s %s grants nodes/proxy: a path to every kubelet's API, and so to exec in any pod", [input.kind, input.metadata.name]),
	"grant only the resources the component reads (nodes, pods, services, endpoints)",
) if {
	input.kind in {"ClusterRole", "Role"}
	some rule in object.get(input, "rules", [])
	some g in object.get(rule, "apiGroups", [])
	g in {"", "*"} # nodes are the core group's; apps' "*" holds no nodes/proxy
	some r in object.get(rule, "resources", [])
	r in {"nodes/proxy", "nodes/*", "*"}
}

service_account(w) := object.get(lib.pod_spec(w), "serviceAccountName", "default")

# bound(w): a RoleBinding or ClusterRoleBinding of the stamp grants the
# workload's service account something, so its pods need an API token.
bound(w) if {
	sa := service_account(w)
	some kind in ["RoleBinding", "ClusterRoleBinding"]
	some b in lib.objects_of(w, kind)
	some s in object.get(b, "subjects", [])
	s.kind == "ServiceAccount"
	s.name == sa
	object.get(s, "namespace", lib.namespace(b)) == lib.namespace(w)
}

# token_mounted(w): the pods get an API token, by their own setting or
# their service account's.
token_mounted(w) if {
	object.get(lib.pod_spec(w), "automountServiceAccountToken", null) == null
	sa := lib.lookup(w, "ServiceAccount", lib.namespace(w), service_account(w))
	not sa.automountServiceAccountToken == false
} else if {
	object.get(lib.pod_spec(w), "automountServiceAccountToken", null) == null
	not lib.lookup(w, "ServiceAccount", lib.namespace(w), service_account(w))
} else if {
	lib.pod_spec(w).automountServiceAccountToken == true
}

deny contains lib.violation(
	"podsecurity.automount-token",
	sprintf("%s mounts an API token for service account %s, which no RoleBinding or ClusterRoleBinding grants anything", [input.kind, service_account(input)]),
	"set automountServiceAccountToken: false in the pod spec, or bind the service account the role it needs",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "StatefulSet"}
	token_mounted(input)
	not bound(input)
}
