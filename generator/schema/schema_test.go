package schema

import (
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/manifest"
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
	v, err := Load("../../crds")
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
		{"custom resource missing required", "apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: a, namespace: ns}\nspec: {parameters: {}}\n", "spec.provider"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Check(decode(t, tc.obj))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
