package kustomize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: app
`

func TestBuildAppliesOverlay(t *testing.T) {
	files := Files{
		"/base/app/kustomization.yaml": []byte("resources: [deployment.yaml]\n"),
		"/base/app/deployment.yaml":    []byte(deployment),
		"/overlay/kustomization.yaml":  []byte("resources: [../base/app]\nnamespace: prod\nimages:\n  - name: app\n    newName: acr.io/app\n    newTag: abc123\n"),
	}
	objs, err := Build(files, "/overlay")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].GetNamespace() != "prod" {
		t.Fatalf("objs = %v", objs)
	}
	if !strings.Contains(toString(objs[0].Object), "acr.io/app:abc123") {
		t.Errorf("image not pinned: %v", objs[0].Object)
	}
}

func toString(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		case string:
			b.WriteString(t + " ")
		}
	}
	walk(v)
	return b.String()
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name  string
		files Files
		want  string
	}{
		{
			name: "patch target that matches nothing",
			files: Files{
				"/k/kustomization.yaml": []byte("resources: [d.yaml]\npatches:\n  - target:\n      kind: Deployment\n      name: other\n    patch: |-\n      - op: add\n        path: /spec/replicas\n        value: 2\n"),
				"/k/d.yaml":             []byte(deployment),
			},
			want: "k/kustomization.yaml:3: patch target {kind=\"Deployment\", name=\"other\"} matches no object",
		},
		{
			name: "strategic merge patch for a missing object",
			files: Files{
				"/k/kustomization.yaml": []byte("resources: [d.yaml]\npatches:\n  - path: p.yaml\n"),
				"/k/d.yaml":             []byte(deployment),
				"/k/p.yaml":             []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ghost\n"),
			},
			want: "k/p.yaml:4: strategic-merge patch of Deployment ghost matches no object of the build (k/kustomization.yaml:3 lists it)",
		},
		{
			name: "inline strategic merge patch for a missing object with dots in its name",
			files: Files{
				"/k/kustomization.yaml": []byte("resources: [d.yaml]\npatches:\n  - patch: |-\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata:\n        name: ghost.v2\n        namespace: apps\n"),
				"/k/d.yaml":             []byte(deployment),
			},
			want: "k/kustomization.yaml:3: strategic-merge patch of Deployment ghost.v2 matches no object",
		},
		{
			name: "file outside the kustomization root",
			files: Files{
				"/k/kustomization.yaml": []byte("resources: [../secret.yaml]\n"),
				"/secret.yaml":          []byte(deployment),
			},
			want: "security",
		},
		{
			name: "openapi, which would swap the process-global schema",
			files: Files{
				"/k/kustomization.yaml": []byte("resources: [d.yaml]\nopenapi:\n  path: schema.json\n"),
				"/k/d.yaml":             []byte(deployment),
				"/k/schema.json":        []byte("{}"),
			},
			want: "k/kustomization.yaml:2: openapi is not supported",
		},
		{
			name: "helmCharts, which would exec helm",
			files: Files{
				"/k/kustomization.yaml": []byte("helmCharts:\n  - name: x\n    repo: https://example.com\n"),
			},
			want: "helm",
		},
		{
			name: "missing patch file",
			files: Files{
				"/k/kustomization.yaml": []byte("resources: [d.yaml]\npatches:\n  - path: gone.yaml\n"),
				"/k/d.yaml":             []byte(deployment),
			},
			want: "k/kustomization.yaml:3: patch file k/gone.yaml does not exist",
		},
		{
			name: "JSON patch without a target",
			files: Files{
				"/k/kustomization.yaml": []byte("resources: [d.yaml]\npatches:\n  - patch: |-\n      - op: add\n        path: /spec/replicas\n        value: 2\n"),
				"/k/d.yaml":             []byte(deployment),
			},
			want: "k/kustomization.yaml:3: a JSON patch (a list of operations) needs a target",
		},
		{
			name: "duplicate key in a resource",
			files: Files{
				"/k/kustomization.yaml": []byte("resources: [d.yaml]\n"),
				"/k/d.yaml":             []byte("apiVersion: v1\nkind: ConfigMap\nkind: ConfigMap\nmetadata: {name: x}\n"),
			},
			want: `k/d.yaml:3: mapping key "kind" already defined at line 2`,
		},
		{
			name: "remote resource over https, which kustomize would clone",
			files: Files{
				"/k/kustomization.yaml": []byte("resources:\n  - d.yaml\n  - https://github.com/argoproj/argocd-example-apps//guestbook?ref=master\n"),
				"/k/d.yaml":             []byte(deployment),
			},
			want: "k/kustomization.yaml:3: resources entry \"https://github.com/argoproj/argocd-example-apps//guestbook?ref=master\" is remote",
		},
		{
			name: "remote component by git host path",
			files: Files{
				"/k/kustomization.yaml": []byte("resources: [d.yaml]\ncomponents:\n  - github.com/example/repo/components/x?ref=v1\n"),
				"/k/d.yaml":             []byte(deployment),
			},
			want: "k/kustomization.yaml:3: components entry",
		},
		{
			name: "remote base over ssh",
			files: Files{
				"/k/kustomization.yaml": []byte("resources:\n  - git@github.com:example/repo.git//base\n"),
			},
			want: "k/kustomization.yaml:2: resources entry",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := filepath.Glob(filepath.Join(os.TempDir(), "kustomize-*"))
			_, err := Build(tc.files, "/k")
			after, _ := filepath.Glob(filepath.Join(os.TempDir(), "kustomize-*"))
			if len(after) > len(before) {
				t.Errorf("the build left %d new kustomize-* folders in %s", len(after)-len(before), os.TempDir())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestBuildConcurrent: callers build from many goroutines at once (run it
// with -race); every build gets its own correct result.
func TestBuildConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := fmt.Sprintf("ns-%d", i)
			files := Files{
				"/k/kustomization.yaml": []byte("resources: [d.yaml]\nnamespace: " + ns + "\npatches:\n  - path: p.yaml\n"),
				"/k/d.yaml":             []byte(deployment),
				// A strategic merge patch: merges containers by name through kyaml's schema.
				"/k/p.yaml": []byte(fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          args: [%q]\n", ns)),
			}
			objs, err := Build(files, "/k")
			if err != nil {
				errs[i] = err
				return
			}
			containers, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "template", "spec", "containers")
			if len(objs) != 1 || objs[0].GetNamespace() != ns || len(containers) != 1 ||
				fmt.Sprint(containers[0].(map[string]any)["args"]) != "["+ns+"]" {
				errs[i] = fmt.Errorf("%w for %s: %v", errUnexpected, ns, objs)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

var errUnexpected = errors.New("unexpected build output")
