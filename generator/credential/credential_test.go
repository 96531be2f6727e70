package credential

import "testing"

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
