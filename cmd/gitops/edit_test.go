package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

func TestSetImageCommand(t *testing.T) {
	root := platformCopy(t)
	code, stdout, stderr := gitops(t, "set-image", "--root", root, "--env", "dev", "--render", "api=0a1b2c3d4e5f")
	if code != exitOK || !strings.Contains(stdout, "api libertum/api: 9f2c4e1a7b3d -> 0a1b2c3d4e5f") || !strings.Contains(stdout, "rendered dev") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(root, "rendered/dev/weu-1/api/Deployment_api.yaml"))
	if !strings.Contains(string(b), "libertum/api:0a1b2c3d4e5f") {
		t.Error("--render did not re-render dev")
	}
	code, stdout, _ = gitops(t, "set-image", "--root", root, "--env", "dev", "api=0a1b2c3d4e5f")
	if code != exitOK || !strings.Contains(stdout, "nothing changed") {
		t.Errorf("idempotent run: exit %d: %s", code, stdout)
	}
	before, _ := os.ReadFile(filepath.Join(root, "environments/dev.yaml"))
	for _, args := range [][]string{
		{"--env", "dev", "payments=0a1b2c3d4e5f"},
		{"--env", "dev", "api=not a tag"},
		{"--env", "dev", "api=1111111aaaaa", "ghost=1234567"},
		{"--env", "../prod", "api=0a1b2c3d4e5f"},
	} {
		code, _, stderr := gitops(t, append([]string{"set-image", "--root", root}, args...)...)
		if code != exitError {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(root, "environments/dev.yaml")); string(after) != string(before) {
		t.Error("a rejected set-image changed the file (all or nothing)")
	}
}

// TestSetImageRefusesMutableTags: the README's exact complaint, a prod
// image set to latest, is refused at edit time with the file and line.
func TestSetImageRefusesMutableTags(t *testing.T) {
	root := platformtest.Small(t)
	before, _ := os.ReadFile(filepath.Join(root, "environments/prod.yaml"))
	code, _, stderr := gitops(t, "set-image", "--root", root, "--env", "prod", "api=latest")
	if code != exitError || !strings.Contains(stderr, "environments/prod.yaml:") || !strings.Contains(stderr, `tag "latest" of in-house image libertum/api can move`) {
		t.Errorf("exit %d, want 2 naming the file and the mutable tag:\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(root, "environments/prod.yaml")); string(after) != string(before) {
		t.Error("a refused set-image changed the file")
	}
}

func TestPromoteCommand(t *testing.T) {
	root := platformCopy(t)
	if code, _, stderr := gitops(t, "set-image", "--root", root, "--env", "dev", "api=0a1b2c3d4e5f"); code != exitOK {
		t.Fatal(stderr)
	}
	code, stdout, stderr := gitops(t, "promote", "--root", root, "--from", "dev", "--to", "prod", "api")
	if code != exitOK || !strings.Contains(stdout, "environments/prod.yaml:") || !strings.Contains(stdout, "-> 0a1b2c3d4e5f") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = gitops(t, "promote", "--root", root, "--from", "dev", "--to", "prod")
	if code != exitOK || !strings.Contains(stdout, "nothing changed: prod already runs dev's tags: ") || !strings.Contains(stdout, "api libertum/api=0a1b2c3d4e5f") {
		t.Errorf("promoting everything after api: exit %d: %s (dev and prod run the same tags otherwise)", code, stdout)
	}
	if code, _, _ := gitops(t, "promote", "--root", root, "--from", "dev", "--to", "prod", "payments"); code != exitError {
		t.Errorf("unknown component: exit %d, want 2", code)
	}
}

func TestDiffCommand(t *testing.T) {
	work, _ := gittest.Platform(t)
	base := gittest.Git(t, work, "rev-parse", "HEAD")
	if code, _, stderr := gitops(t, "set-image", "--root", work, "--env", "dev", "api=0a1b2c3d4e5f"); code != exitOK {
		t.Fatal(stderr)
	}
	code, stdout, stderr := gitops(t, "diff", "--root", work, "--base", base, "--format", "markdown")
	if code != exitOK || !strings.Contains(stdout, "| dev | weu-1 | api | 0 | 0 | 1 |") || !strings.Contains(stdout, "```mermaid") {
		t.Errorf("exit %d:\n%s%s", code, stdout, stderr)
	}
	// By default only what the change can affect is rendered; --full
	// renders every unit of both sides, and the comment is the same.
	if !strings.Contains(stderr, "changed since "+base+": dev/api\n") {
		t.Errorf("diff did not limit itself to the change: stderr %q", stderr)
	}
	fullCode, full, fullErr := gitops(t, "diff", "--root", work, "--base", base, "--full", "--format", "markdown")
	if fullCode != code || full != stdout || strings.Contains(fullErr, "changed since") {
		t.Errorf("--full: exit %d, stderr %q, same comment %v", fullCode, fullErr, full == stdout)
	}
	if code, _, stderr := gitops(t, "diff", "--root", work, "--base", base, "--full", "--changed-since", base); code != exitError || !strings.Contains(stderr, "give one") {
		t.Errorf("--full with --changed-since: exit %d, want 2\n%s", code, stderr)
	}
	// A change that introduces a violation exits 1.
	gittest.Edit(t, work, "environments/dev.yaml", "tag: 0a1b2c3d4e5f", "tag: main")
	if code, stdout, _ := gitops(t, "diff", "--root", work, "--base", base); code != exitFindings || !strings.Contains(stdout, "policy introduced: deny [images.pinned]") {
		t.Errorf("introduced violation: exit %d:\n%s", code, stdout)
	}
	if code, _, _ := gitops(t, "diff", "--root", work, "--base", "no-such-ref"); code != exitError {
		t.Errorf("bad ref: exit %d, want 2", code)
	}
}

// diffComment runs gitops diff of work against base for one environment
// as the PR comment (markdown) and requires every wanted piece in it.
func diffComment(t *testing.T, work, base, env string, want ...string) string {
	t.Helper()
	code, stdout, stderr := gitops(t, "diff", "--root", work, "--base", base, "--env", env, "--format", "markdown")
	if code == exitError {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stdout, w) {
			t.Errorf("the comment lacks %q:\n%s", w, stdout)
		}
	}
	return stdout
}

// TestDiffShowsLinesOfMultilineValues: an alert threshold and one line of
// an nginx snippet change inside long configuration strings; the comment
// shows each as a line diff (not a cut prefix) and the JSON keeps the
// values whole.
func TestDiffShowsLinesOfMultilineValues(t *testing.T) {
	work, _ := gittest.PlatformFrom(t, platformtest.CopyRepo)
	base := gittest.Git(t, work, "rev-parse", "HEAD")
	gittest.Edit(t, work, "environments/staging.yaml", "    restartsPer15m: 3\n", "    restartsPer15m: 5\n")
	gittest.Edit(t, work, "base/ingress-nginx/templates/configmap.yaml", "      return 403;\n", "      return 421;\n")
	stdout := diffComment(t, work, base, "staging",
		"```diff",
		"    -      pod=~\"api-.*\"}[15m]) >= 3\n",
		"    +      pod=~\"api-.*\"}[15m]) >= 5\n",
		"    -  return 403;\n    +  return 421;\n",
	)
	if strings.Contains(stdout, "...` → `") {
		t.Errorf("a multi-line value is still cut to a prefix:\n%s", stdout)
	}
	_, js, _ := gitops(t, "diff", "--root", work, "--base", base, "--env", "staging", "--format", "json")
	if !strings.Contains(js, `[15m]) \u003e= 5`) && !strings.Contains(js, `[15m]) >= 5`) {
		t.Errorf("the JSON does not keep the new rule file whole")
	}
}

// TestDiffShowsCapacityHeadroom: a change to a stamp's peak load shows, in
// the comment, every prod stamp's requests at peak and at failover against
// its node budget — the figures before and after — and a Mermaid chart of
// them beside the network diagram.
func TestDiffShowsCapacityHeadroom(t *testing.T) {
	work, _ := gittest.PlatformFrom(t, platformtest.CopyRepo)
	base := gittest.Git(t, work, "rev-parse", "HEAD")
	gittest.Edit(t, work, "environments/prod.yaml", "      capacity: {baselineRPS: 100, peakRPS: 400}\n      origin: {weight: 50}\n",
		"      capacity: {baselineRPS: 100, peakRPS: 800}\n      origin: {weight: 50}\n")
	stdout := diffComment(t, work, base, "prod",
		"### 📊 Capacity headroom of the stamps",
		"| stamp | CPU at peak | CPU at failover | memory at peak | memory at failover | node budget |",
		// weu-1 now peaks at 800 rps, neu-1 at 400: without neu-1, weu-1
		// takes all 1,200 (x1.5); without weu-1, neu-1 does (x3).
		"(without neu-1, ×1.5)",
		"(without weu-1, ×3)",
		"```mermaid\nxychart-beta\n",
		`x-axis ["weu-1 CPU peak", "weu-1 CPU failover", "weu-1 mem peak", "weu-1 mem failover", "neu-1 CPU peak"`,
	)
	// The edited stamp's peak moved, shown as before → after.
	if !regexp.MustCompile(`\| prod/weu-1 \| [0-9.]+ → [0-9.]+ cores`).MatchString(stdout) {
		t.Errorf("prod/weu-1's CPU at peak does not show its change:\n%s", stdout)
	}
	if regexp.MustCompile(`\| prod/neu-1 \| [0-9.]+ → `).MatchString(stdout) {
		t.Errorf("prod/neu-1's peak did not change, but shows a change:\n%s", stdout)
	}
}
