package schema

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/workspace"
)

func decode(t *testing.T, y string) *manifest.Object {
	t.Helper()
	objs, err := manifest.Decode("t.yaml", []byte(y))
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode: %v", err)
	}
	return objs[0]
}

func TestCheck(t *testing.T) {
	v, err := repoCRDs()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		obj  string
		want string // "" means valid
	}{
		{"valid deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: 2\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: a, image: x}]}}\n", ""},
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replica: 2}\n", "replica"},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: two}\n", "replicas"},
		{"unknown kind", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\n", "no schema"},
		{"valid custom resource", "apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: a, namespace: ns}\nspec: {provider: azure, parameters: {keyvaultName: kv}}\n", ""},
		{"custom resource unknown field", "apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: a, namespace: ns}\nspec: {provider: azure, provder: x}\n", "spec.provder"},
		{"custom resource wrong type", "apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: a, namespace: ns}\nspec: {provider: azure, parameters: {count: 1}}\n", "spec.parameters.count"},
		{"argo cd application", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a, namespace: argocd}\nspec: {project: p, source: {repoURL: r, path: x, targetRevision: rendered}, destination: {server: s}}\n", ""},
		{"argo cd application unknown field", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec: {project: p, sourc: {}}\n", "sourc"},
		{"argo cd project wrong type", "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: a}\nspec: {sourceRepos: r}\n", "sourceRepos"},
		{"required fields left out", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {}\n", "required field spec.selector, spec.template missing"},
		{"required field set to null", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  selector: null\n  template: {spec: {containers: [{name: a}]}}\n", "spec.selector"},
		{"required field of a list item", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{image: x}]}\n", "spec.containers[0].name"},
		{"optional field with no omitempty", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: ns}\nspec: {policyTypes: [Ingress]}\n", ""},
		{"int32 wraps", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: 4294967299\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: a, image: x}]}}\n", "replicas"},
		{"int32 overflows", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: 2147483648\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: a, image: x}]}}\n", "replicas"},
		{"removed API version", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: a, namespace: ns}\nspec: {minAvailable: 1}\n", "removed in Kubernetes 1.25 and the environment runs v1.32.13; use policy/v1 PodDisruptionBudget"},
		{"api service", "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.metrics.k8s.io}\nspec: {group: metrics.k8s.io, version: v1beta1, groupPriorityMinimum: 100, versionPriority: 100, service: {name: metrics-server, namespace: kube-system}}\n", ""},
		{"api service missing priority", "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.metrics.k8s.io}\nspec: {group: metrics.k8s.io, version: v1beta1}\n", "spec.groupPriorityMinimum"},
		{"custom resource missing required", "apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: a, namespace: ns}\nspec: {parameters: {}}\n", "spec.provider"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Check(decode(t, tc.obj), "v1.32.13")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestRemovedOnlyFromItsRelease: a removed API version is an error from the
// release that removed it on, not before.
func TestRemovedOnlyFromItsRelease(t *testing.T) {
	v, err := repoCRDs()
	if err != nil {
		t.Fatal(err)
	}
	pdb := decode(t, "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: a, namespace: ns}\nspec: {minAvailable: 1}\n")
	if err := v.Check(pdb, "v1.24.17"); err != nil {
		t.Errorf("v1.24 still serves policy/v1beta1: %v", err)
	}
	if err := v.Check(pdb, "v1.25.0"); err == nil {
		t.Error("v1.25 removed policy/v1beta1, and the check passed")
	}
}

// repoCRDs is a Validator of the repo's CRDs, read as the workspace reads
// them.
func repoCRDs() (*Validator, error) {
	ws := workspace.Open(filepath.Join("..", ".."))
	files, err := ws.CRDs()
	if err != nil {
		return nil, err
	}
	return LoadFiles(ws.Path(workspace.CRDsDir), files)
}

// TestArgoCDCRDsAreArgoCDs: crds/ holds Argo CD's own Application and
// AppProject CRDs, byte for byte those of the argo-cd module go.mod
// requires, which is the version the Argo CD harness (tools/argocd) runs;
// and their schemas refuse what the old accept-anything CRDs let through.
func TestArgoCDCRDsAreArgoCDs(t *testing.T) {
	root := filepath.Join("..", "..")
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/argoproj/argo-cd/v2").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	harness, err := os.ReadFile(filepath.Join(root, "tools", "argocd", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(harness), "github.com/argoproj/argo-cd/v2 "+version+"\n") {
		t.Errorf("tools/argocd/go.mod does not run argo-cd %s, the version go.mod requires", version)
	}
	for src, dst := range map[string]string{"application-crd.yaml": "applications.argoproj.io.yaml", "appproject-crd.yaml": "appprojects.argoproj.io.yaml"} {
		want, err := os.ReadFile(filepath.Join(dir, "manifests", "crds", src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, "crds", dst))
		if err != nil {
			t.Fatal(err)
		}
		// Two comment lines say where the file comes from.
		if _, body, _ := strings.Cut(string(got), "do not edit.\n"); body != string(want) {
			t.Errorf("crds/%s is not argo-cd %s's manifests/crds/%s: run scripts/argocd-crds.sh", dst, version, src)
		}
	}
	v, err := repoCRDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, obj, want string }{
		{"application", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a, namespace: argocd}\nspec: {project: p, source: {repoURL: r, path: x, targetRevision: rendered}, destination: {server: s}}\n", ""},
		{"application without destination", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a, namespace: argocd}\nspec: {project: p, source: {repoURL: r}}\n", "spec.destination"},
		{"application source without repoURL", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a, namespace: argocd}\nspec: {project: p, source: {path: x}, destination: {server: s}}\n", "spec.source.repoURL"},
		{"project with a string for a list", "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: a, namespace: argocd}\nspec: {sourceRepos: r}\n", "spec.sourceRepos"},
	} {
		o := decode(t, tc.obj)
		err := checkCustom(o, v.crds[o.GroupVersionKind()])
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want it to mention %s", tc.name, err, tc.want)
		}
	}
}
