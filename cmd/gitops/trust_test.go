package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/libertum/platform-gitops/generator/action"
)

// entryWith returns the path of the one cache entry under dir whose bytes
// hold want and none of the non-empty unwanted.
func entryWith(t *testing.T, dir, want string, unwanted ...string) string {
	t.Helper()
	found := entriesWith(t, dir, want, unwanted...)
	if len(found) != 1 {
		t.Fatalf("%d entries hold %q: %v", len(found), want, found)
	}
	return found[0]
}

// entriesWith returns the cache entries holding want and none of unwanted.
func entriesWith(t *testing.T, dir, want string, unwanted ...string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(want)) && !slices.ContainsFunc(unwanted, func(u string) bool { return u != "" && bytes.Contains(b, []byte(u)) }) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSwappedRenderEntry: an older render of a unit copied over the new
// unit's key — in the local cache or in the shared store — is refused:
// render writes the new image tag, verify finds the drift, one warning.
func TestSwappedRenderEntry(t *testing.T) {
	for _, shared := range []bool{false, true} {
		name := "local cache"
		if shared {
			name = "shared store"
		}
		t.Run(name, func(t *testing.T) {
			root := platformCopy(t)
			local, store := t.TempDir(), t.TempDir()
			args := func(more ...string) []string {
				a := append([]string{"--root", root, "--env", "dev"}, more...)
				if shared {
					return append(a, "--cache-dir", t.TempDir(), "--cache-url", "file://"+store)
				}
				return append(a, "--cache-dir", local)
			}
			if code, _, stderr := gitops(t, append([]string{"render", "--quiet"}, args()...)...); code != exitOK {
				t.Fatalf("render: %d\n%s", code, stderr)
			}
			if code, _, stderr := gitops(t, "set-image", "--root", root, "--env", "dev", "api=0a1b2c3d4e5f"); code != exitOK {
				t.Fatalf("set-image: %d\n%s", code, stderr)
			}
			if code, _, stderr := gitops(t, append([]string{"render", "--quiet"}, args()...)...); code != exitOK {
				t.Fatalf("render: %d\n%s", code, stderr)
			}
			dir := local
			if shared {
				dir = store
			}
			fresh := entryWith(t, dir, "libertum/api:0a1b2c3d4e5f", "")
			old := entryWith(t, dir, "libertum/api:9f2c4e1a7b3d", "kind: Ingress\nmetadata:\n  labels:\n    app.kubernetes.io/name: web")
			copyFile(t, old, fresh)

			code, _, stderr := gitops(t, append([]string{"render", "--quiet"}, args()...)...)
			if code != exitOK || strings.Count(stderr, "refused") != 1 {
				t.Fatalf("render over the swapped entry: exit %d, want 0 and one warning\n%s", code, stderr)
			}
			b, err := os.ReadFile(filepath.Join(root, "rendered/dev/weu-1/api/Deployment_api.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "libertum/api:0a1b2c3d4e5f") {
				t.Fatalf("render wrote the old image from the swapped entry:\n%s", b)
			}
			// The same swap again, now against verify: the committed tree
			// holds the old tag, the drift must show.
			copyFile(t, old, fresh)
			if code, _, stderr := gitops(t, "set-image", "--root", root, "--env", "dev", "api=9f2c4e1a7b3d"); code != exitOK {
				t.Fatalf("set-image back: %d\n%s", code, stderr)
			}
			if code, _, stderr := gitops(t, "set-image", "--root", root, "--env", "dev", "api=0a1b2c3d4e5f"); code != exitOK {
				t.Fatalf("set-image: %d\n%s", code, stderr)
			}
			os.WriteFile(filepath.Join(root, "rendered/dev/weu-1/api/Deployment_api.yaml"), bytes.ReplaceAll(b, []byte("0a1b2c3d4e5f"), []byte("9f2c4e1a7b3d")), 0o644)
			code, stdout, _ := gitops(t, append([]string{"verify", "--today", "2026-12-06"}, args()...)...)
			if code != exitFindings || !strings.Contains(stdout, "Deployment_api.yaml") {
				t.Errorf("verify over the swapped entry: exit %d, want the drift of the api Deployment\n%s", code, stdout)
			}
		})
	}
}

// TestSwappedFindingsEntry: a clean environment's findings copied over a
// violating one's key do not make verify pass, nor does a clean unit's
// per-object entry copied over the violating unit's.
func TestSwappedFindingsEntry(t *testing.T) {
	root := platformCopy(t)
	dir := t.TempDir()
	verify := func() (int, string) {
		code, stdout, _ := gitops(t, "verify", "--root", root, "--env", "dev", "--cache-dir", dir, "--today", "2026-12-06", "--format", "json")
		return code, stdout
	}
	if code, out := verify(); code != exitOK {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	// The environment's findings entry is the one that holds no rendered
	// object, no unit's per-object results, no connections and no stamp
	// capacities.
	clean := entryWith(t, dir, "", "apiVersion", "check-unit-entry/", `"intended"`, `"budget"`)
	cleanUnits := entriesWith(t, dir, "check-unit-entry/")
	// A violation: a container that may escalate its privileges.
	path := filepath.Join(root, "base/api/deployment.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", 1)
	if broken == string(b) {
		t.Fatal("base/api/deployment.yaml changed shape")
	}
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(); code != exitFindings || !strings.Contains(out, "podsecurity.privilege-escalation") {
		t.Fatalf("verify of the violation: %d\n%s", code, out)
	}
	violating := entryWith(t, dir, "podsecurity.privilege-escalation", "check-unit-entry/")
	var violatingUnit string
	for _, p := range entriesWith(t, dir, "check-unit-entry/") {
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("podsecurity.privilege-escalation")) {
			violatingUnit = p
		}
	}
	if violatingUnit == "" {
		t.Fatal("no unit entry holds the violation")
	}
	copyFile(t, clean, violating)
	if code, out := verify(); code != exitFindings || !strings.Contains(out, "podsecurity.privilege-escalation") {
		t.Errorf("verify over the swapped findings: exit %d, want the violation\n%s", code, out)
	}
	for _, u := range cleanUnits {
		copyFile(t, clean, violating) // the environment's entry swapped too, so the units are read
		copyFile(t, u, violatingUnit)
		if code, out := verify(); code != exitFindings || !strings.Contains(out, "podsecurity.privilege-escalation") {
			t.Errorf("verify over %s swapped into the violating unit's entry: exit %d, want the violation\n%s", filepath.Base(u), code, out)
		}
	}
}

// TestCacheURLMustBeAStore: a remote cache URL of a scheme the tool cannot
// open is bad input, from the flag and from the environment.
func TestCacheURLMustBeAStore(t *testing.T) {
	root := platformCopy(t)
	code, _, stderr := gitops(t, "render", "--root", root, "--quiet", "--cache-url", "http://cache.example.com/gitops")
	if code != exitError || !strings.Contains(stderr, `scheme "http"`) || !strings.Contains(stderr, "usage: gitops render") {
		t.Errorf("--cache-url http://: exit %d, want %d with the usage\n%s", code, exitError, stderr)
	}
	t.Setenv("GITOPS_CACHE_URL", "https://cache.example.com")
	if code, _, stderr := gitops(t, "verify", "--root", root, "--env", "dev"); code != exitError || !strings.Contains(stderr, `scheme "https"`) {
		t.Errorf("$GITOPS_CACHE_URL https://: exit %d\n%s", code, stderr)
	}
	t.Setenv("GITOPS_CACHE_URL", "")
	t.Setenv(action.EnvCacheVerifyKey, "not base64!")
	if code, _, stderr := gitops(t, "verify", "--root", root, "--env", "dev"); code != exitError || !strings.Contains(stderr, action.EnvCacheVerifyKey) {
		t.Errorf("a verify key that does not decode: exit %d\n%s", code, stderr)
	}
}

// TestCacheKeygen: keygen makes a pair whose public half verifies the
// private half's entries.
func TestCacheKeygen(t *testing.T) {
	code, stdout, _ := gitops(t, "cache", "keygen")
	if code != exitOK || !strings.Contains(stdout, action.EnvCacheSigningKey+"=") || !strings.Contains(stdout, action.EnvCacheVerifyKey+"=") {
		t.Fatalf("keygen: %d\n%s", code, stdout)
	}
	for _, l := range strings.Split(stdout, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			t.Setenv(k, v)
		}
	}
	if err := (&action.Config{}).CheckCache(); err != nil {
		t.Errorf("the pair keygen made: %v", err)
	}
}

// workflow is what TestWorkflowsKeepTheCacheTrusted reads of a GitHub
// Actions workflow: its triggers and each job's environment.
type workflow struct {
	On   map[string]any `yaml:"on"`
	Env  map[string]string
	Jobs map[string]struct {
		Env map[string]string `yaml:"env"`
	} `yaml:"jobs"`
}

// TestWorkflowsKeepTheCacheTrusted: only a workflow of pushes to the
// protected branch holds the shared cache's signing key or a SAS that
// writes; every pull-request job that reaches the shared tier reads it
// only, and refuses what the key did not sign.
func TestWorkflowsKeepTheCacheTrusted(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	signers := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var w workflow
		if err := yaml.Unmarshal(b, &w); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := filepath.Base(f)
		_, pr := w.On["pull_request"]
		_, prTarget := w.On["pull_request_target"]
		for job, j := range w.Jobs {
			env := map[string]string{}
			maps.Copy(env, w.Env)
			maps.Copy(env, j.Env)
			writes := env[action.EnvCacheSigningKey] != "" || strings.Contains(env["AZURE_STORAGE_SAS_TOKEN"], "WRITE")
			if writes {
				signers++
				push, _ := w.On["push"].(map[string]any)
				if pr || prTarget || push == nil || fmt.Sprint(push["branches"]) != "[main]" {
					t.Errorf("%s job %s can write the shared cache but runs on %v, not only on pushes to main", name, job, w.On)
				}
			}
			if (pr || prTarget) && env["GITOPS_CACHE_URL"] != "" {
				if env[action.EnvCacheReadOnly] != "true" || env[action.EnvCacheVerifyKey] == "" {
					t.Errorf("%s job %s reaches the shared cache from a pull request without %s=true and %s", name, job, action.EnvCacheReadOnly, action.EnvCacheVerifyKey)
				}
			}
		}
	}
	if signers != 1 {
		t.Errorf("%d jobs write the shared cache, want one (publish)", signers)
	}
}
