package check

import (
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/generator/capacity"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/spec"
)

// testIndex is the data of one Deployment and one HorizontalPodAutoscaler
// in stamp weu-1 of a two-zone environment, and those objects.
func testIndex(t testing.TB) (*dataIndex, []policy.Input) {
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
	return newDataIndex(env, inputs, digests), inputs
}

// indexAt is x.at for paths the index must judge.
func indexAt(t *testing.T, x *dataIndex) func(p ...string) digest {
	return func(p ...string) digest {
		t.Helper()
		d, ok := x.at(p)
		if !ok {
			t.Fatalf("%v: not judged", p)
		}
		return d
	}
}

// TestDataIndex: what each kind of path finds changes with what is there,
// and only then.
func TestDataIndex(t *testing.T) {
	x, _ := testIndex(t)
	at := indexAt(t, x)
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

// TestDataIndexSummaries: data.summaries holds nothing until the
// summaries are set (a summary is evaluated without them); then each
// object's summary is found by its JSON, and a stamp's by all of them.
func TestDataIndexSummaries(t *testing.T) {
	x, inputs := testIndex(t)
	at := indexAt(t, x)
	if at("summaries", "weu-1") != absent || at("summaries") != absent {
		t.Error("summaries found before they were set")
	}
	set := func(hpa string) {
		x.setSummaries(inputs, []policy.Summary{{}, {Value: []byte(hpa)}})
	}
	set(`{"resources":{"scales":"Deployment/api/api"}}`)
	one, stamp := at("summaries", "weu-1", "HorizontalPodAutoscaler", "api/api"), at("summaries", "weu-1")
	if one == absent || stamp == absent || at("summaries", "weu-1", "Deployment") != absent {
		t.Error("the HPA's summary is absent, or the Deployment, which has none, is not")
	}
	set(`{"resources":{"scales":"Deployment/api/other"}}`)
	if at("summaries", "weu-1", "HorizontalPodAutoscaler", "api/api") == one || at("summaries", "weu-1") == stamp {
		t.Error("a changed summary is found the same")
	}
}

// FuzzUnitEntry: a cache entry of any bytes is refused or judged, never a
// panic (the shared store is written by other jobs: an entry is signed,
// but is still read as untrusted), and what it reads writes back the same.
func FuzzUnitEntry(f *testing.F) {
	good, err := encodeEntry(sampleEntry())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(append([]byte(entryMagic), 1, 0xff, 0xff, 0xff, 0xff, 0x0f))
	f.Add(append([]byte(entryMagic), 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0))
	x, _ := testIndex(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		again, err := encodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeEntry(again)
		if err != nil {
			t.Fatalf("an entry written back does not read: %v", err)
		}
		if diff := cmp.Diff(e, back, entryEqual); diff != "" {
			t.Fatalf("an entry written back reads differently (-first +again):\n%s", diff)
		}
		if !e.valid() {
			return
		}
		for i := range e.Objects {
			o := &e.Objects[i]
			fresh(o.Summary.Reads, o.SummarySeen, x)
			o.current(x)
		}
	})
}

// sampleEntry has a field of every kind an entry keeps: findings local
// and stamp-wide, a summary with and one without a value, reads and what
// they found, and a capacity summary.
func sampleEntry() *unitEntry {
	finding := policy.Finding{Rule: "resources.limits", Level: policy.Deny,
		Unit: layout.Unit{Env: "dev", Stamp: "weu-1", Component: "api"}, Kind: "Deployment", Namespace: "api", Name: "api",
		File: "rendered/dev/weu-1/api/Deployment_api.yaml", Source: "environments/dev.yaml:12", Origin: "base/api/deployment.yaml:30",
		Message: "no memory limit", Fix: "set one", Exception: ""}
	wide := finding
	wide.Rule, wide.Message = "zones.spread", "one zone"
	wide.SetStampWide(true)
	return &unitEntry{Objects: []objectEntry{{
		Local:       []policy.Finding{finding},
		Summary:     policy.Summary{Value: []byte(`{"resources":{}}`), Reads: []policy.Path{{"rendered", "weu-1", "Deployment", "api/api"}}},
		SummarySeen: []digest{{3}},
		Policy: policy.Result{Findings: []policy.Finding{finding, wide},
			Reads: []policy.Path{{"rendered", "weu-1", "HorizontalPodAutoscaler", "api/api"}, {"summaries", "weu-1"}, {"environment", "zones"}}},
		Seen: []digest{{1}, {2}, {1}},
	}, {
		Summary: policy.Summary{Value: []byte{}},
		Policy:  policy.Result{Reads: []policy.Path{{"environment", "name"}}},
		Seen:    []digest{{1}},
	}, {}}, Capacity: &capacity.Unit{Workloads: []capacity.Workload{{Kind: "Deployment", Namespace: "api", Name: "api",
		Request: capacity.Amount{CPU: 0.25, Memory: 0.5}, Count: 2}}}}
}

// entryEqual compares entries field by field, a finding's stamp-wide flag
// included.
var entryEqual = cmp.Comparer(func(a, b policy.Finding) bool { return a == b })

// TestEntryRoundTrip: an entry reads back as it was written, a nil
// summary apart from an empty one and each finding's stamp-wide flag
// kept (Dedupe needs it); a damaged one is refused.
func TestEntryRoundTrip(t *testing.T) {
	want := sampleEntry()
	b, err := encodeEntry(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, entryEqual); diff != "" {
		t.Errorf("read back (-wrote +read):\n%s", diff)
	}
	if got.Objects[1].Summary.Value == nil || got.Objects[2].Summary.Value != nil {
		t.Error("an empty summary and none read back alike")
	}
	if !got.Objects[0].Policy.Findings[1].StampWide() || got.Objects[0].Policy.Findings[0].StampWide() {
		t.Error("the stamp-wide flags are not kept")
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(slices.Clone(b), 0), b[1:]} {
		if _, err := decodeEntry(bad); !errors.Is(err, errEntry) {
			t.Errorf("a damaged entry (%d bytes) is not refused: %v", len(bad), err)
		}
	}
}

// BenchmarkUnitEntry reads one unit's entry shaped as make scale's
// platform keeps them (scaleEntry), as a pull request's check reads 3,000
// of them at 1,000 services.
func BenchmarkUnitEntry(b *testing.B) {
	form, err := encodeEntry(scaleEntry("svc-0503"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(form)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeEntry(form); err != nil {
			b.Fatal(err)
		}
	}
}

// scaleEntry is the entry of one service of make scale's platform, as its
// store holds it: ten objects that read the environment's name and a few
// fields of their own component, the Deployment fifteen paths (its
// neighbours by key, every Service of the stamp), the Deployment's and
// the HPA's summaries, and the unit's capacity. What a path found is one
// hash per path, as in the store (the same field is found the same by
// every object).
func scaleEntry(svc string) *unitEntry {
	env := func(p ...string) policy.Path { return append(policy.Path{"environment"}, p...) }
	rendered := func(p ...string) policy.Path { return append(policy.Path{"rendered", "weu-1"}, p...) }
	key := "apps/" + svc
	found := func(ps ...policy.Path) []digest {
		var out []digest
		for _, p := range ps {
			out = append(out, sha256.Sum256([]byte(strings.Join(p, "\x00"))))
		}
		return out
	}
	object := func(reads ...policy.Path) objectEntry {
		return objectEntry{Policy: policy.Result{Reads: reads}, Seen: found(reads...)}
	}
	deployment := object(env("components", svc), env("name"), env("node", "allocatable", "cpu"),
		env("node", "allocatable", "memory"), env("node", "size"), env("registry"), env("stamps", "weu-1", "identities", svc),
		env("stamps", "weu-1", "region"), env("zones"), rendered("HorizontalPodAutoscaler", key),
		rendered("NetworkPolicy", key+"-default-deny"), rendered("PodDisruptionBudget", key),
		rendered("SecretProviderClass", key+"-keyvault"), rendered("Service"), rendered("ServiceAccount", key))
	deployment.Summary.Value = []byte(`{"resources":{"fixed":{"cpu":0.05,"memory":67108864},"workload":"Deployment/` + key + `"}}`)
	hpa := object(env("name"))
	hpa.Summary = policy.Summary{Value: []byte(`{"resources":{"peak":{"cpu":0.3,"memory":402653184},"scales":"Deployment/` + key + `"}}`),
		Reads: []policy.Path{rendered("Deployment", key)}}
	hpa.SummarySeen = found(hpa.Summary.Reads...)
	return &unitEntry{
		Objects: []objectEntry{
			object(env("name")),
			object(env("components", svc), env("name"), env("stamps", "weu-1", "certificate", "name"), env("stamps", "weu-1", "identities", svc)),
			object(env("frontDoor"), env("name")),
			object(env("name")), object(env("name")), object(env("name")), object(env("name")),
			deployment, hpa, object(env("name")),
		},
		Capacity: &capacity.Unit{
			Workloads:   []capacity.Workload{{Kind: "Deployment", Namespace: "apps", Name: svc, Request: capacity.Amount{CPU: 0.05, Memory: 0.0625}, Count: 1}},
			Autoscalers: []capacity.Autoscaler{{Namespace: "apps", TargetKind: "Deployment", TargetName: svc, MaxReplicas: 6}},
		},
	}
}
