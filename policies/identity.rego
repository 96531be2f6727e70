# Workload identity (issue 14): every pod runs as a service account of its
# own, and pods that read Key Vault or call Azure act as the stamp's
# workload identity.
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

deny contains lib.violation(
	"identity.client-id",
	sprintf("%s's pods read Key Vault or call Azure as service account %q, which is not annotated with the stamp's client ID %s", [input.kind, service_account(input), want]),
	"annotate the ServiceAccount with azure.workload.identity/client-id: <spec.stamps[].identityClientID>",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	needs_identity(input)
	want := data.environment.stamps[lib.stamp(input)].identityClientID
	not annotated(input, service_account(input), want)
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
