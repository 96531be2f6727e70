package diff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/generator/layout"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: app
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: api
        image: acr.io/api:aaa111
        env:
        - name: A
          value: "1"
      - name: sidecar
        image: acr.io/sidecar:bbb222
`

func TestObjects(t *testing.T) {
	tests := []struct {
		name string
		new  string
		want []Change
	}{
		{
			name: "reordered and reformatted",
			new:  "kind: Deployment\napiVersion: apps/v1\nmetadata: {namespace: app, name: api}\nspec:\n  template:\n    spec:\n      containers: [{image: acr.io/api:aaa111, name: api, env: [{value: \"1\", name: A}]}, {name: sidecar, image: acr.io/sidecar:bbb222}]\n  replicas: 3\n",
			want: nil,
		},
		{
			name: "image tag",
			new:  replace(deployment, "acr.io/api:aaa111", "acr.io/api:ccc333"),
			want: []Change{{Path: "spec.template.spec.containers[name=api].image", Old: "acr.io/api:aaa111", New: "acr.io/api:ccc333"}},
		},
		{
			name: "added env var",
			new:  replace(deployment, "          value: \"1\"\n", "          value: \"1\"\n        - name: B\n          value: \"2\"\n"),
			want: []Change{{Path: "spec.template.spec.containers[name=api].env[name=B]", New: map[string]any{"name": "B", "value": "2"}}},
		},
		{
			name: "removed field",
			new:  replace(deployment, "  replicas: 3\n", ""),
			want: []Change{{Path: "spec.replicas", Old: float64(3)}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Objects([]byte(deployment), []byte(tc.new))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("fixture lacks " + old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestTrees(t *testing.T) {
	old := []layout.File{
		{Path: "dev/s/api/Deployment_api.yaml", Data: []byte(deployment)},
		{Path: "dev/s/api/Service_api.yaml", Data: []byte("apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: app}\n")},
		{Path: "dev/s/web/Service_web.yaml", Data: []byte("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: app}\n")},
	}
	new := []layout.File{
		{Path: "dev/s/api/ConfigMap_api.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api, namespace: app}\n")},
		{Path: "dev/s/api/Deployment_api.yaml", Data: []byte(replace(deployment, "replicas: 3", "replicas: 4"))},
		{Path: "dev/s/api/Service_api.yaml", Data: []byte("kind: Service\napiVersion: v1\nmetadata:\n  namespace: app\n  name: api\n")},
	}
	got, err := Trees(old, new)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Path: "dev/s/api/ConfigMap_api.yaml", Status: Added, Kind: "ConfigMap", Namespace: "app", Name: "api",
			Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "api", "namespace": "app"}}},
		{Path: "dev/s/api/Deployment_api.yaml", Status: Changed, Kind: "Deployment", Namespace: "app", Name: "api",
			Changes: []Change{{Path: "spec.replicas", Old: float64(3), New: float64(4)}}},
		{Path: "dev/s/web/Service_web.yaml", Status: Removed, Kind: "Service", Namespace: "app", Name: "web"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Trees (-want +got):\n%s", diff)
	}
}

// TestMask: credentials are masked by meaning, in values at any depth;
// names that merely contain a credential word's letters are not.
func TestMask(t *testing.T) {
	files := []File{
		{Kind: "Deployment", Changes: []Change{
			{Path: "spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value", Old: "a", New: "b"},
			{Path: "spec.template.spec.containers[name=tokenization].image", Old: "x:1", New: "x:2"},
			{Path: "spec.template.spec.containers[name=api].env[name=CONN].value", Old: nil, New: "mongodb://admin:pa55word@db:27017/app"},
			{Path: "spec.template.spec.containers[name=api].env[name=apiKey].value", New: "k-123"},
			{Path: "spec.template.spec.containers[name=api].env[name=KEY_VAULT_NAME].value", New: "kv-lbt-dev"},
			{Path: "spec.template.spec.containers[name=api].env[name=AZURE_STORAGE_CONNECTION_STRING]", New: map[string]any{"name": "AZURE_STORAGE_CONNECTION_STRING", "value": "DefaultEndpointsProtocol=https;AccountKey=zzz"}},
			{Path: "spec.template.spec.containers[name=sidecar]", New: map[string]any{"name": "sidecar", "env": []any{map[string]any{"name": "REDIS_PASSWORD", "value": "r3dis"}}}},
		}},
		{Kind: "Secret", Changes: []Change{{Path: "data.ca", Old: "x"}}},
		{Kind: "ConfigMap", Changes: []Change{
			{Path: "data.token", New: "abc"},
			{Path: "data.copy", New: "pa55word"},
			{Path: "data.tokenization-endpoint", New: "http://tokenization:8080"},
		}},
	}
	mask(files)
	want := []File{
		{Kind: "Deployment", Changes: []Change{
			{Path: "spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value", Old: Masked, New: Masked},
			{Path: "spec.template.spec.containers[name=tokenization].image", Old: "x:1", New: "x:2"},
			{Path: "spec.template.spec.containers[name=api].env[name=CONN].value", New: Masked}, // CONN names a connection string
			{Path: "spec.template.spec.containers[name=api].env[name=apiKey].value", New: Masked},
			{Path: "spec.template.spec.containers[name=api].env[name=KEY_VAULT_NAME].value", New: "kv-lbt-dev"},
			{Path: "spec.template.spec.containers[name=api].env[name=AZURE_STORAGE_CONNECTION_STRING]", New: map[string]any{"name": "AZURE_STORAGE_CONNECTION_STRING", "value": Masked}},
			{Path: "spec.template.spec.containers[name=sidecar]", New: map[string]any{"name": "sidecar", "env": []any{map[string]any{"name": "REDIS_PASSWORD", "value": Masked}}}},
		}},
		{Kind: "Secret", Changes: []Change{{Path: "data.ca", Old: Masked}}},
		{Kind: "ConfigMap", Changes: []Change{
			{Path: "data.token", New: Masked},
			{Path: "data.copy", New: Masked}, // equal to a password masked elsewhere
			{Path: "data.tokenization-endpoint", New: "http://tokenization:8080"},
		}},
	}
	if d := cmp.Diff(want, files); d != "" {
		t.Errorf("mask (-want +got):\n%s", d)
	}
}

// TestTreesMask: masking happens inside Trees, so every report built on it
// (verify's drift, diff, publish) is masked.
func TestTreesMask(t *testing.T) {
	old := []layout.File{{Path: "dev/s/api/Secret_x.yaml", Data: []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: old-secret}\n")}}
	new := []layout.File{{Path: "dev/s/api/Secret_x.yaml", Data: []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: new-secret}\n")}}
	got, err := Trees(old, new)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Changes) != 1 || got[0].Changes[0].Old != Masked || got[0].Changes[0].New != Masked {
		t.Errorf("Trees = %+v, want one masked change", got)
	}
}

// TestAddedObjectsAreMasked: an added object's content carries no
// credential, neither where it is named as one nor where it is repeated.
func TestAddedObjectsAreMasked(t *testing.T) {
	added := []layout.File{
		{Path: "dev/s/api/Secret_x.yaml", Data: []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: s3cret-value}\n")},
		{Path: "dev/s/api/ConfigMap_y.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndata: {note: \"uses s3cret-value\", url: \"redis://:pa55word@redis:6379\"}\n")},
	}
	got, err := Trees(nil, added)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		if f.Object == nil {
			t.Fatalf("%s: no content", f.Path)
		}
		s := fmt.Sprint(f.Object)
		if strings.Contains(s, "s3cret-value") || strings.Contains(s, "pa55word") {
			t.Errorf("%s shows a credential: %v", f.Path, f.Object)
		}
	}
}
