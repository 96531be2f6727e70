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
		in, pass string
		has      bool
	}{
		{"mongodb://admin:pa55word@db:27017/app", "pa55word", true},
		{"redis://:s3cret@redis:6379/0", "s3cret", true},
		{"https://user@example.com/", "", false},
		{"http://tokenization:8080", "", false},
		{"not a url: a@b", "", false},
	}
	for _, tc := range tests {
		pass, has := URLPassword(tc.in)
		if has != tc.has || has && pass != tc.pass {
			t.Errorf("URLPassword(%q) = %q, %v; want %q, %v", tc.in, pass, has, tc.pass, tc.has)
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

// env is an environment variable of a container, as a rendered object
// holds it.
func env(name string, v any) map[string]any { return map[string]any{"name": name, "value": v} }

// TestEveryKindOfCredential: each way a credential was found written in
// the clear is a literal (render refuses it, the check step denies it) and
// is masked in reports, keeping what is not secret readable.
func TestEveryKindOfCredential(t *testing.T) {
	const envPath = "spec.template.spec.containers[name=api].env[name=%s].value"
	for _, tc := range []struct {
		name   string
		kind   string
		path   string
		value  any
		secret string // what must not show once masked
	}{
		{"numeric DB_PASSWORD", "Deployment", fmt.Sprintf(envPath, "DB_PASSWORD"), int64(123456), "123456"},
		{"numeric DB_PASSWORD as text", "Deployment", fmt.Sprintf(envPath, "DB_PASSWORD"), "123456", "123456"},
		{"PGPASSWORD", "Deployment", fmt.Sprintf(envPath, "PGPASSWORD"), "hunter2", "hunter2"},
		{"DB_PASS", "Deployment", fmt.Sprintf(envPath, "DB_PASS"), "hunter2", "hunter2"},
		{"PW", "Deployment", fmt.Sprintf(envPath, "PW"), "hunter2", "hunter2"},
		{"PWD", "Deployment", fmt.Sprintf(envPath, "SMTP_PWD"), "hunter2", "hunter2"},
		{"JWT", "Deployment", fmt.Sprintf(envPath, "JWT"), "eyJhbGciOiJIUzI1NiJ9.e30.xyz", "eyJhbGciOiJIUzI1NiJ9.e30.xyz"},
		{"BEARER", "Deployment", fmt.Sprintf(envPath, "BEARER"), "abc123def456", "abc123def456"},
		{"HMAC", "Deployment", fmt.Sprintf(envPath, "HMAC_KEY"), "s3cr3tk3y", "s3cr3tk3y"},
		{"CONN", "Deployment", fmt.Sprintf(envPath, "CONN"), "Server=db;Database=app", "Server=db;Database=app"},
		{"postgres URL with #", "Deployment", fmt.Sprintf(envPath, "DATABASE"), "postgres://u:p#ss@db:5432/app", "p#ss"},
		{"jdbc password parameter", "Deployment", fmt.Sprintf(envPath, "JDBC"), "jdbc:postgresql://db:5432/app?user=app&password=hunter2", "hunter2"},
		{"ADO.NET Password", "Deployment", fmt.Sprintf(envPath, "DB"), "Server=tcp:db,1433;Database=app;User ID=app;Password=hunter2;", "hunter2"},
		{"--db-password= argument", "Deployment", "spec.template.spec.containers[name=api].args[2]", "--db-password=hunter2", "hunter2"},
		{"properties blob", "ConfigMap", "data.application.properties", "server.port=8080\nspring.datasource.password=hunter2\n", "hunter2"},
		{"ini blob", "ConfigMap", "data.grafana.ini", "[security]\nadmin_user = admin\nadmin_password = hunter2\n", "hunter2"},
		{"Azure storage connection string", "Deployment", fmt.Sprintf(envPath, "STORAGE"), "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=c2VjcmV0a2V5Cg==;EndpointSuffix=core.windows.net", "c2VjcmV0a2V5Cg=="},
		{"SAS URL", "Deployment", fmt.Sprintf(envPath, "BACKUP_URL"), "https://st.blob.core.windows.net/backups?sv=2024-11-04&sp=rw&sig=abcDEF123%3D", "abcDEF123%3D"},
		{"Basic authorization", "Deployment", fmt.Sprintf(envPath, "UPSTREAM_HEADER"), "Basic YWRtaW46aHVudGVyMg==", "YWRtaW46aHVudGVyMg=="},
		{"Bearer authorization", "ConfigMap", "data.headers", "Authorization: Bearer abcdef0123456789", "abcdef0123456789"},
		{"Slack webhook", "Deployment", fmt.Sprintf(envPath, "ALERTS"), "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX", "T000/B000/XXXXXXXXXXXX"},
		{"token query parameter", "ConfigMap", "data.webhook", "https://alerts.example.com/hook?token=abcdef123456", "abcdef123456"},
		{"JSON member", "ConfigMap", "data.config.json", `{"db": {"password": "hunter2"}}`, "hunter2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if why := Why(tc.kind, tc.path, tc.value); why == "" {
				t.Fatalf("%v at %s is no credential", tc.value, tc.path)
			}
			shown, secrets := Hide(tc.kind, tc.path, tc.value)
			if s := fmt.Sprint(shown); strings.Contains(s, tc.secret) {
				t.Errorf("masked as %q: the credential shows", s)
			}
			if len(secrets) == 0 {
				t.Error("no secret reported for repeat masking")
			}
		})
	}
}

// TestSplitFlagArgument: --db-password SECRET (two arguments) is a literal.
func TestSplitFlagArgument(t *testing.T) {
	obj := map[string]any{"kind": "Deployment", "spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "api", "args": []any{"--port", "8080", "--db-password", "hunter2", "--token-file", "/run/token"}},
	}}}}}
	l := Literals(obj)
	if len(l) != 1 || l[0].Path != "spec.template.spec.containers[name=api].args[3]" {
		t.Errorf("Literals = %+v, want the argument after --db-password", l)
	}
}

// TestNoFalseCredentials: the platform's own names and settings are not
// credentials: tokenization is no token, a PWD that is a path is the
// working directory, a key that points at a credential is no credential,
// references and scripts are not literals.
func TestNoFalseCredentials(t *testing.T) {
	const envPath = "spec.template.spec.containers[name=api].env[name=%s].value"
	for _, tc := range []struct {
		kind, path string
		value      any
	}{
		{"Deployment", fmt.Sprintf(envPath, "TOKENIZATION_MODE"), "strict"},
		{"Deployment", fmt.Sprintf(envPath, "TOKENIZATION_URL"), "http://tokenization:8080"},
		{"Deployment", fmt.Sprintf(envPath, "PWD"), "/app"},
		{"Deployment", fmt.Sprintf(envPath, "MAX_TOKENS"), "100"},
		{"Deployment", fmt.Sprintf(envPath, "KEY_VAULT_NAME"), "kv-lbt-dev"},
		{"Deployment", fmt.Sprintf(envPath, "REDIS_PASSWORD_FILE"), "/mnt/secrets-store/redis-password"},
		{"Deployment", fmt.Sprintf(envPath, "DB_PASSWORD"), "$(DB_PASSWORD_FROM_SECRET)"},
		{"ConfigMap", "data.server-tokens", "false"},
		{"ConfigMap", "data.prometheus.yml", "authorization:\n  credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token\n"},
		{"ConfigMap", "data.loki.yaml", "storage:\n  azure:\n    use_federated_token: true\n"},
		{"ConfigMap", "data.replicaset.js", "const root = { user: env.ROOT_USER, pwd: secret(env.ROOT_VAULT_OBJECT) };\nlocal.auth(root.user, root.pwd);\n"},
		{"ConfigMap", "data.replicaset.js", "new Mongo(`mongodb://${u}:${encodeURIComponent(root.pwd)}@${seeds}/`)"},
		{"Deployment", "spec.template.spec.containers[name=api].image", "acr.azurecr.io/libertum/tokenization:9f2c4e1a7b3d"},
	} {
		if hits := Find(tc.kind, tc.path, tc.value); len(hits) != 0 {
			t.Errorf("%s %s = %v: found %+v", tc.kind, tc.path, tc.value, hits)
		}
	}
}

// FuzzScan: the classifier never fails on any text, a credential it finds
// is in the text, and masking hides every one it found.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"postgres://u:p#ss@db:5432/app", "password=hunter2", "Server=db;Password=x;", "Basic YWRtaW46aHVudGVyMg==",
		"https://hooks.slack.com/services/T/B/X", "a: b\npassword: c\n", `{"token":"abcdef"}`, "--db-password=x",
	} {
		f.Add("ConfigMap", "data.x", s)
		f.Add("Deployment", "spec.template.spec.containers[name=a].env[name=DB_PASSWORD].value", s)
	}
	f.Fuzz(func(t *testing.T, kind, path, s string) {
		if path == "" {
			return
		}
		// The pair expressions on the named lines find what they find on
		// the whole string, for every key that is a credential's name.
		var whole, lined []string
		for _, pair := range pairs {
			for _, m := range pair.FindAllStringSubmatch(s, -1) {
				if IsName(m[1]) {
					whole = append(whole, m[1]+"="+m[2])
				}
			}
			for _, line := range namedLines(s) {
				for _, m := range pair.FindAllStringSubmatch(line, -1) {
					if IsName(m[1]) {
						lined = append(lined, m[1]+"="+m[2])
					}
				}
			}
		}
		if !slices.Equal(whole, lined) {
			t.Fatalf("%q: the named lines give %q, the whole string %q", s, lined, whole)
		}
		hits := Find(kind, path, s)
		for _, h := range hits {
			if !strings.Contains(s, h.Secret) {
				t.Fatalf("found %q, which %q does not hold", h.Secret, s)
			}
		}
		shown, secrets := Hide(kind, path, s)
		if len(secrets) != len(hits) {
			t.Fatalf("Hide reported %d secrets, Find %d", len(secrets), len(hits))
		}
		for _, h := range hits {
			if str, ok := shown.(string); ok && str != Masked && len(h.Secret) > 0 && strings.Contains(str, h.Secret) && !strings.Contains(Masked, h.Secret) {
				t.Fatalf("masked %q as %q: %q shows", s, str, h.Secret)
			}
		}
	})
}

// TestNameFragmentsCoverEveryWord: the screen before the pair expressions
// drops no name IsName accepts: every credential word, joined suffix and
// connection-string name holds a fragment.
func TestNameFragmentsCoverEveryWord(t *testing.T) {
	var names []string
	for w, on := range credentialWords {
		if on {
			names = append(names, w, strings.ToLower(w), "DB_"+w, "x"+w)
		}
	}
	for _, w := range joinedSuffixes {
		names = append(names, "PG"+w)
	}
	names = append(names, "CONNECTION_STRING", "connectionString", "CONNECTIONSTRING", "connection_str")
	for _, n := range names {
		if IsName(n) && !mayHoldName(n+"=x") {
			t.Errorf("%s is a credential's name, and the screen drops it", n)
		}
	}
	if mayHoldName(`{"expr": "rate(http_requests_total[5m])", "legendFormat": "{{instance}}"}`) {
		t.Error("a dashboard query with no credential's name passes the screen")
	}
}
