# Workload identity (issue 14, least privilege in issue 29): every pod runs
# as a service account of its own, pods that read Key Vault or call Azure
# act as their component's own workload identity in the stamp (never
# another component's), a component's SecretProviderClass reads only
# its own Key Vault objects and its pods mount only it, and TLS keys live
# only where TLS terminates.
package libertum.identity

import data.libertum.lib

use_label := "azure.workload.identity/use"

client_id_annotation := "azure.workload.identity/client-id"

service_account(obj) := object.get(lib.pod_spec(obj), "serviceAccountName", "")

deny contains lib.violation(
	"identity.default-sa",
	sprintf("%s runs its pods as the namespace's default service account", [input.kind]),
	"give the pods a serviceAccountName of their own (the generator names it after the component or job)",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	service_account(input) in {"", "default"}
}

uses_key_vault(obj) if {
	some v in object.get(lib.pod_spec(obj), "volumes", [])
	v.csi.driver == "secrets-store.csi.k8s.io"
}

calls_azure(obj) if lib.pod_labels(obj)[use_label] == "true"

needs_identity(obj) if uses_key_vault(obj)

needs_identity(obj) if calls_azure(obj)

# identity is the component's own workload identity in the object's stamp.
# (Read path by path, not with object.get over data.environment.stamps: a
# verdict depends on what it reads, and every stamp's identities are a lot.)
identity(obj) := data.environment.stamps[lib.stamp(obj)].identities[lib.component(obj)]

identity(obj) := "" if not data.environment.stamps[lib.stamp(obj)].identities[lib.component(obj)]

deny contains lib.violation(
	"identity.client-id",
	sprintf("%s's pods read Key Vault or call Azure as service account %q, which is not annotated with %s's own client ID %q", [input.kind, service_account(input), lib.component(input), identity(input)]),
	"annotate the ServiceAccount with azure.workload.identity/client-id: <spec.stamps[].identities.<component>>",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	needs_identity(input)
	not annotated(input, service_account(input), identity(input))
}

# Least privilege: no two components of a stamp act as one identity, so a
# token stolen from one reads only what that component was granted.
deny contains lib.stamp_violation(
	"identity.shared",
	sprintf("stamp %s: components %s share the workload identity %s", [lib.stamp(input), concat(", ", sort(sharing)), id]),
	"give each component its own identity in spec.stamps[].identities",
) if {
	input.kind == "Namespace"
	lib.anchor(input)
	ids := object.get(data.environment.stamps[lib.stamp(input)], "identities", {})
	distinct := {lower(v) | some v in ids}

	# Only a stamp where two components share one looks for which: the
	# search is quadratic in the stamp's components (a second at 1,000).
	count(distinct) < count(ids)
	some id in distinct
	sharing := [c | some c, v in ids; lower(v) == id]
	count(sharing) > 1
}

# A SecretProviderClass reads Key Vault as one identity, into the pods that
# mount it: only its component's own objects, as its component's identity.
spc_objects(spc) := [o.objectName |
	some item in object.get(yaml.unmarshal(object.get(spc.spec.parameters, "objects", "array: []")), "array", [])
	o := yaml.unmarshal(item)
]

# own_objects are the Key Vault objects a component's pods may read in the
# object's stamp: its secrets, and the stamp's certificate where it
# terminates TLS.
own_objects(obj) := objs if {
	c := component_entry(obj)
	secrets := object.get(c, "keyVaultObjects", [])
	cert := stamp_certificate(obj)
	objs := array.concat(secrets, [cert | object.get(c, "terminatesTLS", false); cert != ""])
}

component_entry(obj) := lib.spec_component(obj)

component_entry(obj) := {} if not lib.spec_component(obj)

stamp_certificate(obj) := data.environment.stamps[lib.stamp(obj)].certificate.name

stamp_certificate(obj) := "" if not data.environment.stamps[lib.stamp(obj)].certificate.name

deny contains lib.violation(
	"identity.secret-scope",
	sprintf("SecretProviderClass reads Key Vault object %q, which is not %s's (it reads %v)", [name, lib.component(input), own]),
	"a component reads only its own Key Vault objects (spec.components.<name>.secrets; the stamp's certificate only where TLS terminates); give the other component's pods the secret",
) if {
	input.kind == "SecretProviderClass"
	own := own_objects(input)
	some name in spc_objects(input)
	not name in own
}

# A pod mounts only its own component's SecretProviderClass: mounting a
# neighbour's in the same namespace reads the neighbour's objects.
spc_volumes(obj) := [v.csi.volumeAttributes.secretProviderClass |
	some v in object.get(lib.pod_spec(obj), "volumes", [])
	v.csi.driver == "secrets-store.csi.k8s.io"
]

deny contains lib.violation(
	"identity.secret-scope",
	sprintf("%s's pods mount SecretProviderClass %q, which is %s's, not %s's", [input.kind, name, lib.component(spc), lib.component(input)]),
	"mount the component's own SecretProviderClass (<component>-keyvault); give the component the secret in spec.components.<name>.secrets",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some name in spc_volumes(input)
	spc := lib.lookup(input, "SecretProviderClass", lib.namespace(input), name)
	lib.component(spc) != lib.component(input)
}

# TLS keys only where TLS terminates (issue 29): the controller serves the
# stamp's certificate as its default certificate, synced into its own
# namespace by its own pods. A Kubernetes TLS Secret synced anywhere else,
# or an Ingress naming one, puts the key in an application's namespace and
# in the pods that sync it.
terminates_tls(obj) if data.environment.components[lib.component(obj)].terminatesTLS

deny contains lib.violation(
	"identity.tls-key",
	sprintf("SecretProviderClass syncs the TLS Secret %q: %s does not terminate TLS, so its pods would hold the key", [so.secretName, lib.component(input)]),
	"drop the TLS secretObject: the component that terminates TLS (spec.components.<name>.terminatesTLS) reads the stamp's certificate",
) if {
	input.kind == "SecretProviderClass"
	some so in object.get(input.spec, "secretObjects", [])
	so.type == "kubernetes.io/tls"
	not terminates_tls(input)
}

deny contains lib.violation(
	"identity.tls-key",
	sprintf("Ingress names the TLS Secret %q in namespace %s: the key would live beside %s", [t.secretName, lib.namespace(input), lib.component(input)]),
	"leave secretName out: the controller serves the stamp's certificate (spec.stamps[].certificate) for every TLS entry without one",
) if {
	input.kind == "Ingress"
	some t in object.get(input.spec, "tls", [])
	object.get(t, "secretName", "") != ""
}

deny contains lib.violation(
	"identity.secret-scope",
	sprintf("SecretProviderClass reads Key Vault as client ID %q, not %s's own %q", [object.get(input.spec.parameters, "clientID", ""), lib.component(input), identity(input)]),
	"set spec.parameters.clientID to spec.stamps[].identities.<component>",
) if {
	input.kind == "SecretProviderClass"
	object.get(input.spec.parameters, "clientID", "") != identity(input)
}

annotated(obj, name, want) if {
	sa := lib.lookup(obj, "ServiceAccount", lib.namespace(obj), name)
	sa.metadata.annotations[client_id_annotation] == want
}

# The Azure services the pods call, from the spec: a job's or the component's.
pod_azure(obj) := object.get(lib.spec_component(obj), ["jobs", obj.metadata.name], []) if obj.kind in {"CronJob", "Job"}

pod_azure(obj) := object.get(lib.spec_component(obj), "azure", []) if not obj.kind in {"CronJob", "Job"}

deny contains lib.violation(
	"identity.use-label",
	sprintf("%s's pods call Azure (%v) without the label %s: \"true\", so no federated token is injected", [input.kind, pod_azure(input), use_label]),
	"label the pod template azure.workload.identity/use: \"true\" (the generator does for components and jobs that declare azure)",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	count(pod_azure(input)) > 0
	not calls_azure(input)
}
