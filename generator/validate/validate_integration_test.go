package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// kubeconfigEnv names the API server make e2e starts for these tests.
const kubeconfigEnv = "GITOPS_E2E_KUBECONFIG"

func TestMain(m *testing.M) {
	if os.Getenv(kubeconfigEnv) == "" {
		fmt.Fprintf(os.Stderr, "\n*** %s is not set: the API server integration tests are SKIPPED.\n*** Run `make e2e`, which starts etcd and kube-apiserver and runs them (CI does).\n\n", kubeconfigEnv)
	}
	os.Exit(m.Run())
}

// apiserver is the API server make e2e started; the test is skipped,
// loudly, without one.
func apiserver(t *testing.T) *rest.Config {
	t.Helper()
	kubeconfig := os.Getenv(kubeconfigEnv)
	if kubeconfig == "" {
		t.Skipf("SKIPPED LOUDLY: %s is not set; run make e2e to provide a kube-apiserver", kubeconfigEnv)
	}
	cfg, err := Config(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func deployment(t *testing.T, name, spec string) *manifest.Object {
	t.Helper()
	y := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  namespace: e2e-rejects
spec:
%s`, name, spec)
	objs, err := manifest.Decode(name, []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return objs[0]
}

const goodSpec = `  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0.0
`

// TestIntegrationRejects: the API server rejects an unknown field, a wrong
// type and a selector that does not match its template, each reported with
// its file; a well-formed object passes.
func TestIntegrationRejects(t *testing.T) {
	cfg := apiserver(t)
	inputs := []Input{
		{File: "rendered/e2e/good.yaml", Object: deployment(t, "good", goodSpec)},
		{File: "rendered/e2e/unknown-field.yaml", Object: deployment(t, "unknown-field", strings.Replace(goodSpec, "  replicas: 2\n", "  replicas: 2\n  replica: 3\n", 1))},
		{File: "rendered/e2e/wrong-type.yaml", Object: deployment(t, "wrong-type", strings.Replace(goodSpec, "  replicas: 2\n", "  replicas: two\n", 1))},
		{File: "rendered/e2e/selector.yaml", Object: deployment(t, "selector", strings.Replace(goodSpec, "labels: {app: web}", "labels: {app: api}", 1))},
	}
	res, err := Run(context.Background(), cfg, nil, inputs, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server %s, %d checked", res.ServerVersion, res.Checked)
	want := map[string]string{
		"rendered/e2e/unknown-field.yaml": `unknown field "spec.replica"`,
		"rendered/e2e/wrong-type.yaml":    "spec.replicas",
		"rendered/e2e/selector.yaml":      "selector",
	}
	if len(res.Rejected) != len(want) {
		t.Errorf("rejected %d objects, want %d: %+v", len(res.Rejected), len(want), res.Rejected)
	}
	for _, r := range res.Rejected {
		w, ok := want[r.File]
		if !ok {
			t.Errorf("unexpected rejection: %s", r)
			continue
		}
		if !strings.Contains(r.Message, w) || r.Kind != "Deployment" || r.Namespace != "e2e-rejects" {
			t.Errorf("%s: %s, want a message about %q", r.File, r, w)
		}
		t.Log(r)
	}
}

// TestIntegrationArgoCDSchemas: with the repo's CRDs (Argo CD's own), the
// API server refuses an Application without a destination and an
// AppProject whose sourceRepos is not a list, and serves a well-formed
// Application.
func TestIntegrationArgoCDSchemas(t *testing.T) {
	cfg := apiserver(t)
	files := map[string][]byte{}
	for _, name := range []string{"applications.argoproj.io.yaml", "appprojects.argoproj.io.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "crds", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	crds, err := LoadCRDs(files)
	if err != nil {
		t.Fatal(err)
	}
	object := func(y string) *manifest.Object {
		objs, err := manifest.Decode("t.yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return objs[0]
	}
	const app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: %s, namespace: e2e-argocd}\nspec: {project: p, source: {repoURL: https://example.com/r.git, path: x, targetRevision: rendered}%s}\n"
	inputs := []Input{
		{File: "rendered/e2e/app.yaml", Object: object(fmt.Sprintf(app, "good", ", destination: {server: https://kubernetes.default.svc}"))},
		{File: "rendered/e2e/no-destination.yaml", Object: object(fmt.Sprintf(app, "no-destination", ""))},
		{File: "rendered/e2e/project.yaml", Object: object("apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: p, namespace: e2e-argocd}\nspec: {sourceRepos: https://example.com/r.git}\n")},
	}
	res, err := Run(context.Background(), cfg, crds, inputs, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"rendered/e2e/no-destination.yaml": "spec.destination",
		"rendered/e2e/project.yaml":        "spec.sourceRepos",
	}
	if len(res.Rejected) != len(want) {
		t.Errorf("rejected %d objects, want %d: %+v", len(res.Rejected), len(want), res.Rejected)
	}
	for _, r := range res.Rejected {
		if w, ok := want[r.File]; !ok || !strings.Contains(r.Message, w) {
			t.Errorf("%s: %s, want a message about %q", r.File, r, w)
		}
		t.Log(r)
	}
}
