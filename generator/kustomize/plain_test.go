package kustomize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const plainKustomizationFile = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n"

// TestBuildPlainIsKrusty: where buildPlain builds a kustomization, it gives
// krusty's objects in krusty's order; what it does not build is what it
// should leave to krusty.
func TestBuildPlainIsKrusty(t *testing.T) {
	const deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec: {replicas: 2}\n"
	cases := []struct {
		name  string
		files Files
		plain bool
	}{
		{"documents, comments, empty documents", Files{
			"/k/kustomization.yaml": []byte("resources:\n- a.yaml\n- sub/b.yaml\n- c.json\n"),
			"/k/a.yaml":             []byte("# leading comment\n---\n" + deploy + "---\n---\n# only a comment\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  labels: {a: b}\n  annotations: {note: \"x: y\"}\nspec:\n  ports: [{port: 80, targetPort: http}]\n"),
			"/k/sub/b.yaml":         []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: values}\ndata:\n  on: yes\n  float: 1e3\n  tilde: ~\n  empty:\n  quoted: \"on\"\n  multi: |\n    line one\n    line two\n"),
			"/k/c.json":             []byte(`{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "apps"}, "automountServiceAccountToken": false}`),
		}, true},
		{"numbers and nulls", Files{
			"/k/kustomization.yaml": []byte(plainKustomizationFile),
			"/k/a.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n, creationTimestamp: null}\ndata: {}\nbinaryData: null\nx: [1, -2, 3.5, 1e3, 0x1F, 0777, true, null, \"7\"]\n"),
		}, false}, // 0x1F: fromNode declines YAML's hex; krusty decodes it
		{"decimal numbers and nulls", Files{
			"/k/kustomization.yaml": []byte(plainKustomizationFile),
			"/k/a.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n, creationTimestamp: null}\ndata: {}\nbinaryData: null\nx: [1, -2, 3.5, 0, true, null, \"7\", 9007199254740991]\n"),
		}, true},
		{"timestamp", Files{
			"/k/kustomization.yaml": []byte(plainKustomizationFile),
			"/k/a.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {date: 2001-12-14}\n"),
		}, false}, // YAML's timestamp: fromNode declines it
		{"anchors", Files{
			"/k/kustomization.yaml": []byte(plainKustomizationFile),
			"/k/a.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {x: y}}\ndata: *l\n"),
		}, false},
		{"merge key", Files{
			"/k/kustomization.yaml": []byte(plainKustomizationFile),
			"/k/a.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {<<: {x: y}, z: w}\n"),
		}, false},
		{"explicit tag", Files{
			"/k/kustomization.yaml": []byte(plainKustomizationFile),
			"/k/a.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {n: !!str 12}\n"),
		}, false},
		{"list", Files{
			"/k/kustomization.yaml": []byte(plainKustomizationFile),
			"/k/a.yaml":             []byte("apiVersion: v1\nkind: List\nmetadata: {name: l}\nitems:\n- " + strings.ReplaceAll(deploy, "\n", "\n  ")),
		}, false},
		{"local config", Files{
			"/k/kustomization.yaml": []byte(plainKustomizationFile),
			"/k/a.yaml":             []byte(deploy + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: local, annotations: {config.kubernetes.io/local-config: \"true\"}}\n"),
		}, false},
		{"other fields", Files{
			"/k/kustomization.yaml": []byte(plainKustomizationFile + "namePrefix: x-\n"),
			"/k/a.yaml":             []byte(deploy),
		}, false},
		{"a directory resource", Files{
			"/k/kustomization.yaml":      []byte("resources: [base]\n"),
			"/k/base/kustomization.yaml": []byte(plainKustomizationFile),
			"/k/base/a.yaml":             []byte(deploy),
		}, false},
		{"a component kind", Files{
			"/k/kustomization.yaml": []byte("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [a.yaml]\n"),
			"/k/a.yaml":             []byte(deploy),
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkPlain(t, c.files, "/k", c.plain)
		})
	}
}

// TestBuildPlainDeclinesWhatKrustyRefuses: two objects with one ID are
// krusty's error to report.
func TestBuildPlainDeclinesWhatKrustyRefuses(t *testing.T) {
	files := Files{
		"/k/kustomization.yaml": []byte("resources: [a.yaml, b.yaml]\n"),
		"/k/a.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"),
		"/k/b.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"),
	}
	if _, ok := buildPlain(files, "/k", nil); ok {
		t.Fatal("buildPlain built two ConfigMaps a")
	}
	if _, err := Build(files, "/k"); err == nil {
		t.Fatal("Build accepted two ConfigMaps a")
	}
}

// TestBuildPlainBuildsTheRepoBases: every base of the repo's platform is
// built as krusty builds it, and the plain ones without krusty.
func TestBuildPlainBuildsTheRepoBases(t *testing.T) {
	root := filepath.Join("..", "..", "base")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	plain := 0
	for _, d := range dirs {
		files := Files{}
		err := filepath.WalkDir(filepath.Join(root, d.Name()), func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			files["/base/"+filepath.ToSlash(rel)] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := files["/base/"+d.Name()+"/kustomization.yaml"]; !ok {
			continue // a chart
		}
		if checkPlain(t, files, "/base/"+d.Name(), false) {
			plain++
		}
	}
	if plain < 3 {
		t.Errorf("buildPlain built %d of the repo's bases; the plain ones (api, healthservice, tokenization) should be", plain)
	}
}

// checkPlain compares buildPlain with krusty for dir; mustBePlain: the
// fast path must be taken.
func checkPlain(t *testing.T, files Files, dir string, mustBePlain bool) bool {
	t.Helper()
	want, err := buildKrusty(files, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := buildPlain(files, dir, nil)
	if mustBePlain && !ok {
		t.Errorf("%s: buildPlain declined", dir)
	}
	if ok {
		if diff := cmp.Diff(objects(want), objects(got)); diff != "" {
			t.Errorf("%s: buildPlain differs from krusty (-krusty +plain):\n%s", dir, diff)
		}
	}
	return ok
}
