package libertum.network_test

import data.libertum.fixtures as f
import data.libertum.lib
import data.libertum.network

deny_rules(obj) := r if {
	r := f.rules(network.deny) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

ingress(component) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": component, "namespace": "x", "labels": f.labels(component)},
	"spec": {"rules": [{"host": "x.example.com"}]},
}

test_public_exposure_pass if {
	not "network.public-exposure" in deny_rules(ingress("api"))
	not "network.public-exposure" in deny_rules(f.service("edge", "LoadBalancer"))
	not "network.public-exposure" in deny_rules(f.service("db", "ClusterIP"))
}

test_public_exposure_fail_ingress if "network.public-exposure" in deny_rules(ingress("db"))

test_public_exposure_fail_node_port if "network.public-exposure" in deny_rules(f.service("db", "NodePort"))

test_public_exposure_fail_unknown_component if "network.public-exposure" in deny_rules(ingress("stranger"))

test_internal_lb_pass if {
	internal := json.patch(f.service("db", "LoadBalancer"), [{"op": "add", "path": "/metadata/annotations", "value": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}}])
	count(deny_rules(internal)) == 0
}

test_internal_lb_fail if "network.internal-lb" in deny_rules(f.service("db", "LoadBalancer"))

test_default_deny_pass if not "network.default-deny" in deny_rules(f.db)

test_default_deny_fail if {
	v := network.deny with input as f.db with data.environment as f.env with data.rendered as lib.index([f.db, f.allow_consumers])
	"network.default-deny" in f.rules(v)
}

test_external_endpoints_pass if not "network.external-endpoints" in deny_rules(f.slice("10.30.8.10"))

test_external_endpoints_fail if "network.external-endpoints" in deny_rules(f.slice("10.30.0.10"))

# Stamp one runs in westeurope: northeurope's VM is across regions.
test_cross_region_pass if not "region.cross-region" in deny_rules(f.slice("10.30.8.10"))

test_cross_region_fail if {
	v := network.deny with input as f.slice("10.31.8.10") with data.environment as f.env with data.rendered as f.rendered
	some d in v
	d.rule == "region.cross-region"
	contains(d.msg, "stamp one in westeurope reaches vm-neu at 10.31.8.10 in northeurope")
}

# An address of the other region's subnet that no host declares is named
# by its address.
test_cross_region_fail_undeclared if {
	v := network.deny with input as f.slice("10.31.9.1") with data.environment as f.env with data.rendered as f.rendered
	some d in v
	d.rule == "region.cross-region"
	contains(d.msg, "reaches 10.31.9.1 at 10.31.9.1 in northeurope")
}

global_env := json.patch(f.env, [{"op": "add", "path": "/regions/northeurope/hosts/0/global", "value": "one VM serves both regions"}])

test_global_dependency_warns if {
	d := network.deny with input as f.slice("10.31.8.10") with data.environment as global_env with data.rendered as f.rendered
	not "region.cross-region" in f.rules(d)
	w := network.warn with input as f.slice("10.31.8.10") with data.environment as global_env with data.rendered as f.rendered
	some v in w
	v.rule == "region.global-dependency"
	contains(v.msg, "a global dependency: one VM serves both regions")
}

test_global_dependency_quiet_in_its_region if {
	w := network.warn with input as f.slice("10.30.8.10") with data.environment as global_env with data.rendered as f.rendered
	count(w) == 0
}

test_default_deny_with_another_name_pass if {
	renamed := json.patch(f.deny_all, [{"op": "replace", "path": "/metadata/name", "value": "deny-everything"}])
	v := network.deny with input as f.db with data.environment as f.env with data.rendered as lib.index([f.db, renamed])
	not "network.default-deny" in f.rules(v)
}

test_default_deny_that_admits_traffic_fail if {
	# Named like the generator's, but it admits a peer: not a default deny.
	leaky := json.patch(f.deny_all, [{"op": "add", "path": "/spec/ingress", "value": [{"from": [{"podSelector": {}}]}]}])
	v := network.deny with input as f.db with data.environment as f.env with data.rendered as lib.index([f.db, leaky])
	"network.default-deny" in f.rules(v)
}

test_admin_endpoint_pass if not "network.admin-endpoint" in deny_rules(f.deployment)

test_admin_endpoint_fail if {
	bad := json.patch(f.deployment, [{"op": "add", "path": "/spec/template/spec/containers/0/args", "value": ["--config.file=/etc/prometheus/prometheus.yml", "--web.enable-lifecycle"]}])
	"network.admin-endpoint" in deny_rules(bad)
}

test_admin_endpoint_off_is_fine if {
	off := json.patch(f.deployment, [{"op": "add", "path": "/spec/template/spec/containers/0/args", "value": ["--web.enable-admin-api=false"]}])
	not "network.admin-endpoint" in deny_rules(off)
}
