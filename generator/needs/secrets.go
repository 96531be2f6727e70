package needs

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"fmt"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/programs"
)

// secretsStoreSync is how a SecretProviderClass's secretObjects become a
// Secret: the driver creates it when a pod mounts the class, and it goes
// with the last pod that mounts it.
const secretsStoreSync = "https://secrets-store-csi-driver.sigs.k8s.io/topics/sync-as-kubernetes-secret.html (the Secret is created once a pod mounts the SecretProviderClass; it is deleted with the last pod that mounts it)"

// secrets checks that every Secret a container's program reads from the
// API server exists in the stamp: rendered as a Secret, or synced by a
// SecretProviderClass of its namespace that a pod there mounts.
func (s *stamp) secrets(p *pod, c programs.Container, prog *programs.Program, n programs.Needs) []policy.Finding {
	var out []policy.Finding
	for _, r := range n.Secrets {
		if why := s.secretMissing(r); why != "" {
			out = append(out, p.finding(RuleSecret, policy.Deny,
				fmt.Sprintf("%s (container %q of %s) reads Secret %s/%s (%s), but %s: %s [%s; %s]", prog.Name, c.Spec.Name, p, r.Namespace, r.Name, r.Why, why, r.Missing, r.Source, secretsStoreSync),
				"sync the Secret from Key Vault with a SecretProviderClass in its namespace that the reading pods mount (the generator does for the component with terminatesTLS)"))
		}
	}
	return out
}

// secretMissing says why no Secret r exists in the stamp; "" when one does.
func (s *stamp) secretMissing(r programs.SecretRead) string {
	synced := false
	for _, in := range s.inputs {
		o := in.Object
		if o.GetNamespace() != r.Namespace {
			continue
		}
		switch o.GetKind() {
		case "Secret":
			if manifest.Name(o) == r.Name {
				return ""
			}
		case "SecretProviderClass":
			objs, _, _ := unstructured.NestedSlice(o.Object, "spec", "secretObjects")
			for _, so := range objs {
				m, _ := so.(map[string]any)
				if m["secretName"] != r.Name {
					continue
				}
				if t, _ := m["type"].(string); r.Type != "" && t != r.Type {
					return fmt.Sprintf("SecretProviderClass %s syncs it as type %q, not %s", manifest.Name(o), t, r.Type)
				}
				synced = true
				if s.mounted(r.Namespace, manifest.Name(o)) {
					return ""
				}
			}
		}
	}
	if synced {
		return "no pod in " + r.Namespace + " mounts the SecretProviderClass that syncs it, so the CSI driver never creates it"
	}
	return "the stamp renders no such Secret and no SecretProviderClass in " + r.Namespace + " syncs one"
}

// mounted reports whether a pod of the namespace mounts the SecretProviderClass.
func (s *stamp) mounted(ns, spc string) bool {
	for _, p := range s.pods {
		if p.in.Object.GetNamespace() != ns {
			continue
		}
		for _, v := range p.tpl.Spec.Volumes {
			if v.CSI != nil && v.CSI.Driver == "secrets-store.csi.k8s.io" && v.CSI.VolumeAttributes["secretProviderClass"] == spc {
				return true
			}
		}
	}
	return false
}
