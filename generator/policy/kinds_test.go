package policy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestKindsOfPackages: a package is asked about the kinds its deny (or
// warn) rules' literal guards name, and about every kind once any of them
// has none (or one that does not hold for the object evaluated: negated,
// with other input, or naming something other than strings); a package
// without warn rules is not asked for warnings.
func TestKindsOfPackages(t *testing.T) {
	src := map[string]string{
		"a.rego": "package libertum.a\ndeny contains 1 if input.kind in {\"X\", \"Y\"}\nwarn contains 2 if { input.kind == \"Z\"; input.x }\n",
		"b.rego": "package libertum.b\ndeny contains 1 if input.kind in {\"X\"}\ndeny contains 2 if input.metadata.name == \"n\"\n",
		"c.rego": "package libertum.c\ndeny contains 1 if not input.kind in {\"X\"}\n",
		"d.rego": "package libertum.d\ndeny contains 1 if input.kind in {\"X\"} with input as {\"kind\": \"X\"}\n",
		"e.rego": "package libertum.e\ndeny contains 1 if input.kind in {\"X\", 5}\n",
		"f.rego": "package libertum.f\nk := input.kind\ndeny contains 1 if { k := input.kind; k == \"W\" }\n",
		"g.rego": "package libertum.g.h\ndeny contains 1 if true\n",
		"l.rego": "package libertum.lib\nx := 1\n",
	}
	files := map[string][]byte{}
	for name, s := range src {
		files[name] = []byte(s)
	}
	e, err := LoadFiles("test", files)
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[string][]string{
		"X": {"a", "b", "c", "d", "e"},
		"Z": {"b", "c", "d", "e"},
		"W": {"b", "c", "d", "e", "f"},
		"Q": {"b", "c", "d", "e"},
	} {
		if got := e.kinds[Deny].packagesFor(kind); !slices.Equal(got, want) {
			t.Errorf("deny packages for %s: %v, want %v", kind, got, want)
		}
	}
	for kind, want := range map[string][]string{"Z": {"a"}, "X": nil} {
		if got := e.kinds[Warn].packagesFor(kind); !slices.Equal(got, want) {
			t.Errorf("warn packages for %s: %v, want %v", kind, got, want)
		}
	}
}

// TestQueriesByKindFindWhatEveryPackageFinds: over the repo's rendered
// environments, with objects added that break rules of most packages,
// Evaluate (each kind asking only its packages) finds exactly what the
// query asking every package finds for every object.
func TestQueriesByKindFindWhatEveryPackageFinds(t *testing.T) {
	e := loadDir(t, "../../policies")
	e.specializeAt = 1 // every kind its own query, however few its objects
	bad, err := manifest.Decode("bad.yaml", []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: apps}
spec:
  replicas: 1
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      hostNetwork: true
      containers: [{name: bad, image: "nginx", securityContext: {privileged: true}}]
---
apiVersion: v1
kind: Service
metadata: {name: bad, namespace: apps, labels: {app.kubernetes.io/name: bad}}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unlabelled, namespace: apps}
`))
	if err != nil {
		t.Fatal(err)
	}
	packages := map[string]bool{}
	for _, name := range []string{"dev", "staging", "prod"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "environments", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		env, err := spec.Parse(name+".yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		inputs := renderedInputs(t, name)
		for _, o := range bad {
			inputs = append(inputs, Input{Unit: layout.Unit{Env: name, Stamp: inputs[0].Stamp, Component: "bad"}, File: "bad.yaml", Object: o})
		}
		got, err := e.Evaluate(context.Background(), EnvironmentOf(env), inputs, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := everyPackage(t, e, EnvironmentOf(env), inputs)
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmp.AllowUnexported(Finding{})); d != "" {
			t.Errorf("%s: findings differ from the query asking every package (-want +got):\n%s", name, d)
		}
		for _, f := range got {
			pkg, _, _ := strings.Cut(f.Rule, ".")
			packages[pkg] = true
		}
	}
	if len(packages) < 5 {
		t.Errorf("the findings come from %d packages only (%v); the comparison needs more", len(packages), packages)
	}
}

// everyPackage evaluates every input with the query that asks every
// package.
func everyPackage(t *testing.T, e *Engine, env Environment, inputs []Input) []Finding {
	t.Helper()
	ctx := context.Background()
	s, err := e.NewSession(env, inputs, 1)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := s.Summaries(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := summaryValues(inputs, sums)
	if err != nil {
		t.Fatal(err)
	}
	pq, err := rego.New(rego.Compiler(e.compiler), rego.Store(s.store(sv)), rego.StoreReadAST(true), rego.Query(query)).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []Finding
	for i, in := range inputs {
		input, err := s.objects.value(i)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := evalOne(ctx, pq, env.Name, in, input)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fs...)
	}
	return Dedupe(out)
}

// renderedInputs reads an environment of the repo's committed render.
func renderedInputs(t *testing.T, env string) []Input {
	t.Helper()
	var inputs []Input
	for _, o := range platformtest.Rendered(t, filepath.Join("..", ".."), env) {
		inputs = append(inputs, Input{Unit: o.Unit, File: o.File, Object: o.Object})
	}
	if len(inputs) < 100 {
		t.Fatalf("%s: only %d rendered objects", env, len(inputs))
	}
	return inputs
}
