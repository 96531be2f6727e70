package kustomize

import (
	"errors"
	"strings"
	"sync"
	"testing"
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
			want: "ghost",
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
			name: "helmCharts, which would exec helm",
			files: Files{
				"/k/kustomization.yaml": []byte("helmCharts:\n  - name: x\n    repo: https://example.com\n"),
			},
			want: "helm",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.files, "/k")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestBuildConcurrent: callers may build from many goroutines; the wrapper
// serialises krusty so results stay correct.
func TestBuildConcurrent(t *testing.T) {
	files := Files{"/k/kustomization.yaml": []byte("resources: [d.yaml]\nnamespace: ns\n"), "/k/d.yaml": []byte(deployment)}
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			objs, err := Build(files, "/k")
			if err == nil && (len(objs) != 1 || objs[0].GetNamespace() != "ns") {
				err = errUnexpected
			}
			errs[i] = err
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
