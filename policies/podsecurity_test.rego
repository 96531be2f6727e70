package libertum.podsecurity_test

import data.libertum.fixtures as f
import data.libertum.lib
import data.libertum.podsecurity

deny_rules(obj) := r if {
	r := f.rules(podsecurity.deny) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

patched(ops) := json.patch(f.deployment, ops)

test_pass if count(deny_rules(f.deployment)) == 0

test_non_root_fail if {
	"podsecurity.non-root" in deny_rules(json.remove(f.deployment, ["spec/template/spec/securityContext/runAsNonRoot"]))
	"podsecurity.non-root" in deny_rules(patched([{"op": "add", "path": "/spec/template/spec/containers/0/securityContext/runAsUser", "value": 0}]))
}

test_privilege_escalation_fail if "podsecurity.privilege-escalation" in deny_rules(json.remove(f.deployment, ["spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation"]))

test_privileged_fail if "podsecurity.privileged" in deny_rules(patched([{"op": "add", "path": "/spec/template/spec/containers/0/securityContext/privileged", "value": true}]))

test_host_namespaces_fail if "podsecurity.host-namespaces" in deny_rules(patched([{"op": "add", "path": "/spec/template/spec/hostNetwork", "value": true}]))

test_host_path_fail if "podsecurity.host-path" in deny_rules(patched([{"op": "add", "path": "/spec/template/spec/volumes", "value": [{"name": "logs", "hostPath": {"path": "/var/log"}}]}]))

test_read_only_root_fail if "podsecurity.read-only-root" in deny_rules(json.remove(f.deployment, ["spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem"]))

test_read_only_root_declared_exemption_passes if {
	agent := json.patch(f.deployment, [
		{"op": "replace", "path": "/metadata/labels", "value": f.labels("agent")},
		{"op": "remove", "path": "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem"},
	])
	not "podsecurity.read-only-root" in deny_rules(agent)
}

# A component the environment does not know has declared nothing.
test_read_only_root_unknown_component_fails if {
	stranger := json.patch(f.deployment, [
		{"op": "replace", "path": "/metadata/labels", "value": f.labels("stranger")},
		{"op": "remove", "path": "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem"},
	])
	"podsecurity.read-only-root" in deny_rules(stranger)
}

test_capabilities_fail if "podsecurity.capabilities" in deny_rules(patched([{"op": "add", "path": "/spec/template/spec/containers/0/securityContext/capabilities", "value": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}]))

test_capabilities_net_bind_pass if not "podsecurity.capabilities" in deny_rules(patched([{"op": "add", "path": "/spec/template/spec/containers/0/securityContext/capabilities", "value": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}]))

test_seccomp_fail if {
	"podsecurity.seccomp" in deny_rules(patched([{"op": "add", "path": "/spec/template/spec/securityContext/seccompProfile", "value": {"type": "Unconfined"}}]))
	"podsecurity.seccomp" in deny_rules(patched([{"op": "add", "path": "/spec/template/spec/containers/0/securityContext/seccompProfile", "value": {"type": "Unconfined"}}]))
}

test_host_port_fail if "podsecurity.host-port" in deny_rules(patched([{"op": "add", "path": "/spec/template/spec/containers/0/ports", "value": [{"containerPort": 8080, "hostPort": 8080}]}]))

role := {
	"apiVersion": "rbac.authorization.k8s.io/v1",
	"kind": "ClusterRole",
	"metadata": {"name": "reader"},
	"rules": [{"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "list", "watch"]}],
}

test_node_proxy_pass if not "podsecurity.node-proxy" in deny_rules(role)

test_node_proxy_fail if "podsecurity.node-proxy" in deny_rules(json.patch(role, [{"op": "add", "path": "/rules/0/resources/-", "value": "nodes/proxy"}]))

test_node_proxy_core_wildcard_fail if "podsecurity.node-proxy" in deny_rules(json.patch(role, [{"op": "add", "path": "/rules/0/resources/-", "value": "*"}]))

test_node_proxy_any_group_wildcard_fail if "podsecurity.node-proxy" in deny_rules(json.patch(role, [
	{"op": "replace", "path": "/rules/0/apiGroups", "value": ["*"]},
	{"op": "replace", "path": "/rules/0/resources", "value": ["*"]},
]))

# Every resource of the apps group holds no nodes/proxy.
test_node_proxy_other_group_wildcard_pass if not "podsecurity.node-proxy" in deny_rules(json.patch(role, [
	{"op": "replace", "path": "/rules/0/apiGroups", "value": ["apps"]},
	{"op": "replace", "path": "/rules/0/resources", "value": ["*"]},
]))

mounted := json.remove(f.deployment, ["spec/template/spec/automountServiceAccountToken"])

binding := {
	"apiVersion": "rbac.authorization.k8s.io/v1",
	"kind": "RoleBinding",
	"metadata": {"name": "api", "namespace": "app", "labels": f.labels("api")},
	"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "api"},
	"subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "app"}],
}

test_automount_token_fail if "podsecurity.automount-token" in deny_rules(mounted)

test_automount_token_bound_pass if {
	v := podsecurity.deny with input as mounted with data.environment as f.env with data.rendered as lib.index([mounted, binding])
	not "podsecurity.automount-token" in f.rules(v)
}

test_automount_token_account_off_pass if {
	sa := {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "app", "labels": f.labels("api")}, "automountServiceAccountToken": false}
	v := podsecurity.deny with input as mounted with data.environment as f.env with data.rendered as lib.index([mounted, sa])
	not "podsecurity.automount-token" in f.rules(v)
}
