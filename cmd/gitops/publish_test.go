package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/internal/gittest"
)

func TestPublishCommand(t *testing.T) {
	work, _ := gittest.Platform(t)
	code, stdout, stderr := gitops(t, "publish", "--root", work)
	if code != exitOK || !strings.Contains(stdout, "created origin/rendered") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, _ = gitops(t, "publish", "--root", work)
	if code != exitOK || !strings.Contains(stdout, "nothing to publish") {
		t.Errorf("second publish: exit %d: %s", code, stdout)
	}
	code, stdout, _ = gitops(t, "history", "--root", work, "--env", "prod")
	head := gittest.Git(t, work, "rev-parse", "HEAD")
	if code != exitOK || !strings.Contains(stdout, head[:12]) || !strings.Contains(stdout, "dev,prod") {
		t.Errorf("history: exit %d:\n%s", code, stdout)
	}
}

// TestPublishProposedCommand: --proposed reaches the target: every stamp
// gets its -next branch, no stamp branch moves, and the report says so.
func TestPublishProposedCommand(t *testing.T) {
	work, remote := gittest.Platform(t)
	code, stdout, stderr := gitops(t, "publish", "--root", work, "--proposed")
	if code != exitOK || !strings.Contains(stdout, "no stamp moved") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	branches := gittest.Git(t, remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
	for _, b := range strings.Split(branches, "\n") {
		if strings.HasPrefix(b, "rendered-") && !strings.HasSuffix(b, "-next") {
			t.Errorf("stamp branch %s moved on a proposed publish:\n%s", b, branches)
		}
	}
	if !strings.Contains(branches, "rendered-dev-weu-1-next") || !strings.Contains(stdout, "proposed on rendered-dev-weu-1-next") {
		t.Errorf("no proposed branch for dev/weu-1:\n%s\n%s", branches, stdout)
	}
}

func TestPublishCommandRefuses(t *testing.T) {
	work, _ := gittest.Platform(t)
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("draft\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := gitops(t, "publish", "--root", work)
	if code != exitError || !strings.Contains(stderr, "dirty working tree") || !strings.Contains(stderr, "README.md") {
		t.Errorf("dirty tree: exit %d, want 2 naming the file:\n%s", code, stderr)
	}
	gittest.Commit(t, work, "Add a README")

	gittest.Edit(t, work, "rendered/dev/weu-1/api/Service_api.yaml", "port: 80\n", "port: 8080\n")
	gittest.Commit(t, work, "Hand-edit rendered output")
	code, _, stderr = gitops(t, "publish", "--root", work)
	if code != exitFindings || !strings.Contains(stderr, "refusing to publish: verify found 0 violations and 1 drifted files") || !strings.Contains(stderr, "Service_api.yaml") {
		t.Errorf("failing verify: exit %d, want 1 with the report:\n%s", code, stderr)
	}
}

// TestKilledRenderLeavesTheTreeClean: a render killed while it held the
// checkout's lock leaves its lock file (with its pid) behind; publish does
// not take it for a change, in a checkout with no .gitignore for it, and
// still refuses a real one.
func TestKilledRenderLeavesTheTreeClean(t *testing.T) {
	work, _ := gittest.Platform(t)
	if err := os.WriteFile(layout.LockFile(filepath.Join(work, layout.Dir)), []byte("12345\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := gitops(t, "publish", "--root", work); code != exitOK {
		t.Errorf("publish with a stale lock file: exit %d: %s%s", code, stdout, stderr)
	}
	if err := os.WriteFile(filepath.Join(work, "stray.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := gitops(t, "publish", "--root", work); code != exitError || !strings.Contains(stderr, "stray.yaml") {
		t.Errorf("publish with an untracked file: exit %d, want 2 naming it: %s", code, stderr)
	}
}

// TestVerifyProvenanceCommand: exit 0 and four passing checks on a signed
// publish, exit 1 on a commit added by hand, exit 2 on no such revision.
func TestVerifyProvenanceCommand(t *testing.T) {
	work, _ := gittest.Platform(t)
	signer := gittest.SigningKey(t, work)
	signer.Trust(t, work)
	if code, _, stderr := gitops(t, "render", "--root", work); code != exitOK {
		t.Fatalf("render: %s", stderr)
	}
	gittest.Commit(t, work, "Trust the publish key")
	gittest.Git(t, work, "push", "--quiet", "origin", "HEAD:main")
	if code, stdout, stderr := gitops(t, "publish", "--root", work); code != exitOK {
		t.Fatalf("publish: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr := gitops(t, "verify-provenance", "--root", work, "--remote", "origin", "--format", "json", "rendered-dev-weu-1")
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	var rep struct {
		Checks []struct {
			Check string
			OK    bool
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Checks) != 4 {
		t.Fatalf("json report: %v\n%s", err, stdout)
	}
	// A commit added to the branch by hand, unsigned.
	gittest.Git(t, work, "checkout", "--quiet", "--detach", "origin/rendered-dev-weu-1")
	if err := os.WriteFile(filepath.Join(work, "dev", "weu-1", "api", "ConfigMap_by-hand.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: by-hand}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Commit(t, work, "By hand")
	code, stdout, _ = gitops(t, "verify-provenance", "--root", work, "HEAD")
	if code != exitFindings || !strings.Contains(stdout, "FAIL signature") || !strings.Contains(stdout, "dev/weu-1/api/ConfigMap_by-hand.yaml") {
		t.Errorf("hand-made commit: exit %d, want %d:\n%s", code, exitFindings, stdout)
	}
	gittest.Git(t, work, "checkout", "--quiet", "main")
	if code, _, stderr := gitops(t, "verify-provenance", "--root", work, "no-such-branch"); code != exitError {
		t.Errorf("no such revision: exit %d, want %d: %s", code, exitError, stderr)
	}
}
