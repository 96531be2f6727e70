package image

import "testing"

// TestParse: registry, path, tag and digest, as the registries read them.
func TestParse(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		in   string
		want Ref
	}{
		{"redis", Ref{Path: "redis"}},
		{"grafana/loki:3.4.2", Ref{Path: "grafana/loki", Tag: "3.4.2"}},
		{"registry.k8s.io/ingress-nginx/controller:v1.12.1@" + digest, Ref{Domain: "registry.k8s.io", Path: "ingress-nginx/controller", Tag: "v1.12.1", Digest: digest}},
		{"acrlibertumprod.azurecr.io/libertum/api@" + digest, Ref{Domain: "acrlibertumprod.azurecr.io", Path: "libertum/api", Digest: digest}},
		{"localhost:5000/x:1", Ref{Domain: "localhost:5000", Path: "x", Tag: "1"}},
		{"docker.io/library/redis:7", Ref{Domain: "docker.io", Path: "library/redis", Tag: "7"}},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "Redis", "a:b:c", "x@sha256:short"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) gave no error", bad)
		}
	}
}

// TestInRegistry: the upstream host goes, the path stays.
func TestInRegistry(t *testing.T) {
	for in, want := range map[string]string{
		"registry.k8s.io/ingress-nginx/controller":              "acr.azurecr.io/ingress-nginx/controller",
		"registry.k8s.io/kube-state-metrics/kube-state-metrics": "acr.azurecr.io/kube-state-metrics/kube-state-metrics",
		"grafana/loki":  "acr.azurecr.io/grafana/loki",
		"libertum/api":  "acr.azurecr.io/libertum/api",
		"redis":         "acr.azurecr.io/redis",
		"quay.io/a/b/c": "acr.azurecr.io/a/b/c",
	} {
		if got, err := InRegistry("acr.azurecr.io", in); err != nil || got != want {
			t.Errorf("InRegistry(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
