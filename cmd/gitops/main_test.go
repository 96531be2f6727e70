package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// repoRoot is the real platform: only the tests of its own invariants
// (its committed tree is current and passes verify) use it.
var repoRoot = platformtest.Repo()

// platformCopy copies the small test platform (its config, committed
// rendered/ tree, and the repo's policies and CRDs) into a temp dir, so a
// test can break it without touching the repo.
func platformCopy(t *testing.T) string {
	t.Helper()
	return platformtest.Small(t)
}

// realPlatformCopy copies the repo's own platform, for the tests of its
// invariants.
func realPlatformCopy(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	platformtest.CopyRepo(t, dst)
	return dst
}

func gitops(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func readRendered(t *testing.T, root string) []layout.File {
	t.Helper()
	files, err := layout.Read(filepath.Join(root, layout.Dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestRenderCommittedTreeIsUpToDate(t *testing.T) {
	root := realPlatformCopy(t)
	before := readRendered(t, root)
	code, stdout, stderr := gitops(t, "render", "--root", root)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, col := range []string{"ENV", "STAMP", "UNITS", "OBJECTS", "BYTES", "UNIT TIME", "wall", "56 planned", "prod", "neu-1", "total"} {
		if !strings.Contains(stdout, col) {
			t.Errorf("summary lacks %q:\n%s", col, stdout)
		}
	}
	if after := readRendered(t, root); !cmp.Equal(before, after, cmpopts.EquateEmpty()) {
		t.Error("render changed the committed rendered/ tree; run make render")
	}
}

func TestRenderPrunesAndKeepsOtherEnvironments(t *testing.T) {
	root := platformCopy(t)
	stale := filepath.Join(root, "rendered", "dev", "weu-1", "api", "ConfigMap_gone.yaml")
	if err := os.WriteFile(stale, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A prod file changed by hand stays as it is when only dev renders.
	prodFile := filepath.Join(root, "rendered", "prod", "weu-1", "api", "Service_api.yaml")
	if err := os.WriteFile(prodFile, []byte("hand edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := gitops(t, "render", "--root", root, "--env", "dev", "--quiet"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale file was not pruned: %v", err)
	}
	if b, _ := os.ReadFile(prodFile); string(b) != "hand edit\n" {
		t.Errorf("rendering dev touched prod: %q", b)
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".new-") {
			t.Errorf("temporary tree %s left behind", e.Name())
		}
	}
}

// TestRenderBadInput: each kind of bad input exits 2 with a message naming
// the file (and line), and leaves rendered/ byte-for-byte as it was.
func TestRenderBadInput(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		break_ func(t *testing.T, root string)
		want   []string
	}{
		{
			name: "malformed yaml in an environment file",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "environments/prod.yaml", "  registry: acrlibertumprod.azurecr.io\n", "  registry: [acrlibertumprod.azurecr.io\n")
			},
			want: []string{"environments/prod.yaml:"},
		},
		{
			name: "unknown field",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "environments/dev.yaml", "    api:\n      syncWave: 1\n", "    api:\n      syncWave: 1\n      replica: 2\n")
			},
			want: []string{"environments/dev.yaml:", "field replica not found"},
		},
		{
			name: "component referring to a missing base",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "environments/prod.yaml", "    api:\n      syncWave: 1\n", "    api:\n      base: website\n      syncWave: 1\n")
			},
			want: []string{"environments/prod.yaml:", "base/website", "missing base"},
		},
		{
			name: "helm template error",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "base/redis/templates/statefulset.yaml", "replicas: {{ .Values.replicas }}", "replicas: {{ .Values.scale.replicas }}")
			},
			want: []string{"base/redis/templates/statefulset.yaml:12", "nil pointer"},
		},
		{
			name: "non-deterministic chart",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "base/redis/templates/configmap.yaml", "    port 6379\n", "    port 6379\n    # {{ randAlphaNum 8 }}\n")
			},
			want: []string{"base/redis/templates/configmap.yaml:13", "randAlphaNum"},
		},
		{
			name: "strategic merge patch without target",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "overlays/prod/api/deployment-env.yaml", "  name: api\n", "  name: api-server\n")
			},
			want: []string{"overlays/prod/api/deployment-env.yaml:4:", "api-server", "matches no object", "overlays/prod/api/kustomization.yaml:5"},
		},
		{
			name: "replicas out of 32-bit range",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "environments/dev.yaml", "    api:\n      syncWave: 1\n", "    api:\n      replicas: 4294967299\n      syncWave: 1\n")
			},
			want: []string{"environments/dev.yaml:", "replicas: 4294967299 is out of range"},
		},
		{
			name: "targeted patch without target",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "overlays/prod/api/kustomization.yaml", "  - path: deployment-env.yaml\n", "  - path: deployment-env.yaml\n    target:\n      kind: Deployment\n      name: website\n")
			},
			want: []string{"overlays/prod/api/kustomization.yaml:6", "website", "matches no object"},
		},
		{
			name: "environment name with a path separator",
			args: []string{"--env", "../prod"},
			want: []string{`"../prod"`, "path separators"},
		},
		{
			name: "unknown environment",
			args: []string{"--env", "qa"},
			want: []string{"environment qa"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := platformCopy(t)
			if tc.break_ != nil {
				tc.break_(t, root)
			}
			before := readRendered(t, root)
			code, _, stderr := gitops(t, append([]string{"render", "--root", root}, tc.args...)...)
			if code != exitError {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitError, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if after := readRendered(t, root); !cmp.Equal(before, after, cmpopts.EquateEmpty()) {
				t.Error("a failed render changed rendered/")
			}
		})
	}
}

func TestUsage(t *testing.T) {
	if code, _, _ := gitops(t); code != exitError {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if code, _, stderr := gitops(t, "frobnicate"); code != exitError || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, stderr)
	}
}

// TestEveryCommandHasHelp: -h shows each command's synopsis with its
// positional arguments, and an example, and exits 0.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		args := []string{c.name, "-h"}
		if c.name == "policy" {
			if code, _, stderr := gitops(t, "policy", "-h"); code != exitOK || !strings.Contains(stderr, "usage: gitops policy check") {
				t.Errorf("policy -h: exit %d:\n%s", code, stderr)
			}
			for _, sub := range []string{"check", "test"} {
				code, _, stderr := gitops(t, "policy", sub, "-h")
				if code != exitOK || !strings.Contains(stderr, "usage: gitops policy "+sub) || !strings.Contains(stderr, "example:\n  ") {
					t.Errorf("policy %s -h: exit %d:\n%s", sub, code, stderr)
				}
			}
			continue
		}
		code, _, stderr := gitops(t, args...)
		if code != exitOK || !strings.Contains(stderr, "usage: gitops "+c.name) || !strings.Contains(stderr, "example:\n  gitops ") {
			t.Errorf("%s -h: exit %d:\n%s", c.name, code, stderr)
		}
	}
}

// TestFlagsAfterArguments: the README's `set-image --env dev api=TAG
// --render` works: flags may follow the positional arguments.
func TestFlagsAfterArguments(t *testing.T) {
	root := platformtest.Small(t)
	code, stdout, stderr := gitops(t, "set-image", "--root", root, "--env", "dev", "api=0a1b2c3d4e5f", "--render", "--no-cache")
	if code != exitOK || !strings.Contains(stdout, "rendered dev") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(root, "rendered/dev/weu-1/api/Deployment_api.yaml"))
	if err != nil || !strings.Contains(string(b), "api:0a1b2c3d4e5f") {
		t.Errorf("rendered/ does not run the new tag (%v)", err)
	}
}

// TestHelpCommand: `gitops help render` is `gitops render -h` on stdout,
// not the top-level usage.
func TestHelpCommand(t *testing.T) {
	code, stdout, _ := gitops(t, "help", "render")
	if code != exitOK || !strings.Contains(stdout, "usage: gitops render") || strings.Contains(stdout, "commands:") {
		t.Errorf("help render: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = gitops(t, "help", "policy", "check")
	if code != exitOK || !strings.Contains(stdout, "usage: gitops policy check") {
		t.Errorf("help policy check: exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := gitops(t, "help", "frobnicate"); code != exitError || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("help frobnicate: exit %d:\n%s", code, stderr)
	}
}
