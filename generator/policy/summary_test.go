package policy_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/generator/policy"
)

// TestSummaries: a package's summary rule summarizes the objects of the
// kinds it guards, recording what it read; the findings see every
// object's summary as data.summaries[stamp][kind]["namespace/name"]
// (package: summary), from Summaries or from elsewhere (a cache), and a
// summary never sees data.summaries.
func TestSummaries(t *testing.T) {
	engine, err := policy.LoadFiles("policies", map[string][]byte{"t.rego": []byte(`package libertum.t

summary := {"replicas": input.spec.replicas, "autoscaled": autoscaled} if {
	input.kind == "Deployment"
	autoscaled := count([h | some h in data.rendered["weu-1"].HorizontalPodAutoscaler]) > 0
	not data.summaries
}

deny contains sprintf("the stamp runs %d replicas", [sum([s.t.replicas | some s in data.summaries["weu-1"].Deployment])]) if {
	input.kind == "Namespace"
}
`)})
	if err != nil {
		t.Fatal(err)
	}
	inputs := apiInputs(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: api}
spec: {replicas: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: data}
spec: {replicas: 3}
---
apiVersion: v1
kind: Namespace
metadata: {name: api}
`)
	ctx := context.Background()
	s, err := engine.NewSession(policy.Environment{Name: "dev"}, inputs, 1)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := s.Summaries(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(sums[0].Value), `{"t":{"autoscaled":false,"replicas":2}}`; got != want {
		t.Errorf("the api Deployment's summary is %s, want %s", got, want)
	}
	// It read the stamp's autoscalers, and found no data.summaries.
	if want := []policy.Path{{"rendered", "weu-1", "HorizontalPodAutoscaler"}, {"summaries"}}; !cmp.Equal(readsUnder(sums[0].Reads, "rendered", "summaries"), want) {
		t.Errorf("the summary read %v, want %v", sums[0].Reads, want)
	}
	if sums[2].Value != nil || sums[2].Reads != nil {
		t.Errorf("a Namespace, which no summary rule guards, was summarized: %+v", sums[2])
	}
	message := func(sums []policy.Summary) string {
		t.Helper()
		results, err := s.Evaluate(ctx, sums, []int{2})
		if err != nil {
			t.Fatal(err)
		}
		if len(results[2].Findings) != 1 {
			t.Fatalf("findings %v, want one", results[2].Findings)
		}
		if want := (policy.Path{"summaries", "weu-1", "Deployment"}); !cmp.Equal(readsUnder(results[2].Reads, "summaries"), []policy.Path{want}) {
			t.Errorf("the Namespace's rule read %v, want %v", results[2].Reads, want)
		}
		return results[2].Findings[0].Message
	}
	if got := message(sums); got != "the stamp runs 5 replicas" {
		t.Errorf("with the summaries evaluated: %q", got)
	}
	// A summary kept from elsewhere is what the rules see.
	sums[1].Value = []byte(`{"t":{"autoscaled":false,"replicas":7}}`)
	if got := message(sums); got != "the stamp runs 9 replicas" {
		t.Errorf("with db's summary replaced: %q", got)
	}
}

// readsUnder keeps the paths under the given roots of the data.
func readsUnder(paths []policy.Path, roots ...string) []policy.Path {
	var out []policy.Path
	for _, p := range paths {
		for _, r := range roots {
			if len(p) > 0 && p[0] == r {
				out = append(out, p)
			}
		}
	}
	return out
}
