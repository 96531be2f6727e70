# NSG intent: only public-tier components are reachable from outside the
# cluster, and every private component's pods are denied by default. Which
# flows the NetworkPolicies admit is judged by an independent engine
# (network.connectivity in generator/connectivity), not here.
package libertum.network

import data.libertum.lib

internal_annotation := "service.beta.kubernetes.io/azure-load-balancer-internal"

deny contains lib.violation(
	"network.public-exposure",
	sprintf("%s exposes private component %q outside the cluster", [exposure, lib.component(input)]),
	"make the component public in spec.components.<name>.tier, or remove the exposure",
) if {
	input.kind in {"Ingress", "Service"}
	some exposure in exposures
	not lib.is_public(input)
}

exposures contains "Ingress" if input.kind == "Ingress"

exposures contains "a NodePort Service" if {
	input.kind == "Service"
	input.spec.type == "NodePort"
}

exposures contains "a public LoadBalancer Service" if {
	input.kind == "Service"
	input.spec.type == "LoadBalancer"
	object.get(input, ["metadata", "annotations", internal_annotation], "") != "true"
}

deny contains lib.violation(
	"network.internal-lb",
	sprintf("LoadBalancer Service of private component %q lacks %s: \"true\"", [lib.component(input), internal_annotation]),
	"annotate the Service so Azure gives it a private IP in the VNet",
) if {
	input.kind == "Service"
	input.spec.type == "LoadBalancer"
	not lib.is_public(input)
	object.get(input, ["metadata", "annotations", internal_annotation], "") != "true"
}

private_component(obj) if {
	c := lib.spec_component(obj)
	c.tier == "private"
}

deny contains lib.violation(
	"network.default-deny",
	sprintf("private component %q has no default-deny NetworkPolicy selecting its pods", [lib.component(input)]),
	"the generator renders <name>-default-deny; keep pods labelled app.kubernetes.io/name: <name>",
) if {
	input.kind in {"DaemonSet", "Deployment", "StatefulSet"}
	private_component(input)
	not default_denied(input)
}

# default_denied: the generator's <component>-default-deny first, then any
# NetworkPolicy in the stamp.
default_denied(w) if {
	np := lib.lookup(w, "NetworkPolicy", lib.namespace(w), concat("-", [lib.component(w), "default-deny"]))
	denies_all_ingress(np, w)
} else if {
	some np in lib.objects_of(w, "NetworkPolicy")
	lib.namespace(np) == lib.namespace(w)
	denies_all_ingress(np, w)
}

denies_all_ingress(np, w) if {
	"Ingress" in object.get(np.spec, "policyTypes", ["Ingress"])
	count(object.get(np.spec, "ingress", [])) == 0
	lib.selects(np.spec.podSelector, lib.pod_labels(w))
}

# External backends are reached over private IPs only, in the stamp's own
# region: an address in another region's private subnet is a dependency
# that region's failure takes from this stamp too (seed 001: stamps stand
# alone). A host its region declares global is reached on purpose, and
# warned about; any other is refused, naming both ends.
deny contains lib.violation(
	"network.external-endpoints",
	sprintf("EndpointSlice address %s lies in no region's private subnet", [addr]),
	"external backends are reached over private IPs only: fix spec.regions.<region>.externalHosts",
) if {
	input.kind == "EndpointSlice"
	some addr in slice_addresses
	count(regions_holding(addr)) == 0
}

deny contains lib.violation(
	"region.cross-region",
	sprintf("stamp %s in %s reaches %s at %s in %s's private subnet: a dependency across regions, lost with %s", [lib.stamp(input), here, host_name(there, addr), addr, there, there]),
	sprintf("reach a host of %s's own (spec.regions.%s.externalHosts), or declare the host global with why its stamps of every region need it", [here, here]),
) if {
	input.kind == "EndpointSlice"
	some addr in slice_addresses
	here := data.environment.stamps[lib.stamp(input)].region
	some there in regions_holding(addr)
	there != here
	not is_global(there, addr)
}

warn contains lib.violation(
	"region.global-dependency",
	sprintf("stamp %s in %s reaches %s at %s in %s, a global dependency: %s", [lib.stamp(input), here, h.name, addr, there, h.global]),
	sprintf("give %s its own (a host in spec.regions.%s.externalHosts) so a %s outage leaves it serving", [here, here, there]),
) if {
	input.kind == "EndpointSlice"
	some addr in slice_addresses
	here := data.environment.stamps[lib.stamp(input)].region
	some there in regions_holding(addr)
	there != here
	h := host_of(there, addr)
	h.global
}

slice_addresses contains addr if {
	some ep in input.endpoints
	some addr in ep.addresses
}

# regions_holding are the regions whose private subnet holds addr.
regions_holding(addr) := {r |
	some r, reg in data.environment.regions
	net.cidr_contains(reg.privateSubnet, addr)
}

host_of(region, addr) := h if {
	some h in data.environment.regions[region].hosts
	h.address == addr
}

is_global(region, addr) if host_of(region, addr).global

host_name(region, addr) := host_of(region, addr).name

host_name(region, addr) := addr if not host_of(region, addr)

# Endpoints that change or stop a program, served without authentication on
# the port its peers reach: Prometheus' --web.enable-lifecycle (POST
# /-/quit and /-/reload) and --web.enable-admin-api (TSDB deletion), per
# Prometheus' own flag help. Any pod its NetworkPolicy admits (Grafana,
# the scrape path) could stop it. Prometheus reloads its configuration and
# rule files itself with --enable-feature=auto-reload-config.
admin_flags := {"--web.enable-lifecycle", "--web.enable-admin-api"}

deny contains lib.violation(
	"network.admin-endpoint",
	sprintf("container %q serves unauthenticated admin endpoints (%s) to every peer that reaches it", [c.name, flag]),
	"remove the flag; for Prometheus, --enable-feature=auto-reload-config reloads the configuration and rule files without an endpoint",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	some arg in array.concat(object.get(c, "args", []), object.get(c, "command", []))
	some flag in admin_flags
	startswith(arg, flag)
	not endswith(arg, "=false")
}
