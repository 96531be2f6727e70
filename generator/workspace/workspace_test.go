package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/internal/platformtest"
)

// env is an environment file named NAME: the small test platform's dev.
var env = func() string {
	b, err := os.ReadFile(filepath.Join(platformtest.SmallDir(), "environments", "dev.yaml"))
	if err != nil {
		panic(err)
	}
	return strings.Replace(string(b), "  name: dev\n", "  name: NAME\n", 1)
}()

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEnvironments(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"environments/b.yaml":     strings.Replace(env, "NAME", "b", 1),
		"environments/a.yaml":     strings.Replace(env, "NAME", "a", 1),
		"environments/wrong.yaml": strings.Replace(env, "NAME", "other", 1),
		"environments/README.md":  "not an environment",
	})
	ws := Open(root)
	names, err := ws.Names()
	if err != nil || strings.Join(names, ",") != "a,b,wrong" {
		t.Fatalf("Names = %v, %v", names, err)
	}
	envs, err := ws.Environments([]string{"b", "a", "b"})
	if err != nil || len(envs) != 2 || envs[0].Name() != "a" || envs[1].Name() != "b" {
		t.Fatalf("Environments(b, a, b) = %v, %v; want a and b, sorted, once", envs, err)
	}
	again, err := ws.Environment("a")
	if err != nil || again != envs[0] {
		t.Errorf("Environment(a) decoded the file again (%p, %p) or failed: %v", again, envs[0], err)
	}
	nameLine := strings.Count(env[:strings.Index(env, "  name: NAME")], "\n") + 1
	if _, err := ws.Environments(nil); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("environments/wrong.yaml:%d: metadata.name", nameLine)) {
		t.Errorf("all environments: err = %v, want the name mismatch in wrong.yaml at line %d", err, nameLine)
	}
	for _, bad := range []string{"../a", "a/b", "A"} {
		if _, err := ws.Environment(bad); err == nil || !strings.Contains(err.Error(), "path separators") {
			t.Errorf("Environment(%q) = %v, want a name error", bad, err)
		}
	}
}

// TestYmlIsAnError: an environment file that does not end in .yaml would
// be skipped by every command; it is named instead.
func TestYmlIsAnError(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"environments/a.yaml": strings.Replace(env, "NAME", "a", 1),
		"environments/b.yml":  strings.Replace(env, "NAME", "b", 1),
	})
	if _, err := Open(root).Environments(nil); err == nil || !strings.Contains(err.Error(), "environments/b.yml: environment files end in .yaml") {
		t.Errorf("err = %v, want b.yml named", err)
	}
}

func TestNoEnvironments(t *testing.T) {
	if _, err := Open(t.TempDir()).Names(); err == nil {
		t.Error("a repo without environments/ gave no error")
	}
}

// TestCommittedIsReadOnce: the committed tree is read at the first call;
// later calls see that snapshot.
func TestCommittedIsReadOnce(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{"rendered/a/s1/api/Service_api.yaml": "v1"})
	ws := Open(root)
	tree, err := ws.Committed()
	if err != nil {
		t.Fatal(err)
	}
	write(t, root, map[string]string{"rendered/a/s1/api/Service_api.yaml": "v2"})
	again, err := ws.Committed()
	if err != nil || again != tree || string(again.Files(nil)[0].Data) != "v1" {
		t.Errorf("Committed read the tree again: %v", err)
	}
}

// TestConcurrentLoads: goroutines asking for the same environment and the
// committed tree at once all get one value (run under -race in CI).
func TestConcurrentLoads(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"environments/a.yaml":                strings.Replace(env, "NAME", "a", 1),
		"rendered/a/s1/api/Service_api.yaml": "v1",
	})
	ws := Open(root)
	const n = 8
	envs := make(chan any, n)
	trees := make(chan any, n)
	for range n {
		go func() {
			e, _ := ws.Environment("a")
			envs <- e
			tr, _ := ws.Committed()
			trees <- tr
		}()
	}
	first, firstTree := <-envs, <-trees
	for range n - 1 {
		if e := <-envs; e != first {
			t.Error("two goroutines got different values for one environment")
		}
		if tr := <-trees; tr != firstTree {
			t.Error("two goroutines got different committed trees")
		}
	}
	if first == nil || firstTree == nil {
		t.Fatal("nothing loaded")
	}
}

// TestInputsAreWhatARenderReads: the environment files, the sources, the
// policies (exceptions included) and the CRDs, by repo-relative path, with
// their bytes; nothing else of the checkout (rendered/, a README, a
// file beside the policies that is not Rego).
func TestInputsAreWhatARenderReads(t *testing.T) {
	root := platformtest.Small(t)
	write(t, root, map[string]string{
		"README.md":                "not an input",
		"policies/notes.txt":       "not an input",
		"policies/exceptions.yaml": "exceptions: []\n",
	})
	files, err := Open(root).Inputs()
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := os.ReadFile(filepath.Join(root, "environments", "dev.yaml"))
	if string(files["environments/dev.yaml"]) != string(dev) {
		t.Errorf("environments/dev.yaml: %d bytes, want %d", len(files["environments/dev.yaml"]), len(dev))
	}
	for _, want := range []string{"policies/lib.rego", "policies/exceptions.yaml"} {
		if _, ok := files[want]; !ok {
			t.Errorf("inputs lack %s", want)
		}
	}
	var bases, crds int
	for p := range files {
		switch {
		case strings.HasPrefix(p, "base/"):
			bases++
		case strings.HasPrefix(p, "crds/"):
			crds++
		case strings.HasPrefix(p, "environments/"), strings.HasPrefix(p, "policies/"), strings.HasPrefix(p, "overlays/"):
		default:
			t.Errorf("%s is not something a render reads", p)
		}
	}
	if bases == 0 || crds == 0 {
		t.Errorf("%d base files, %d CRDs: want some of each", bases, crds)
	}
	if _, ok := files["policies/notes.txt"]; ok {
		t.Error("policies/notes.txt is listed: the policies are the Rego files")
	}
}
