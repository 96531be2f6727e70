package check

import (
	"encoding/json"
	"testing"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/spec"
)

// testIndex is the data of one Deployment and one HorizontalPodAutoscaler
// in stamp weu-1 of a two-zone environment.
func testIndex(t testing.TB) *dataIndex {
	t.Helper()
	objs, err := manifest.Decode("objects.yaml", []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: api}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: api}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := &spec.Environment{Metadata: spec.Metadata{Name: "dev"}, Spec: spec.EnvironmentSpec{Cluster: spec.Cluster{Zones: []string{"1", "2"}}}}
	var inputs []policy.Input
	var digests []digest
	for i, o := range objs {
		inputs = append(inputs, policy.Input{Unit: layout.Unit{Env: "dev", Stamp: "weu-1", Component: "api"}, Object: o})
		digests = append(digests, digest{byte(i + 1)})
	}
	return newDataIndex(env, inputs, digests)
}

// TestDataIndex: what each kind of path finds changes with what is there,
// and only then.
func TestDataIndex(t *testing.T) {
	x := testIndex(t)
	at := func(p ...string) digest {
		t.Helper()
		d, ok := x.at(p)
		if !ok {
			t.Fatalf("%v: not judged", p)
		}
		return d
	}
	hpa := at("rendered", "weu-1", "HorizontalPodAutoscaler", "api/api")
	if hpa == absent || hpa == at("rendered", "weu-1", "Deployment", "api/api") {
		t.Error("two objects of different content hash alike, or one is absent")
	}
	if at("rendered", "weu-1", "HorizontalPodAutoscaler", "api/other") != absent || at("rendered", "weu-1", "PodDisruptionBudget") != absent || at("environment", "nothing", "here") != absent {
		t.Error("a path holding nothing does not find absent")
	}
	if at("rendered", "weu-1", "HorizontalPodAutoscaler") == at("rendered", "weu-1", "Deployment") {
		t.Error("two kinds of different objects hash alike")
	}
	if at("environment", "zones") == absent || at("environment", "zones", "1") == absent {
		t.Error("the environment's zones, or its second zone, found absent")
	}
	if _, ok := x.at(nil); ok {
		t.Error("the whole data document was judged: a verdict that read it must never be reused")
	}
}

// FuzzUnitEntry: a cache entry of any bytes is refused or judged, never a
// panic (the shared store is written by other jobs: an entry is signed,
// but is still read as untrusted).
func FuzzUnitEntry(f *testing.F) {
	good, err := json.Marshal(unitEntry{Objects: []objectEntry{{
		Policy: policy.Result{Reads: []policy.Path{{"rendered", "weu-1", "HorizontalPodAutoscaler", "api/api"}, {"environment", "zones"}}},
		Seen:   []digest{{1}, {2}},
	}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"objects":[{"policy":{"findings":[{"rule":"x","message":"m"}],"stampWide":[5,-1,0]},"seen":["zz"]}]}`))
	f.Add([]byte(`{"objects":[{"policy":{"reads":[[]]},"seen":[""]}]}`))
	x := testIndex(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var e unitEntry
		if json.Unmarshal(b, &e) != nil || !e.valid() {
			return
		}
		for i := range e.Objects {
			e.Objects[i].current(x)
		}
	})
}
