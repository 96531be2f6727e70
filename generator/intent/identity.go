package intent

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Azure workload identity's pod label and service account annotation.
const (
	WorkloadIdentityUse      = "azure.workload.identity/use"
	WorkloadIdentityClientID = "azure.workload.identity/client-id"
)

// azureOf returns the Azure services a workload's pods call: its job's, or
// the component's for the main pods.
func (t Target) azureOf(w *workload) []string {
	if w.kind == "CronJob" || w.kind == "Job" {
		return t.Component.Jobs[w.meta.Name].Azure
	}
	return t.Component.Azure
}

// callsAzure reports whether pods calling services need an Azure identity
// of their own (the API server takes the service account's token).
func callsAzure(services []string) bool {
	return spec.CallsWithIdentity(services)
}

// needsIdentity reports whether a workload's pods act as the component's
// workload identity in the stamp: they call Azure, or mount Key Vault through the CSI
// driver (which reads it as the pod's service account).
func (t Target) needsIdentity(w *workload) bool {
	return callsAzure(t.azureOf(w)) || len(t.Component.KeyVaultObjects(t.Stamp)) > 0
}

// serviceAccount gives the workload's pods their own service account (the
// component's, or the job's) instead of the namespace's default, and the
// workload identity label when they call Azure themselves. It returns the
// account's name.
func (t Target) serviceAccount(w *workload) string {
	ps := &w.pod.Spec
	if ps.ServiceAccountName == "" || ps.ServiceAccountName == "default" {
		ps.ServiceAccountName = t.Name
		if w.kind == "CronJob" || w.kind == "Job" {
			ps.ServiceAccountName = w.meta.Name
		}
	}
	ps.DeprecatedServiceAccount = ""
	if callsAzure(t.azureOf(w)) {
		w.pod.Labels[WorkloadIdentityUse] = "true"
	}
	return ps.ServiceAccountName
}

// serviceAccounts returns the accounts the component's pods run as that its
// base does not render, and annotates every account whose pods act as the
// component's workload identity (generated or rendered) with its client ID.
func (t Target) serviceAccounts(objs []*manifest.Object, ws []*workload) []runtime.Object {
	need := map[string]bool{} // account -> needs the identity
	var order []string
	for _, w := range ws {
		sa := w.pod.Spec.ServiceAccountName
		if _, ok := need[sa]; !ok {
			order = append(order, sa)
		}
		need[sa] = need[sa] || t.needsIdentity(w)
	}
	var out []runtime.Object
	for _, name := range order {
		var annotations map[string]string
		if need[name] {
			annotations = map[string]string{WorkloadIdentityClientID: t.Stamp.Identities[t.Name]}
		}
		if i := slices.IndexFunc(objs, func(o *manifest.Object) bool { return o.GetKind() == "ServiceAccount" && manifest.Name(o) == name }); i >= 0 {
			if annotations != nil {
				a := objs[i].GetAnnotations()
				if a == nil {
					a = map[string]string{}
				}
				a[WorkloadIdentityClientID] = t.Stamp.Identities[t.Name]
				objs[i].SetAnnotations(a)
			}
			continue
		}
		no := false
		meta := t.meta(name)
		meta.Annotations = annotations
		out = append(out, &corev1.ServiceAccount{
			TypeMeta:                     metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta:                   meta,
			AutomountServiceAccountToken: &no,
		})
	}
	return out
}
