package policy

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
)

// TestASTDataIsData: the data Evaluate gives OPA, built from each object's
// value, is Data as OPA would convert it (the document cliplan writes for
// conftest), including a later object replacing an earlier one of the same
// stamp, kind and name, and an object's summary under data.summaries.
func TestASTDataIsData(t *testing.T) {
	objs, err := manifest.Decode("objects.yaml", []byte(`apiVersion: v1
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
`))
	if err != nil {
		t.Fatal(err)
	}
	stamps := []string{"weu-1", "weu-1", "weu-1", "neu-1"}
	var inputs []Input
	for i, o := range objs {
		inputs = append(inputs, Input{Unit: layout.Unit{Env: "dev", Stamp: stamps[i], Component: "api"}, Object: o})
	}
	env := Environment{Name: "dev", Zones: []string{"1", "2", "3"}}
	sums := make([]Summary, len(inputs))
	sums[3].Value = json.RawMessage(`{"resources":{"cpu":1}}`)

	s, err := (&Engine{}).NewSession(context.Background(), env, inputs, 1)
	if err != nil {
		t.Fatal(err)
	}
	values, err := summaryValues(inputs, sums)
	if err != nil {
		t.Fatal(err)
	}
	got := s.data(values)
	plain, err := Data(env, inputs, sums)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ast.InterfaceToValue(plain)
	if err != nil {
		t.Fatal(err)
	}
	if got.Compare(want) != 0 {
		t.Fatalf("astData =\n%v\nwant\n%v", got, want)
	}
	path := ast.Ref{ast.StringTerm("rendered"), ast.StringTerm("weu-1"), ast.StringTerm("Deployment"), ast.StringTerm("api/api"), ast.StringTerm("spec"), ast.StringTerm("replicas")}
	if r, err := got.Find(path); err != nil || r.String() != "3" {
		t.Fatalf("%v = %v (%v), want the later Deployment's 3", path, r, err)
	}
}
