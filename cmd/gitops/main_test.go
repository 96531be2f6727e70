package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/gittest"
	"github.com/libertum/platform-gitops/generator/layout"
)

const repoRoot = "../.."

// platformCopy copies the repo's platform config and committed rendered/
// tree into a temp dir, so a test can break it without touching the repo.
func platformCopy(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	gittest.CopyPlatform(t, repoRoot, dst)
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
	root := platformCopy(t)
	before := readRendered(t, root)
	code, stdout, stderr := gitops(t, "render", "--root", root)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, col := range []string{"ENV", "STAMP", "COMPONENTS", "OBJECTS", "BYTES", "TIME", "prod", "neu-1", "total"} {
		if !strings.Contains(stdout, col) {
			t.Errorf("summary lacks %q:\n%s", col, stdout)
		}
	}
	if after := readRendered(t, root); !layout.Equal(before, after) {
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
				gittest.Edit(t, root, "environments/staging.yaml", "  registry: acrlibertumstaging.azurecr.io\n", "  registry: [acrlibertumstaging.azurecr.io\n")
			},
			want: []string{"environments/staging.yaml:"},
		},
		{
			name: "unknown field",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "environments/dev.yaml", "    web:\n      syncWave: 1\n", "    web:\n      syncWave: 1\n      replica: 2\n")
			},
			want: []string{"environments/dev.yaml:", "field replica not found"},
		},
		{
			name: "component referring to a missing base",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "environments/prod.yaml", "    web:\n      syncWave: 1\n", "    web:\n      base: website\n      syncWave: 1\n")
			},
			want: []string{"environments/prod.yaml:", "base/website", "missing base"},
		},
		{
			name: "helm template error",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "base/grafana/templates/deployment.yaml", "replicas: {{ .Values.replicas }}", "replicas: {{ .Values.scale.replicas }}")
			},
			want: []string{"base/grafana/templates/deployment.yaml:10", "nil pointer"},
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
				gittest.Edit(t, root, "overlays/dev/api/deployment-env.yaml", "  name: api\n", "  name: api-server\n")
			},
			want: []string{"overlays/dev/api", "api-server"},
		},
		{
			name: "targeted patch without target",
			break_: func(t *testing.T, root string) {
				gittest.Edit(t, root, "overlays/prod/web/kustomization.yaml", "name: web\n", "name: website\n")
			},
			want: []string{"overlays/prod/web/kustomization.yaml:5", "matches no object"},
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
			if after := readRendered(t, root); !layout.Equal(before, after) {
				t.Error("a failed render changed rendered/")
			}
		})
	}
}

func TestParseRender(t *testing.T) {
	tests := []struct {
		args    []string
		want    renderConfig
		wantErr bool
	}{
		{args: nil, want: renderConfig{root: ".", out: "rendered"}},
		{args: []string{"--env", "dev", "--env", "prod", "--jobs", "3"}, want: renderConfig{root: ".", out: "rendered", envs: []string{"dev", "prod"}, workers: 3}},
		{args: []string{"--root", "/r"}, want: renderConfig{root: "/r", out: "/r/rendered"}},
		{args: []string{"--out", "x", "--quiet"}, want: renderConfig{root: ".", out: "x", quiet: true}},
		{args: []string{"extra"}, wantErr: true},
		{args: []string{"--jobs", "many"}, wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseRender(tc.args, &bytes.Buffer{})
		if (err != nil) != tc.wantErr {
			t.Errorf("parseRender(%q) error = %v, wantErr %v", tc.args, err, tc.wantErr)
			continue
		}
		if err == nil && (got.root != tc.want.root || got.out != tc.want.out || strings.Join(got.envs, ",") != strings.Join(tc.want.envs, ",") || got.workers != tc.want.workers || got.quiet != tc.want.quiet) {
			t.Errorf("parseRender(%q) = %+v, want %+v", tc.args, got, tc.want)
		}
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
