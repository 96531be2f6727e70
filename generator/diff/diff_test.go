package diff

import (
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
		{Path: "dev/s/api/ConfigMap_api.yaml", Status: Added, Kind: "ConfigMap", Namespace: "app", Name: "api"},
		{Path: "dev/s/api/Deployment_api.yaml", Status: Changed, Kind: "Deployment", Namespace: "app", Name: "api",
			Changes: []Change{{Path: "spec.replicas", Old: float64(3), New: float64(4)}}},
		{Path: "dev/s/web/Service_web.yaml", Status: Removed, Kind: "Service", Namespace: "app", Name: "web"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Trees (-want +got):\n%s", diff)
	}
}

func TestMask(t *testing.T) {
	changes := []Change{
		{Path: "spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value", Old: "a", New: "b"},
		{Path: "spec.template.spec.containers[name=api].image", Old: "x:1", New: "x:2"},
		{Path: "data.token", New: "abc"},
	}
	got := Mask("ConfigMap", changes)
	want := []Change{
		{Path: changes[0].Path, Old: Masked, New: Masked},
		changes[1],
		{Path: "data.token", New: Masked},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Mask (-want +got):\n%s", d)
	}
	if s := Mask("Secret", []Change{{Path: "data.ca", Old: "x"}}); s[0].Old != Masked {
		t.Errorf("Secret data not masked: %+v", s)
	}
}
