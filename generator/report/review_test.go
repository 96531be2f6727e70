package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s lacks %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkComments asserts what a PR comment needs: under the limit, every
// table starting with its header, collapsible sections and code fences
// balanced within the comment.
func checkComments(t *testing.T, comments []string, limit int) {
	t.Helper()
	for i, c := range comments {
		if len(c) > limit {
			t.Errorf("comment %d has %d characters, over %d", i, len(c), limit)
		}
		if !strings.HasPrefix(c, commentMarker) {
			t.Errorf("comment %d lacks the marker CI finds it by", i)
		}
		if strings.Count(c, "<details>") != strings.Count(c, "</details>") {
			t.Errorf("comment %d opens %d <details> but closes %d", i, strings.Count(c, "<details>"), strings.Count(c, "</details>"))
		}
		if strings.Count(c, "```")%2 != 0 {
			t.Errorf("comment %d cuts a code block", i)
		}
		lines := strings.Split(c, "\n")
		for j, l := range lines {
			if !strings.HasPrefix(l, "|") {
				continue
			}
			if j == 0 || !strings.HasPrefix(lines[j-1], "|") {
				// First line of a table: a header, then its delimiter row.
				if j+1 >= len(lines) || !strings.HasPrefix(lines[j+1], "|---") {
					t.Errorf("comment %d: table at line %d starts without a header:\n%s", i, j+1, l)
				}
			}
		}
	}
}

// TestLargeChangeComments: a change touching every component of every
// environment stays under GitHub's limit per comment, never cut mid-table.
func TestLargeChangeComments(t *testing.T) {
	// The real platform: a change to every object of it must split.
	work, _ := gittest.PlatformFrom(t, platformtest.CopyRepo)
	base := gittest.Git(t, work, "rev-parse", "HEAD")
	for _, env := range []string{"dev", "staging", "prod"} {
		editFile(t, filepath.Join(work, "environments", env+".yaml"), "registry: acrlibertum"+env+".azurecr.io", "registry: acrlibertum"+env+"new.azurecr.io")
	}
	// An annotation on every object of every environment.
	for _, env := range []string{"dev", "staging"} {
		if err := os.WriteFile(filepath.Join(work, "overlays", env, "kustomization.yaml"), []byte(
			"apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  libertum.io/change-approval: platform-oncall\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	editFile(t, filepath.Join(work, "overlays", "prod", "kustomization.yaml"), "libertum.io/change-approval: platform-oncall", "libertum.io/change-approval: platform-oncall-and-security")
	gittest.Commit(t, work, "Move registries and rename a stamp")

	r, err := (&action.Diff{Config: &action.Config{Root: work, NoCache: true}, Base: base, Today: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	touched := map[string]bool{}
	for _, u := range r.Units {
		touched[u.Component] = true
	}
	for _, c := range []string{"api", "web", "tokenization", "healthservice", "ingress-nginx", "kafka", "redis", "mongodb", "prometheus", "grafana", "loki", "promtail"} {
		if !touched[c] {
			t.Errorf("the change does not touch %s", c)
		}
	}
	comments := ReviewComments(r, CommentLimit)
	checkComments(t, comments, CommentLimit)
	total := 0
	for _, c := range comments {
		total += len(c)
	}
	if total <= CommentLimit {
		t.Errorf("the review fits one comment (%d chars): the test no longer exercises splitting", total)
	}
	t.Logf("%d comments, %d characters in all", len(comments), total)

	// Much smaller limits split tables and sections many times over.
	for _, limit := range []int{4000, 1500} {
		small := ReviewComments(r, limit)
		checkComments(t, small, limit)
		if len(small) < 3 {
			t.Errorf("limit %d: %d comments, want many", limit, len(small))
		}
	}
}

// TestConnectivityInTheComment: opened and closed connections are listed,
// and the diagram marks added and removed edges and removed components.
func TestConnectivityInTheComment(t *testing.T) {
	closed := action.Flow{Env: "dev", Change: "closed"}
	closed.Stamp, closed.From, closed.To, closed.FromComponent, closed.ToComponent = "weu-1", "libertum/api", "data/redis", "api", "redis"
	closed.Port.Port, closed.Port.Protocol = 6379, "TCP"
	r := &action.Review{Base: "main", BaseCommit: "0123456789abcdef", Envs: []string{"dev"},
		Intent: map[string][]action.ComponentIntent{"dev": {
			{Name: "api", Tier: "private", Changed: true},
			{Name: "cache", Tier: "private", Changed: true, Removed: true},
			{Name: "redis", Tier: "private"},
		}},
		Links: map[string][]action.Link{"dev": {
			{From: "api", To: "azure:blob", Status: "added"},
			{From: "api", To: "redis", Status: "removed"},
		}},
		Connectivity: []action.Flow{closed},
	}
	md := strings.Join(ReviewComments(r, CommentLimit), "\n")
	for _, want := range []string{
		"| closed | dev/weu-1 | libertum/api | data/redis | 6379/TCP |",
		"api ==>|added| azure_blob", "api -.->|removed| redis", `cache["cache (removed)"]`, "class cache removed",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("comment lacks %q:\n%s", want, md)
		}
	}
	var text strings.Builder
	if err := WriteReview(&text, "text", r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "connectivity closed: dev/weu-1 libertum/api -> data/redis on 6379/TCP") {
		t.Errorf("text lacks the closed connection:\n%s", text.String())
	}
}
