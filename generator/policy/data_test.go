package policy

import (
	"slices"

	"context"
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
)

// stampInputs are the objects of a YAML stream as rendered for dev's api,
// each in the stamp at its index.
func stampInputs(t *testing.T, stream string, stamps ...string) []Input {
	t.Helper()
	objs, err := manifest.Decode("objects.yaml", []byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(stamps) {
		t.Fatalf("%d objects, %d stamps", len(objs), len(stamps))
	}
	var inputs []Input
	for i, o := range objs {
		inputs = append(inputs, Input{Unit: layout.Unit{Env: "dev", Stamp: stamps[i], Component: "api"}, Object: o})
	}
	return inputs
}

// TestASTDataIsData: the data Evaluate gives OPA, built from each object's
// value, is Data as OPA would convert it (the document cliplan writes for
// conftest), including a later object replacing an earlier one of the same
// stamp, kind and name (its summary too: the earlier one's is gone), and an
// object's summary under data.summaries.
func TestASTDataIsData(t *testing.T) {
	inputs := stampInputs(t, `apiVersion: v1
kind: Namespace
metadata: {name: api}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: api}
spec: {replicas: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: api}
spec: {replicas: 3}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: api}
spec: {ports: [{port: 80}]}
`, "weu-1", "weu-1", "weu-1", "neu-1")
	env := Environment{Name: "dev", Zones: []string{"1", "2", "3"}}
	sums := make([]Summary, len(inputs))
	sums[1].Value = json.RawMessage(`{"resources":{"cpu":2}}`) // replaced by a Deployment without one
	sums[3].Value = json.RawMessage(`{"resources":{"cpu":1}}`)

	s, err := (&Engine{}).NewSession(env, inputs, 1)
	if err != nil {
		t.Fatal(err)
	}
	values, err := summaryValues(inputs, sums)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := storage.ReadOne(context.Background(), s.store(values), storage.Path{})
	if err != nil {
		t.Fatal(err)
	}
	got := doc.(ast.Object)
	plain, err := Data(env, inputs, sums)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ast.InterfaceToValue(plain)
	if err != nil {
		t.Fatal(err)
	}
	if got.Compare(want) != 0 {
		t.Fatalf("the data read whole =\n%v\nwant\n%v", got, want)
	}
	path := ast.Ref{ast.StringTerm("rendered"), ast.StringTerm("weu-1"), ast.StringTerm("Deployment"), ast.StringTerm("api/api"), ast.StringTerm("spec"), ast.StringTerm("replicas")}
	if r, err := got.Find(path); err != nil || r.String() != "3" {
		t.Fatalf("%v = %v (%v), want the later Deployment's 3", path, r, err)
	}
	if r, err := got.Find(ast.Ref{ast.StringTerm("summaries"), ast.StringTerm("weu-1")}); err == nil {
		t.Errorf("data.summaries holds %v for weu-1, whose one summarized object was replaced by one without", r)
	}
}

// TestObjectsConvertAsRead: data.rendered converts an object when a read
// reaches it, and no other: one object's field converts that object, a
// kind its objects; paths below an object descend its fields and lists,
// and a path holding nothing is not found.
func TestObjectsConvertAsRead(t *testing.T) {
	inputs := stampInputs(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: api}
spec: {template: {spec: {containers: [{name: api, image: api:1}]}}}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: api}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
`, "weu-1", "weu-1", "weu-1")
	tree := newObjectTree(inputs)
	converted := func() []bool {
		out := make([]bool, len(inputs))
		for i := range inputs {
			out[i] = tree.values[i] != nil
		}
		return out
	}
	v, err := tree.read(storage.Path{"weu-1", "Deployment", "api/api", "spec", "template", "spec", "containers", "0", "image"})
	if err != nil || v.Compare(ast.String("api:1")) != 0 {
		t.Fatalf("the container's image = %v (%v), want api:1", v, err)
	}
	if got := converted(); !slices.Equal(got, []bool{true, false, false}) {
		t.Errorf("after one Deployment's field, converted %v, want the Deployment only", got)
	}
	services, err := tree.read(storage.Path{"weu-1", "Service"})
	if err != nil || services.(ast.Object).Len() != 2 {
		t.Fatalf("the stamp's Services = %v (%v), want two", services, err)
	}
	if got := converted(); !slices.Equal(got, []bool{true, true, true}) {
		t.Errorf("after the Services, converted %v, want all", got)
	}
	for _, p := range []storage.Path{{"neu-1"}, {"weu-1", "Secret"}, {"weu-1", "Service", "api/db"}, {"weu-1", "Deployment", "api/api", "spec", "template", "spec", "containers", "1"}, {"weu-1", "Service", "api/api", "kind", "x"}} {
		if _, err := tree.read(p); !storage.IsNotFound(err) {
			t.Errorf("%v: %v, want not found", p, err)
		}
	}
}
