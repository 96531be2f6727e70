# Entry through Front Door only (seed 001, issue 14). Where the environment
# has a Front Door, the public load balancer admits Front Door's service tag
# and nothing else (the ingress controller's refusal of requests without
# the profile's ID is judged in Go, by behaviour: generator/needs).
# Anywhere, a controller believes forwarded client addresses only from
# Front Door's backend ranges.
package libertum.entry

import data.libertum.lib

service_tags := "service.beta.kubernetes.io/azure-allowed-service-tags"

allowed_ranges := "service.beta.kubernetes.io/azure-allowed-ip-ranges"

internal_lb := "service.beta.kubernetes.io/azure-load-balancer-internal"

public_lb(svc) if {
	svc.kind == "Service"
	svc.spec.type == "LoadBalancer"
	object.get(svc, ["metadata", "annotations", internal_lb], "") != "true"
}

# front_door_only: AKS admits the union of the service tags, the allowed IP
# ranges and loadBalancerSourceRanges, so only the tag may be there.
front_door_only(svc) if {
	svc.metadata.annotations[service_tags] == "AzureFrontDoor.Backend"
	not svc.metadata.annotations[allowed_ranges]
	count(object.get(svc.spec, "loadBalancerSourceRanges", [])) == 0
}

deny contains lib.violation(
	"entry.open-lb",
	sprintf("public LoadBalancer Service of %q admits more than Front Door: want only %s: AzureFrontDoor.Backend", [lib.component(input), service_tags]),
	"behind Front Door the generator sets the service tag (values.frontDoor); remove loadBalancerSourceRanges and azure-allowed-ip-ranges",
) if {
	input.kind == "Service"
	data.environment.frontDoor
	public_lb(input)
	not front_door_only(input)
}

# controller_config is the ConfigMap an ingress-nginx controller reads
# (its --configmap argument), {} when it is not rendered.
controller_config(obj) := data.rendered[lib.stamp(obj)].ConfigMap[config_ref(obj)]

controller_config(obj) := {} if {
	ref := config_ref(obj)
	not data.rendered[lib.stamp(obj)].ConfigMap[ref]
}

config_ref(obj) := ref if {
	some c in lib.containers(obj)
	some arg in object.get(c, "args", [])
	startswith(arg, "--configmap=")
	ref := replace(trim_prefix(arg, "--configmap="), "$(POD_NAMESPACE)", lib.namespace(obj))
}

controller(obj) if {
	obj.kind in lib.long_running_kinds
	controller_config(obj)
}

setting(cm, key) := object.get(cm, ["data", key], "")

# Whether the controller refuses requests without the profile's ID
# (entry.frontdoor-id) is judged by what nginx does with its snippets, not
# by the text they contain: generator/needs, with generator/nginxconf, and
# the real nginx in make programs.

trusts_forwarded(cm) if setting(cm, "use-forwarded-headers") == "true"

trusts_forwarded(cm) if setting(cm, "enable-real-ip") == "true"

# trusted_from: nginx's default is 0.0.0.0/0 when proxy-real-ip-cidr is unset.
trusted_from(cm) := [trim_space(c) | some c in split(setting(cm, "proxy-real-ip-cidr"), ",")] if {
	setting(cm, "proxy-real-ip-cidr") != ""
} else := ["0.0.0.0/0"]

from_front_door(cidr) if {
	some fd in data.environment.frontDoor.backendCIDRs
	net.cidr_contains(fd, cidr)
}

deny contains lib.violation(
	"entry.forwarded-headers",
	sprintf("ingress controller %q believes forwarded client addresses from %v, beyond Front Door's backends", [input.metadata.name, untrusted]),
	"trust forwarded headers only behind Front Door, with proxy-real-ip-cidr within spec.frontDoor.backendCIDRs (use-forwarded-headers and enable-real-ip \"false\" otherwise)",
) if {
	input.kind in {"DaemonSet", "Deployment", "StatefulSet"}
	controller(input)
	cm := controller_config(input)
	trusts_forwarded(cm)
	untrusted := [c | some c in trusted_from(cm); not from_front_door(c)]
	count(untrusted) > 0
}

# Behind a LoadBalancer Service with externalTrafficPolicy: Local the load
# balancer sends a node's connections to that node's controller pod only,
# and keeps sending them until its health probe of the node fails. A pod
# that stops at once drops them: it must drain first (a preStop hook, the
# ingress-nginx image's /wait-shutdown, which lets nginx finish its
# requests) within a grace period long enough for it (Kubernetes' default
# 30 s is too short for open connections).
min_grace := 60

deny contains lib.violation(
	"entry.graceful-shutdown",
	sprintf("%s serves a LoadBalancer Service with externalTrafficPolicy Local (%s) but %s", [input.kind, lb.name, why]),
	"add a preStop hook that drains (ingress-nginx: exec /wait-shutdown) and terminationGracePeriodSeconds of at least 60",
) if {
	input.kind in {"Deployment", "StatefulSet", "DaemonSet"}
	some s in lib.summaries_of_kind(input, "Service")
	lb := s.entry.localLoadBalancer
	lb.namespace == lib.namespace(input)
	lib.selects({"matchLabels": lb.selector}, object.get(input, ["spec", "template", "metadata", "labels"], {}))
	some why in undrained(input)
}

# summary is what entry.graceful-shutdown looks for in a Service: a
# LoadBalancer with externalTrafficPolicy Local, and the pods it selects.
# A workload reads only the Services summarized so (the stamp's
# data.summaries.Service), not every Service: a change to any other
# Service keeps each workload's cached verdict (generator/check).
summary := {"localLoadBalancer": {
	"name": input.metadata.name,
	"namespace": lib.namespace(input),
	"selector": object.get(input.spec, "selector", {"": "none"}),
}} if {
	input.kind == "Service"
	input.spec.type == "LoadBalancer"
	object.get(input.spec, "externalTrafficPolicy", "Cluster") == "Local"
}

undrained(w) := {x | x := no_prestop(w)} | {x | x := short_grace(w)}

no_prestop(w) := "no container has a preStop hook to drain its connections" if {
	not has_prestop(w)
}

has_prestop(w) if {
	some c in lib.containers(w)
	c.lifecycle.preStop
}

short_grace(w) := sprintf("its terminationGracePeriodSeconds is %d, under %d", [grace, min_grace]) if {
	grace := object.get(lib.pod_spec(w), "terminationGracePeriodSeconds", 30)
	grace < min_grace
}

# TLS (issue 29): every host an Ingress serves is in a TLS entry, and the
# stamp's certificate — spec.stamps[].certificate, which the terminating
# controller serves for every TLS entry (its --default-ssl-certificate) —
# covers it. An uncovered host is a handshake failure for every client (a
# Front Door host included: Front Door checks the origin's certificate
# against it).
stamp_certificate(obj) := data.environment.stamps[lib.stamp(obj)].certificate

covers(names, host) if host in names

covers(names, host) if {
	some n in names
	startswith(n, "*.")
	parts := split(host, ".")
	count(parts) > 2
	concat(".", array.slice(parts, 1, count(parts))) == substring(n, 2, -1)
}

tls_hosts(ing) := {h | some t in object.get(ing.spec, "tls", []); some h in object.get(t, "hosts", [])}

deny contains lib.violation(
	"entry.certificate-hosts",
	sprintf("Ingress serves %q without TLS: no tls entry names it", [rule.host]),
	"list the host under spec.tls[].hosts (the generator does for the stamp and Front Door hosts)",
) if {
	input.kind == "Ingress"
	some rule in object.get(input.spec, "rules", [])
	rule.host
	not rule.host in tls_hosts(input)
}

has_certificate(obj) if stamp_certificate(obj).name

deny contains lib.violation(
	"entry.certificate-hosts",
	sprintf("Ingress serves %v over TLS, but stamp %s has no certificate (spec.stamps[].certificate)", [sort(tls_hosts(input)), lib.stamp(input)]),
	"add the stamp's certificate, with the names it covers, to spec.stamps[].certificate",
) if {
	input.kind == "Ingress"
	count(tls_hosts(input)) > 0
	not has_certificate(input)
}

deny contains lib.violation(
	"entry.certificate-hosts",
	sprintf("certificate %q does not cover host %q (it covers %v)", [cert.name, host, cert.hosts]),
	"issue the certificate for the host in Key Vault and list it in spec.stamps[].certificate.hosts",
) if {
	input.kind == "Ingress"
	cert := stamp_certificate(input)
	some host in tls_hosts(input)
	not covers(cert.hosts, host)
}

# Grafana served through an Ingress (issue 29): whoever reaches it signs in
# with Entra ID, as a member of the spec's groups, and in no other way —
# no login form with local users, no basic auth, no anonymous viewer.
# https://grafana.com/docs/grafana/v11.5/setup-grafana/configure-security/configure-authentication/azuread/
grafana_env(obj) := {e.name: object.get(e, "value", "") |
	some c in lib.containers(obj)
	contains(c.image, "grafana/grafana")
	some e in object.get(c, "env", [])
}

served(obj) if object.get(lib.spec_component(obj), "ingress", false)

sign_in_required := {
	"GF_AUTH_AZUREAD_ENABLED": "true",
	"GF_AUTH_DISABLE_LOGIN_FORM": "true",
	"GF_AUTH_BASIC_ENABLED": "false",
}

deny contains lib.violation(
	"entry.sign-in",
	sprintf("Grafana is served through an Ingress with %s = %q, want %q: someone who reaches it signs in without Entra ID", [name, object.get(env, name, "(unset)"), want]),
	"sign in with Entra ID only: spec.components.<name>.signIn (the chart sets auth.azuread and turns the login form and basic auth off)",
) if {
	input.kind in {"Deployment", "StatefulSet"}
	served(input)
	env := grafana_env(input)
	count(env) > 0
	some name, want in sign_in_required
	object.get(env, name, "") != want
}

deny contains lib.violation(
	"entry.sign-in",
	"Grafana is served through an Ingress with anonymous access on: anyone who reaches it views the dashboards",
	"set GF_AUTH_ANONYMOUS_ENABLED to false",
) if {
	input.kind in {"Deployment", "StatefulSet"}
	served(input)
	grafana_env(input).GF_AUTH_ANONYMOUS_ENABLED == "true"
}

deny contains lib.violation(
	"entry.sign-in",
	sprintf("Grafana admits every account of the tenant: GF_AUTH_AZUREAD_ALLOWED_GROUPS is %q, not the spec's groups %v", [object.get(env, "GF_AUTH_AZUREAD_ALLOWED_GROUPS", ""), want]),
	"allow exactly spec.components.<name>.signIn.groups (space-separated)",
) if {
	input.kind in {"Deployment", "StatefulSet"}
	served(input)
	env := grafana_env(input)
	env.GF_AUTH_AZUREAD_ENABLED == "true"
	want := object.get(lib.spec_component(input), ["signIn", "groups"], [])
	{g | some g in split(object.get(env, "GF_AUTH_AZUREAD_ALLOWED_GROUPS", ""), " "); g != ""} != {g | some g in want}
}
