package policy_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// apiInputs are the objects of a YAML stream as rendered for dev's api in
// stamp weu-1.
func apiInputs(t *testing.T, stream string) []policy.Input {
	t.Helper()
	objs, err := manifest.Decode("objects.yaml", []byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	var inputs []policy.Input
	for _, o := range objs {
		inputs = append(inputs, policy.Input{Unit: layout.Unit{Env: "dev", Stamp: "weu-1", Component: "api"}, Object: o})
	}
	return inputs
}

// TestEvaluateEachRecordsReads: an object's result lists exactly the data
// paths its rules read — a lookup by name, a kind iterated, a field of the
// environment — and only the objects asked for are evaluated.
func TestEvaluateEachRecordsReads(t *testing.T) {
	engine, err := policy.LoadFiles("policies", map[string][]byte{"t.rego": []byte(`package libertum.t

deny contains "no autoscaler" if {
	input.kind == "Deployment"
	not data.rendered["weu-1"].HorizontalPodAutoscaler[concat("/", [input.metadata.namespace, input.metadata.name])]
}

deny contains {"rule": "t.wide", "msg": "stamp-wide", "fix": "none", "scope": "stamp"} if input.kind == "Deployment"

deny contains "a Service is open" if {
	input.kind == "Deployment"
	count(data.environment.zones) > 0
	some s in data.rendered["weu-1"].Service
	s.spec.type == "LoadBalancer"
}
`)})
	if err != nil {
		t.Fatal(err)
	}
	inputs := apiInputs(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: api}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: api}
spec: {type: LoadBalancer}
`)
	results, err := engine.EvaluateEach(context.Background(), policy.Environment{Name: "dev", Zones: []string{"1"}}, inputs, []int{0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, f := range results[0].Findings {
		msgs = append(msgs, f.Message)
	}
	slices.Sort(msgs)
	if want := []string{"a Service is open", "no autoscaler", "stamp-wide"}; !cmp.Equal(msgs, want) {
		t.Errorf("findings %v, want %v", msgs, want)
	}
	want := []policy.Path{
		{"environment", "zones"},
		{"rendered", "weu-1", "HorizontalPodAutoscaler", "api/api"},
		{"rendered", "weu-1", "Service"},
	}
	var got []policy.Path
	for _, p := range results[0].Reads {
		if p[0] != "libertum" { // the packages' own (empty) base documents
			got = append(got, p)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
	if results[1].Findings != nil || results[1].Reads != nil {
		t.Errorf("the Service was evaluated though not asked for: %+v", results[1])
	}

	// What a cache keeps of a finding besides its fields (generator/check's
	// entry form): whether it is stamp-wide, the rule's scope, for Dedupe.
	for _, f := range results[0].Findings {
		if f.StampWide() != (f.Rule == "t.wide") {
			t.Errorf("%s: stamp-wide %v; want only t.wide's", f.Rule, f.StampWide())
		}
	}
}

// TestPoliciesReadNarrowly: the repo's policies, on the repo's platform,
// never read data.rendered whole or a stamp whole — only a kind of a stamp
// or one object — nor every component's or stamp's entry of the
// environment, so a cached verdict depends on what it looked at, not on
// every object (generator/check reuses it while those paths are unchanged).
func TestPoliciesReadNarrowly(t *testing.T) {
	ctx := context.Background()
	ws := workspace.Open(platformtest.Repo())
	pl, err := plan.New(ws, plan.Options{Envs: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Run(ctx, pl, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := ws.Policies()
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.LoadFiles(workspace.PoliciesDir, files)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []policy.Input
	for _, u := range res.Units {
		for i, o := range u.Objects {
			inputs = append(inputs, policy.Input{Unit: u.Unit, File: layout.RepoPath(u.Files[i].Path), Object: o})
		}
	}
	results, err := engine.EvaluateEach(ctx, policy.EnvironmentOf(res.Envs[0]), inputs, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for i, r := range results {
		for _, p := range r.Reads {
			if len(p) == 0 || p[0] == "rendered" && len(p) < 3 {
				t.Errorf("%s %s reads data/%s: its verdict would depend on every object", inputs[i].File, manifest.IDOf(inputs[i].Object), p)
			}
			// Every component's entry, or every stamp's: an image bump
			// in the environment file would judge every object again.
			if slices.Equal(p, policy.Path{"environment", "components"}) || slices.Equal(p, policy.Path{"environment", "stamps"}) {
				t.Errorf("%s %s reads data/%s whole", inputs[i].File, manifest.IDOf(inputs[i].Object), p)
			}
			if p[0] == "rendered" {
				read++
			}
		}
	}
	if read == 0 {
		t.Error("no object read data.rendered: the recording is broken")
	}
}
