package manifest

import (
	"strings"
	"testing"
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
