# Entry through Front Door only (seed 001, issue 14). Where the environment
# has a Front Door, the public load balancer admits Front Door's service tag
# and nothing else, and the ingress controller refuses requests that do not
# carry the profile's ID (X-Azure-FDID). Anywhere, a controller believes
# forwarded client addresses only from Front Door's backend ranges.
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
controller_config(obj) := object.get(data.rendered, [lib.stamp(obj), "ConfigMap", ref], {}) if {
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

snippets(cm) := concat("\n", [setting(cm, "http-snippet"), setting(cm, "server-snippet"), setting(cm, "location-snippet")])

checks_front_door_id(cm, id) if {
	s := snippets(cm)
	contains(s, "$http_x_azure_fdid")
	contains(s, id)
}

deny contains lib.violation(
	"entry.frontdoor-id",
	sprintf("ingress controller %q does not refuse requests without this environment's Front Door ID %s in X-Azure-FDID", [input.metadata.name, data.environment.frontDoor.id]),
	"the generator's ingress-nginx chart maps $http_x_azure_fdid and returns 403 for any other value (values.frontDoor)",
) if {
	input.kind in {"DaemonSet", "Deployment", "StatefulSet"}
	data.environment.frontDoor
	controller(input)
	not checks_front_door_id(controller_config(input), data.environment.frontDoor.id)
}

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
