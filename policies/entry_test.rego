package libertum.entry_test

import data.libertum.entry
import data.libertum.fixtures as f
import data.libertum.lib

fdid := "b3d9f1a7-4c2e-4e8b-9a6d-1f5c7e3b2a90"

env := json.patch(f.env, [{"op": "add", "path": "/frontDoor", "value": {"id": fdid, "backendCIDRs": ["147.243.0.0/16", "2a01:111:2050::/44"]}}])

lb := {
	"apiVersion": "v1", "kind": "Service",
	"metadata": {"name": "edge", "namespace": "edge", "labels": f.labels("edge"), "annotations": {"service.beta.kubernetes.io/azure-allowed-service-tags": "AzureFrontDoor.Backend"}},
	"spec": {"type": "LoadBalancer", "selector": {"app.kubernetes.io/name": "edge"}, "ports": [{"port": 443}]},
}

controller := {
	"apiVersion": "apps/v1", "kind": "Deployment",
	"metadata": {"name": "edge", "namespace": "edge", "labels": f.labels("edge")},
	"spec": {"template": {"metadata": {"labels": f.labels("edge")}, "spec": {"containers": [{
		"name": "controller",
		"args": ["/nginx-ingress-controller", "--configmap=$(POD_NAMESPACE)/edge-controller"],
	}]}}},
}

config := {
	"apiVersion": "v1", "kind": "ConfigMap",
	"metadata": {"name": "edge-controller", "namespace": "edge", "labels": f.labels("edge")},
	"data": {
		"use-forwarded-headers": "true",
		"proxy-real-ip-cidr": "147.243.0.0/16,2a01:111:2050::/44",
		"http-snippet": sprintf("map $http_x_azure_fdid $fd { default 0; \"%s\" 1; }", [fdid]),
		"server-snippet": "if ($fd = 0) { return 403; }",
	},
}

deny_rules(obj, objs, e) := r if {
	r := f.rules(entry.deny) with input as obj with data.environment as e with data.rendered as lib.index(objs)
		with data.summaries as summarized(objs)
}

# summarized is data.summaries for objs, as the check builds it: each
# object's summary (package entry's), for the objects that have one.
summarized(objs) := {s: {k: {key: {"entry": v} |
	some o in objs
	lib.stamp(o) == s
	o.kind == k
	key := concat("/", [lib.namespace(o), o.metadata.name])
	v := entry.summary with input as o with data.rendered as lib.index(objs)
} |
	some k in {o.kind | some o in objs; lib.stamp(o) == s}
} |
	some s in {lib.stamp(o) | some o in objs}
}

test_summary_names_local_load_balancers_only if {
	entry.summary.localLoadBalancer.name == "edge" with input as local_lb
	not entry.summary with input as lb
	not entry.summary with input as controller
}

test_front_door_entry_pass if {
	count(deny_rules(lb, [lb, controller, config], env)) == 0
	count(deny_rules(controller, [lb, controller, config], env)) == 0
}

test_open_lb_fail if {
	open := json.patch(lb, [{"op": "remove", "path": "/metadata/annotations"}])
	"entry.open-lb" in deny_rules(open, [open], env)
}

test_lb_with_extra_ranges_fail if {
	wider := json.patch(lb, [{"op": "add", "path": "/spec/loadBalancerSourceRanges", "value": ["0.0.0.0/0"]}])
	"entry.open-lb" in deny_rules(wider, [wider], env)
}

test_internal_lb_pass if {
	private := json.patch(lb, [{"op": "replace", "path": "/metadata/annotations", "value": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}}])
	not "entry.open-lb" in deny_rules(private, [private], env)
}

test_open_lb_without_front_door_pass if {
	open := json.patch(lb, [{"op": "remove", "path": "/metadata/annotations"}])
	not "entry.open-lb" in deny_rules(open, [open], f.env)
}

test_forwarded_from_anyone_fail if {
	anyone := json.patch(config, [{"op": "remove", "path": "/data/proxy-real-ip-cidr"}])
	"entry.forwarded-headers" in deny_rules(controller, [controller, anyone], env)
}

test_forwarded_beyond_front_door_fail if {
	wider := json.patch(config, [{"op": "replace", "path": "/data/proxy-real-ip-cidr", "value": "147.243.0.0/16,10.0.0.0/8"}])
	"entry.forwarded-headers" in deny_rules(controller, [controller, wider], env)
}

test_forwarded_without_front_door_fail if {
	"entry.forwarded-headers" in deny_rules(controller, [controller, config], f.env)
}

test_no_forwarded_headers_without_front_door_pass if {
	direct := {"apiVersion": "v1", "kind": "ConfigMap", "metadata": config.metadata, "data": {"use-forwarded-headers": "false", "enable-real-ip": "false"}}
	count(deny_rules(controller, [controller, direct], f.env)) == 0
}

local_lb := json.patch(lb, [{"op": "add", "path": "/spec/externalTrafficPolicy", "value": "Local"}])

draining := json.patch(controller, [
	{"op": "add", "path": "/spec/template/spec/terminationGracePeriodSeconds", "value": 300},
	{"op": "add", "path": "/spec/template/spec/containers/0/lifecycle", "value": {"preStop": {"exec": {"command": ["/wait-shutdown"]}}}},
])

test_graceful_shutdown_pass if not "entry.graceful-shutdown" in deny_rules(draining, [local_lb, draining, config], env)

test_graceful_shutdown_cluster_policy_pass if not "entry.graceful-shutdown" in deny_rules(controller, [lb, controller, config], env)

test_graceful_shutdown_no_prestop_fail if {
	bad := json.remove(draining, ["spec/template/spec/containers/0/lifecycle"])
	"entry.graceful-shutdown" in deny_rules(bad, [local_lb, bad, config], env)
}

test_graceful_shutdown_short_grace_fail if {
	bad := json.patch(draining, [{"op": "replace", "path": "/spec/template/spec/terminationGracePeriodSeconds", "value": 30}])
	"entry.graceful-shutdown" in deny_rules(bad, [local_lb, bad, config], env)
}

ingress(hosts, tls_hosts) := {
	"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
	"metadata": {"name": "web", "namespace": "app", "labels": f.labels("web")},
	"spec": {
		"rules": [{"host": h} | some h in hosts],
		"tls": [{"hosts": tls_hosts}],
	},
}

cert_env := json.patch(env, [{"op": "add", "path": "/stamps/one/certificate", "value": {"name": "stamp-tls", "hosts": ["app.one.example.com", "*.example.com"]}}])

cert_rules(obj) := r if {
	r := f.rules(entry.deny) with input as obj with data.environment as cert_env with data.rendered as lib.index([obj])
}

test_certificate_hosts_pass if {
	not "entry.certificate-hosts" in cert_rules(ingress(["app.one.example.com", "app.example.com"], ["app.one.example.com", "app.example.com"]))
}

test_certificate_hosts_uncovered_fail if {
	# The wildcard covers one label: not a.b.example.com.
	"entry.certificate-hosts" in cert_rules(ingress(["app.two.example.com"], ["app.two.example.com"]))
	"entry.certificate-hosts" in cert_rules(ingress(["a.b.example.com"], ["a.b.example.com"]))
}

test_certificate_hosts_without_tls_fail if {
	"entry.certificate-hosts" in cert_rules(ingress(["app.one.example.com", "app.example.com"], ["app.one.example.com"]))
}

test_certificate_hosts_stamp_without_certificate_fail if {
	ing := ingress(["app.example.com"], ["app.example.com"])
	r := f.rules(entry.deny) with input as ing with data.environment as env with data.rendered as lib.index([ing])
	"entry.certificate-hosts" in r
}

grafana := {
	"apiVersion": "apps/v1", "kind": "Deployment",
	"metadata": {"name": "grafana", "namespace": "monitoring", "labels": f.labels("grafana")},
	"spec": {"template": {"metadata": {"labels": f.labels("grafana")}, "spec": {"containers": [{
		"name": "grafana", "image": "acr.example.io/grafana/grafana:11.5.2",
		"env": [
			{"name": "GF_AUTH_AZUREAD_ENABLED", "value": "true"},
			{"name": "GF_AUTH_AZUREAD_ALLOWED_GROUPS", "value": "a34feb17-57a2-5795-b811-8d750a549559"},
			{"name": "GF_AUTH_DISABLE_LOGIN_FORM", "value": "true"},
			{"name": "GF_AUTH_BASIC_ENABLED", "value": "false"},
			{"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "false"},
		],
	}]}}},
}

grafana_env := json.patch(env, [{"op": "add", "path": "/components/grafana", "value": {
	"tier": "public", "namespace": "monitoring", "ingress": true, "dashboards": true,
	"signIn": {"clientID": "d6272a4d-5bc2-53d5-9742-9f2f8c743e66", "groups": ["a34feb17-57a2-5795-b811-8d750a549559"]},
}}])

sign_in_rules(obj, e) := r if {
	r := f.rules(entry.deny) with input as obj with data.environment as e with data.rendered as lib.index([obj])
}

set_env(obj, name, value) := json.patch(obj, [{"op": "replace", "path": sprintf("/spec/template/spec/containers/0/env/%d/value", [i]), "value": value}]) if {
	some i, e in obj.spec.template.spec.containers[0].env
	e.name == name
}

test_sign_in_pass if not "entry.sign-in" in sign_in_rules(grafana, grafana_env)

test_sign_in_off_fail if "entry.sign-in" in sign_in_rules(set_env(grafana, "GF_AUTH_AZUREAD_ENABLED", "false"), grafana_env)

test_sign_in_login_form_fail if "entry.sign-in" in sign_in_rules(set_env(grafana, "GF_AUTH_DISABLE_LOGIN_FORM", "false"), grafana_env)

test_sign_in_basic_auth_fail if "entry.sign-in" in sign_in_rules(set_env(grafana, "GF_AUTH_BASIC_ENABLED", "true"), grafana_env)

test_sign_in_anonymous_fail if "entry.sign-in" in sign_in_rules(set_env(grafana, "GF_AUTH_ANONYMOUS_ENABLED", "true"), grafana_env)

test_sign_in_any_group_fail if "entry.sign-in" in sign_in_rules(set_env(grafana, "GF_AUTH_AZUREAD_ALLOWED_GROUPS", ""), grafana_env)

# Not served through an Ingress (port-forward only): no sign-in demanded.
test_sign_in_unserved_pass if {
	unserved := json.patch(grafana_env, [{"op": "replace", "path": "/components/grafana/ingress", "value": false}])
	not "entry.sign-in" in sign_in_rules(set_env(grafana, "GF_AUTH_AZUREAD_ENABLED", "false"), unserved)
}
