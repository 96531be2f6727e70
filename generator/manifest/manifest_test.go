package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestDecodeSortEncode(t *testing.T) {
	stream := `# leading comment
apiVersion: apps/v1
kind: Deployment
metadata: {name: b, namespace: x}
spec: {replicas: 2}
status: {readyReplicas: 2}
---
---
apiVersion: v1
kind: Namespace
metadata: {name: x, creationTimestamp: null}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: x}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: a, namespace: x}
`
	objs, err := Decode("test.yaml", []byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	Sort(objs)
	var ids []string
	for _, o := range objs {
		ids = append(ids, IDOf(o).String())
	}
	want := "Namespace x,Service x/a,Deployment.apps x/a,Deployment.apps x/b"
	if got := strings.Join(ids, ","); got != want {
		t.Errorf("order = %s, want %s", got, want)
	}
	b, err := Encode(objs[3])
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n  namespace: x\nspec:\n  replicas: 2\n" {
		t.Errorf("Encode = %q (status must go, keys sorted)", got)
	}
	ns, _ := Encode(objs[0])
	if strings.Contains(string(ns), "creationTimestamp") {
		t.Errorf("null creationTimestamp kept: %s", ns)
	}
}

func TestDecodeRejectsIncompleteObjects(t *testing.T) {
	_, err := Decode("x.yaml", []byte("apiVersion: v1\nkind: ConfigMap\n---\nkind: Service\n"))
	if err == nil || !strings.Contains(err.Error(), "x.yaml: document 1") {
		t.Errorf("err = %v, want document 1 named", err)
	}
	_, err = Decode("x.yaml", []byte("a: [b\n"))
	if err == nil || !strings.Contains(err.Error(), "x.yaml") {
		t.Errorf("err = %v, want the source named", err)
	}
}

func TestFileName(t *testing.T) {
	o := &Object{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "system:aggregate/view"}}}
	if got := FileName(o); got != "ClusterRole_system-aggregate-view.yaml" {
		t.Errorf("FileName = %q", got)
	}
}

func TestEncodeIsStable(t *testing.T) {
	o := &Object{Object: map[string]any{"kind": "ConfigMap", "apiVersion": "v1", "metadata": map[string]any{"name": "c"}, "data": map[string]any{"z": "1", "a": "2", "m": "3"}}}
	first, _ := Encode(o)
	for range 20 {
		again, _ := Encode(o)
		if string(again) != string(first) {
			t.Fatalf("Encode is not stable:\n%s\n%s", first, again)
		}
	}
}

// TestEncodeMatchesTheJSONRoundTrip: the direct encoding gives the bytes
// sigs.k8s.io/yaml.Marshal gives, for the values YAML and JSON disagree on.
func TestEncodeMatchesTheJSONRoundTrip(t *testing.T) {
	values := map[string]any{
		"bool-like strings": []any{"yes", "no", "on", "off", "true", "False", "y", "n", "~", "null", ""},
		"number-like":       []any{"0123", "1e3", "0x1F", "1_000", "12:30", ".5", "-", "+1", "2026-11-23", "1.0"},
		"text":              []any{"multi\nline\n", " padded ", "colon: inside", "# hash", "ünïcødé", "'quoted'", `"dq"`, "a\tb", "- dash", "{flow}", "[seq]", "*alias", "&anchor", "!tag", "%percent", "@at", "`tick`"},
		"floats":            []any{0.5, 1e-7, 3.0, -0.0, 1e15, 123456.789, float64(1 << 52), -2.5e-300},
		"ints":              []any{int64(7), int64(-1), 0, int32(42), int64(1) << 40, int64(1)<<60 + 1},
		"keys":              map[string]any{"a10": 1, "a9": 2, "B": 3, "a": 4, "10": 5, "9": 6, "": 7, "a.b/c": 8},
		"nested":            []any{map[string]any{"x": []any{}, "y": map[string]any{}}, nil, true},
	}
	o := &Object{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x"}, "data": values}}
	got, err := Encode(o)
	if err != nil {
		t.Fatal(err)
	}
	clean := prune(o.Object)
	want, err := yaml.Marshal(clean)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("direct encoding differs from the JSON round trip:\n--- got\n%s\n--- want\n%s", got, want)
	}
	// Beyond 2^53 the fast path steps aside.
	if _, ok := yamlValue(float64(1 << 60)); ok {
		t.Error("an integral float beyond 2^53 took the direct path")
	}
}

// TestNormalizeMatchesTheJSONRoundTrip: the direct conversion gives what
// the JSON round trip gives, and steps aside for values it does not know.
func TestNormalizeMatchesTheJSONRoundTrip(t *testing.T) {
	o := &Object{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"n": 3, "i64": int64(-4), "f": 0.25, "s": "5", "b": true, "z": nil,
			"list": []any{1, "two", map[string]any{"three": int32(3)}}},
	}}
	got, err := Normalize(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(o.Object)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.Object); diff != "" {
		t.Errorf("Normalize differs from the JSON round trip (-want +got):\n%s", diff)
	}
	odd := &Object{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x"},
		"data": map[string]any{"typed": []string{"a", "b"}}}}
	n, err := Normalize(odd)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := n.Object["data"].(map[string]any)["typed"].([]any); !ok || len(l) != 2 {
		t.Errorf("a typed slice was not converted by the round trip: %#v", n.Object["data"])
	}
}

// TestCleanNormalIsNormalizeClean: one copy gives what cleaning and then
// normalizing give, for plain objects and for those that take the round
// trip (a typed value, one in a status that Clean drops anyway).
func TestCleanNormalIsNormalizeClean(t *testing.T) {
	meta := func() map[string]any {
		return map[string]any{"name": "x", "creationTimestamp": nil, "labels": map[string]any{"a": "b"}}
	}
	for name, obj := range map[string]map[string]any{
		"plain": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(),
			"spec":   map[string]any{"replicas": int64(2), "paused": nil, "f": 0.5, "list": []any{nil, 1, map[string]any{"x": nil, "y": int32(3)}}},
			"status": map[string]any{"replicas": 1}},
		"empty stubs": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x", "creationTimestamp": ""},
			"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"creationTimestamp": nil}}, "status": map[string]any{"z": nil}}},
		"typed value":   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(), "data": map[string]any{"typed": []string{"a"}}},
		"typed status":  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(), "status": map[string]any{"typed": []string{"a"}}},
		"large integer": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(), "data": map[string]any{"n": int64(1) << 60}},
	} {
		o := &Object{Object: obj}
		want, wantErr := Normalize(&Object{Object: Clean(o)})
		got, err := CleanNormal(o)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: error %v, want %v", name, err, wantErr)
		}
		if err != nil {
			continue
		}
		if diff := cmp.Diff(want.Object, got.Object); diff != "" {
			t.Errorf("%s: CleanNormal differs from Normalize(Clean) (-want +got):\n%s", name, diff)
		}
	}
}
