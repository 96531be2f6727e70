package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestDriftNeverShowsCredentials: a hand edit that puts credentials into
// the committed tree shows as drift in every format, with the values
// masked; an image bump of a component whose name holds "token" is not.
func TestDriftNeverShowsCredentials(t *testing.T) {
	root := platformtest.Small(t)
	gittest.Edit(t, root, "rendered/dev/weu-1/api/Deployment_api.yaml", "        env:\n",
		"        env:\n        - name: CONN\n          value: mongodb://admin:pa55word@db:27017/app\n        - name: API_TOKEN\n          value: tok-0123456789\n")
	gittest.Edit(t, root, "rendered/dev/weu-1/api/Deployment_api.yaml", "libertum/api:9f2c4e1a7b3d", "libertum/api:0000000aaaaa")
	for _, format := range []string{"text", "json", "markdown", "sarif", "junit"} {
		code, stdout, stderr := gitops(t, "verify", "--root", root, "--no-cache", "--env", "dev", "--format", format, "--today", "2026-11-23")
		if code != exitFindings {
			t.Fatalf("%s: exit %d, want 1 (drift): %s", format, code, stderr)
		}
		for _, secret := range []string{"pa55word", "tok-0123456789"} {
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("%s: the report shows %q", format, secret)
			}
		}
		if format == "text" && (!strings.Contains(stdout, "********") || !strings.Contains(stdout, "libertum/api:0000000aaaaa")) {
			t.Errorf("text: want masked credentials and the visible image change:\n%s", stdout)
		}
	}
}

// TestRenderRefusesCredentials: a render that would write a Secret's data
// or a credential literal exits 1 naming it, and writes nothing.
func TestRenderRefusesCredentials(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"plaintext Secret", map[string]string{
			"overlays/dev/api/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [secret.yaml]\n",
			"overlays/dev/api/secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-db\nstringData:\n  password: hunter2\n",
		}, "stringData.password"},
		{"password env literal", map[string]string{
			"overlays/dev/api/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: env.yaml\n",
			"overlays/dev/api/env.yaml":           "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          env:\n            - {name: DB_PASSWORD, value: hunter2}\n",
		}, "env[name=DB_PASSWORD].value"},
		{"URL with a password", map[string]string{
			"overlays/dev/api/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: env.yaml\n",
			"overlays/dev/api/env.yaml":           "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          env:\n            - {name: MONGO, value: \"mongodb://admin:hunter2@db:27017\"}\n",
		}, "env[name=MONGO].value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := platformtest.Small(t)
			for p, data := range tc.files {
				full := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := readRendered(t, root)
			code, _, stderr := gitops(t, "render", "--root", root, "--no-cache")
			if code != exitFindings || !strings.Contains(stderr, "secrets.plaintext") || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want 1 naming secrets.plaintext and %s:\n%s", code, tc.want, stderr)
			}
			if strings.Contains(stderr, "hunter2") {
				t.Errorf("the refusal prints the credential:\n%s", stderr)
			}
			if after := readRendered(t, root); !cmp.Equal(before, after, cmpopts.EquateEmpty()) {
				t.Error("a refused render changed rendered/")
			}
		})
	}
}
