package credential

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestIsName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"DB_PASSWORD", true},
		{"dbPassword", true},
		{"redis-password", true},
		{"MONGODB_URI", false},
		{"API_KEY", true},
		{"apiKey", true},
		{"APIKEY", true},
		{"KEY_VAULT_NAME", false},
		{"KEY_ID", false},
		{"SECRET", true},
		{"CLIENT_SECRET", true},
		{"AZURE_STORAGE_CONNECTION_STRING", true},
		{"connectionString", true},
		{"SAS_TOKEN", true},
		{"AWS_CREDENTIALS", true},
		{"tokenization", false},
		{"TOKENIZATION_URL", false},
		{"passwordless", false},
		{"keyvault", false},
		{"LOG_LEVEL", false},
		{"image", false},
	}
	for _, tc := range tests {
		if got := IsName(tc.name); got != tc.want {
			t.Errorf("IsName(%q) = %v, want %v (words %v)", tc.name, got, tc.want, Words(tc.name))
		}
	}
}

func TestURLPassword(t *testing.T) {
	tests := []struct {
		in, masked string
		has        bool
	}{
		{"mongodb://admin:pa55word@db:27017/app", "mongodb://admin:" + Masked + "@db:27017/app", true},
		{"redis://:s3cret@redis:6379/0", "redis://:" + Masked + "@redis:6379/0", true},
		{"https://user@example.com/", "https://user@example.com/", false},
		{"http://tokenization:8080", "http://tokenization:8080", false},
		{"not a url: a@b", "not a url: a@b", false},
	}
	for _, tc := range tests {
		_, has := URLPassword(tc.in)
		if has != tc.has || MaskURL(tc.in) != tc.masked {
			t.Errorf("%q: has %v, masked %q; want %v, %q", tc.in, has, MaskURL(tc.in), tc.has, tc.masked)
		}
	}
}

func TestLiterals(t *testing.T) {
	deployment := map[string]any{
		"kind": "Deployment",
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "api", "env": []any{
				map[string]any{"name": "DB_PASSWORD", "value": "hunter2"},
				map[string]any{"name": "REDIS_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "redis", "key": "password"}}},
				map[string]any{"name": "REDIS_PASSWORD_FILE", "value": "/mnt/secrets/redis-password"},
				map[string]any{"name": "CONN", "value": "mongodb://admin:pa55word@db:27017"},
				map[string]any{"name": "TOKENIZATION_URL", "value": "http://tokenization:8080"},
			}},
		}}}},
	}
	got := map[string]bool{}
	for _, l := range Literals(deployment) {
		got[l.Path] = true
	}
	want := map[string]bool{
		"spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value": true,
		"spec.template.spec.containers[name=api].env[name=CONN].value":        true,
	}
	if len(got) != len(want) {
		t.Errorf("Literals = %v, want %v", got, want)
	}
	for p := range want {
		if !got[p] {
			t.Errorf("Literals missed %s (got %v)", p, got)
		}
	}
	secret := map[string]any{"kind": "Secret", "stringData": map[string]any{"password": "x"}}
	if l := Literals(secret); len(l) != 1 || l[0].Path != "stringData.password" {
		t.Errorf("Secret: %+v", l)
	}
	cm := map[string]any{"kind": "ConfigMap", "data": map[string]any{"server-tokens": "false", "api-token": "abc"}}
	if l := Literals(cm); len(l) != 1 || l[0].Path != "data.api-token" {
		t.Errorf("ConfigMap: %+v", l)
	}
}

// TestWalkVisitsWhatMapVisits: walk calls f for the leaves Map calls it for,
// with the same paths (named and unnamed list items, nested lists, leaves
// of every type), and Literals comes back sorted by path.
func TestWalkVisitsWhatMapVisits(t *testing.T) {
	obj := map[string]any{
		"kind": "ConfigMap",
		"data": map[string]any{"b-token": "x", "a-password": "y", "port": "8080"},
		"list": []any{
			map[string]any{"name": "first", "on": true, "n": int64(3)},
			map[string]any{"id": "second", "nested": []any{"a", nil, 1.5, []any{"deep"}}},
		},
		"empty": map[string]any{},
		"none":  nil,
	}
	var fromMap, fromWalk []string
	Map("", obj, func(path string, leaf any) any {
		fromMap = append(fromMap, fmt.Sprintf("%s=%v", path, leaf))
		return leaf
	})
	walk("", obj, func(path string, leaf any) {
		fromWalk = append(fromWalk, fmt.Sprintf("%s=%v", path, leaf))
	})
	slices.Sort(fromMap)
	slices.Sort(fromWalk)
	if !slices.Equal(fromMap, fromWalk) {
		t.Errorf("Walk visited\n%v\nMap visited\n%v", fromWalk, fromMap)
	}
	l := Literals(obj)
	if len(l) != 2 || l[0].Path != "data.a-password" || l[1].Path != "data.b-token" {
		t.Errorf("Literals = %+v, want data.a-password then data.b-token", l)
	}
}

// FuzzNamed holds named, which reads a path's segments without splitting
// it, to the reading that splits it at every '.'.
func FuzzNamed(f *testing.F) {
	for _, p := range []string{
		"", ".", "..", "data", "data.x", "data.x.y", "x.data", "env[name=A]", "a.env[name=A]",
		"a.env[name=A].value", "env[name=A].value", "env[name=a.b].value", "a.env[name=A].value.x",
		"spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value",
	} {
		f.Add("ConfigMap", p)
		f.Add("Deployment", p)
	}
	f.Fuzz(func(t *testing.T, kind, path string) {
		segs := strings.Split(path, ".")
		last := segs[len(segs)-1]
		want := strings.HasPrefix(last, "env[name=") ||
			len(segs) > 1 && last == "value" && strings.HasPrefix(segs[len(segs)-2], "env[name=") ||
			kind == "ConfigMap" && len(segs) == 2 && segs[0] == "data"
		if got := named(kind, path); got != want {
			t.Errorf("named(%q, %q) = %v, want %v", kind, path, got, want)
		}
	})
}
