package main

import (
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
