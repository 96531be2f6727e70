package plan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/gittest"
)

func TestSince(t *testing.T) {
	work, _ := gittest.Platform(t)
	base := gittest.Git(t, work, "rev-parse", "HEAD")
	allProd := []string{"prod/api", "prod/redis"}

	replace := func(file, old, new string) func(t *testing.T) {
		return func(t *testing.T) { gittest.Edit(t, work, file, old, new) }
	}
	create := func(file string) func(t *testing.T) {
		return func(t *testing.T) {
			p := filepath.Join(work, file)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("# new\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		change func(t *testing.T)
		commit bool
		want   []string
	}{
		{"nothing", func(*testing.T) {}, false, nil},
		{"one image tag, uncommitted", replace("environments/prod.yaml", "tag: 9f2c4e1a7b3d", "tag: 0123456789ab"), false, []string{"prod/api"}},
		{"one image tag, committed", replace("environments/prod.yaml", "tag: 9f2c4e1a7b3d", "tag: 0123456789ab"), true, []string{"prod/api"}},
		{"cluster size: the whole environment", replace("environments/prod.yaml", "maxNodes: 15", "maxNodes: 12"), false, allProd},
		{"who talks to whom: every component's network policy inputs", replace("environments/prod.yaml", "talksTo: [redis]", "talksTo: []"), false, allProd},
		{"a base: that component everywhere", replace("base/api/deployment.yaml", "\n", "\n# a comment\n"), false, []string{"dev/api", "prod/api"}},
		{"a component overlay", replace("overlays/prod/api/deployment-env.yaml", "\n", "\n# a comment\n"), false, []string{"prod/api"}},
		{"an environment overlay", replace("overlays/prod/kustomization.yaml", "\n", "\n# a comment\n"), false, []string{"prod/*"}},
		{"a hand edit of rendered/", replace("rendered/dev/weu-1/api/Service_api.yaml", "\n", "\n# edited\n"), false, []string{"dev/api"}},
		{"a policy or a doc: no render", func(t *testing.T) {
			replace("policies/images.rego", "\n", "\n# a comment\n")(t)
			create("docs/notes.md")(t)
		}, false, nil},
		{"the tool's code: everything", create("generator/extra/extra.go"), false, []string{"*"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() {
				gittest.Git(t, work, "reset", "--quiet", "--hard", base)
				gittest.Git(t, work, "clean", "--quiet", "-fdx")
			})
			tc.change(t)
			if tc.commit {
				gittest.Commit(t, work, tc.name)
			}
			s, err := Since(context.Background(), workspace.Open(work), base)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, s.Units()); diff != "" {
				t.Errorf("units (-want +got):\n%s\nwhy: %s", diff, strings.Join(s.Why, "; "))
			}
		})
	}
}

func TestSinceBadRef(t *testing.T) {
	work, _ := gittest.Platform(t)
	_, err := Since(context.Background(), workspace.Open(work), "no-such-ref")
	if err == nil || !strings.Contains(err.Error(), "--changed-since no-such-ref") {
		t.Errorf("err = %v, want it to name --changed-since no-such-ref", err)
	}
}
