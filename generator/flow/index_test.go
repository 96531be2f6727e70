package flow_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/spec"
)

// TestBuildForIsBuildFiltered: the graph of one component's render is the
// whole graph's flows with that component (its main pods or a job's) at an
// end, for every component of every environment of the repo.
func TestBuildForIsBuildFiltered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "environments", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no environments: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		env, err := spec.Parse(filepath.Join("environments", filepath.Base(file)), data)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := flow.Build(env, env.Spec.Stamps[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range env.ComponentNames() {
			got, err := flow.BuildFor(env, env.Spec.Stamps[0], nil, name)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.DeleteFunc(slices.Clone(whole.Flows), func(f flow.Flow) bool {
				return f.From.Component != name && f.To.Component != name
			})
			if diff := cmp.Diff(want, got.Flows); diff != "" {
				t.Errorf("%s/%s: BuildFor differs from Build filtered (-build +buildFor):\n%s", env.Name(), name, diff)
			}
		}
	}
}
