package kustomize

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/manifest"
)

func finalFixture(t *testing.T) []*manifest.Object {
	t.Helper()
	b, err := os.ReadFile("testdata/final-objects.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Decode("testdata/final-objects.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// built is what krusty gives for f's kustomization over objs.
func built(t *testing.T, objs []*manifest.Object, f Final) []*manifest.Object {
	t.Helper()
	stream, err := manifest.EncodeJSONStream(objs)
	if err != nil {
		t.Fatal(err)
	}
	k, err := yaml.Marshal(f.Kustomization("objects.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Build(Files{"/stage/objects.yaml": stream, "/stage/kustomization.yaml": k}, "/stage")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestApplyIsBuild: Apply's objects are a kustomize build's, for objects of
// every kind its field specs name (and some they do not), for several
// namespaces, label sets and image pins (by tag, digest, new name only).
func TestApplyIsBuild(t *testing.T) {
	labels := map[string]string{"app.kubernetes.io/part-of": "libertum", "libertum.io/stamp": "weu-1"}
	for _, tc := range []struct {
		name string
		f    Final
	}{
		{"namespace only", Final{Namespace: "apps"}},
		{"labels", Final{Namespace: "monitoring", Labels: labels}},
		{"images", Final{Namespace: "apps", Labels: labels, Images: []types.Image{
			{Name: "libertum/api", NewName: "acr.azurecr.io/libertum/api", NewTag: "1.2.3"},
			{Name: "ghcr.io/libertum/api", NewName: "acr.azurecr.io/libertum/api", Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
			{Name: "busybox", NewName: "acr.azurecr.io/library/busybox"},
			{Name: "libertum/model", NewTag: "v2"},
			{Name: "grafana/promtail", NewName: "acr.azurecr.io/grafana/promtail"},
			{Name: "libertum/tools", NewTag: "t1", Digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222"},
		}}},
		{"no namespace", Final{Labels: labels}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := built(t, applicable(t), tc.f)
			in := applicable(t)
			got, err := Apply(in, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			manifest.Sort(want)
			manifest.Sort(got)
			if len(want) == 0 {
				t.Fatal("the build gave no objects")
			}
			if diff := cmp.Diff(objects(want), objects(got)); diff != "" {
				t.Errorf("Apply differs from a build (-build +apply):\n%s", diff)
			}
			if diff := cmp.Diff(objects(applicable(t)), objects(in)); diff != "" {
				t.Errorf("Apply changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

// applicable is the fixture without the kinds CanApply refuses.
func applicable(t *testing.T) []*manifest.Object {
	var out []*manifest.Object
	for _, o := range finalFixture(t) {
		if CanApply([]*manifest.Object{o}) {
			out = append(out, o)
		}
	}
	if CanApply(finalFixture(t)) || len(out) == 0 {
		t.Fatal("the fixture should hold kinds CanApply refuses and kinds it accepts")
	}
	return out
}

// TestCanApplyRefusesReferrers: a build moves a role binding's subject
// with the service account it names; Apply does not, so CanApply refuses
// it.
func TestCanApplyRefusesReferrers(t *testing.T) {
	var objs []*manifest.Object
	for _, o := range finalFixture(t) {
		if k := o.GetKind(); k == "ServiceAccount" || k == "RoleBinding" {
			objs = append(objs, o)
		}
	}
	f := Final{Namespace: "apps"}
	got, err := Apply(objs, f)
	if err != nil {
		t.Fatal(err)
	}
	want := built(t, objs, f)
	manifest.Sort(got)
	manifest.Sort(want)
	if cmp.Equal(objects(want), objects(got)) {
		t.Fatal("Apply gave a build's objects for a RoleBinding naming a moved service account: CanApply need not refuse it")
	}
	if CanApply(objs) {
		t.Fatal("CanApply accepted a RoleBinding")
	}
}

func objects(objs []*manifest.Object) []map[string]any {
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		out[i] = o.Object
	}
	return out
}

// TestApplyRefusesConflicts: two objects that end up with one ID are an
// error, as in a build.
func TestApplyRefusesConflicts(t *testing.T) {
	objs := finalFixture(t)
	dup := objs[0].DeepCopy()
	dup.SetNamespace("elsewhere")
	objs = append(objs, dup)
	if _, err := Apply(objs, Final{Namespace: "apps"}); err == nil {
		t.Fatal("Apply put two Deployments api in one namespace without an error")
	}
}

// TestFromNodeIsNormalize: reading a node back gives what decoding and
// normalizing it gives, and declines what it does not read the same way.
func TestFromNodeIsNormalize(t *testing.T) {
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{`{"a": "x", "n": 3, "f": 1.5, "b": true, "z": null, "l": [1, "2", {"k": false}]}`, true},
		{"a: yes\nb: '10'\nc: -7\nd: 1e3\n", true},
		{"a: 0x1F\n", false},  // YAML's hex integer: decoded, not read
		{"a: 0777\n", false},  // YAML's octal integer
		{"a: +7\n", false},    // a sign JSON does not write
		{"a: .inf\n", false},  // no JSON value
		{"a: 1_000\n", false}, // YAML 1.1 digit separators
		{"a: 9007199254740993\n", false},
		{"? [1, 2]\n: x\n", false}, // not a string key
	} {
		n, err := kyaml.Parse(tc.doc)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := fromNode(n.YNode())
		if ok != tc.ok {
			t.Errorf("%q: ok = %v, want %v", tc.doc, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		m, err := n.Map()
		if err != nil {
			t.Fatal(err)
		}
		want, err := manifest.Normalize(&manifest.Object{Object: m})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.Object, got); diff != "" {
			t.Errorf("%q: fromNode differs from decode and Normalize (-want +got):\n%s", tc.doc, diff)
		}
	}
}

// TestLabelledKindsAreBuilt: every kind Apply labels without kustomize's
// transformers is in the fixture TestApplyIsBuild builds, and the fixture
// has objects of those kinds that take either path.
func TestLabelledKindsAreBuilt(t *testing.T) {
	f := Final{Namespace: "apps", Labels: map[string]string{"a": "b"}, Images: []types.Image{{Name: "libertum/api", NewTag: "1"}}}
	direct := map[string]bool{}
	transformed := 0
	for _, o := range applicable(t) {
		if labelledOnly(o, f) {
			direct[o.GetKind()] = true
		} else if labelledKinds[o.GetKind()] {
			transformed++
		}
	}
	for kind := range labelledKinds {
		if !direct[kind] {
			t.Errorf("no %s in the fixture that Apply labels directly", kind)
		}
	}
	if transformed < 2 {
		t.Errorf("the fixture should hold labelled kinds that still take the transformers (local config, image fields): %d", transformed)
	}
}

// TestTemplatedKindsAreBuilt: every workload kind Apply sets without
// kustomize's transformers is in the fixture TestApplyIsBuild builds, and
// the fixture has workloads that still take the transformers (an image
// volume).
func TestTemplatedKindsAreBuilt(t *testing.T) {
	direct := map[[2]string]bool{}
	transformed := 0
	for _, o := range applicable(t) {
		k := [2]string{o.GetAPIVersion(), o.GetKind()}
		if podTemplated(o) {
			direct[k] = true
		} else if _, ok := templated[k]; ok {
			transformed++
		}
	}
	for k := range templated {
		if !direct[k] {
			t.Errorf("no %s %s in the fixture that Apply sets directly", k[0], k[1])
		}
	}
	if transformed == 0 {
		t.Error("the fixture should hold a templated workload that still takes the transformers (an image volume)")
	}
}
