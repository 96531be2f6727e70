package report

import (
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/publish"
)

// TestRolloutNamesTheRender: every outcome of a rollout names the render
// it is about; none prints an empty field.
func TestRolloutNamesTheRender(t *testing.T) {
	const src, rendered = "0123456789abcdef0123456789abcdef01234567", "89abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name string
		res  publish.RolloutResult
		want string
	}{
		{"pinned, already there", publish.RolloutResult{Wave: 2, Source: src, Rendered: rendered, Pinned: "prod/neu-1"},
			"prod/neu-1 already runs the render of 0123456789ab (89abcdef0123): nothing moved\n"},
		{"every wave current", publish.RolloutResult{Source: src, Rendered: rendered},
			"every wave already runs the render of 0123456789ab (89abcdef0123)\n"},
		{"moved", publish.RolloutResult{Wave: 2, Source: src, Rendered: rendered, Moved: []publish.StampState{{
			Stamp: publish.Stamp{Env: "prod", Name: "neu-1", Branch: "rendered-prod-neu-1"}, Source: src, Rendered: rendered}}},
			"wave 2: prod/neu-1 (rendered-prod-neu-1) now runs the render of 0123456789ab (89abcdef0123)\n"},
	} {
		var b strings.Builder
		if err := Rollout(&b, "text", &tc.res); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want || strings.Contains(b.String(), "()") {
			t.Errorf("%s: %q, want %q", tc.name, b.String(), tc.want)
		}
	}
}

// TestPublishedSaysWhatAProposalMoves: a proposed publish names each
// proposed branch and says that no stamp moved and what moves them.
func TestPublishedSaysWhatAProposalMoves(t *testing.T) {
	const src, rendered = "0123456789abcdef0123456789abcdef01234567", "89abcdef0123456789abcdef0123456789abcdef"
	res := &publish.Result{Source: src, Commit: rendered, Envs: []string{"prod"}, Proposed: true, Stamps: []publish.StampState{
		{Stamp: publish.Stamp{Env: "prod", Name: "weu-1", Branch: "rendered-prod-weu-1-next"}},
	}}
	var b strings.Builder
	Published(&b, "origin", "rendered", res)
	want := "updated origin/rendered at 89abcdef0123: render of 0123456789ab for prod\n" +
		"  prod/weu-1: proposed on rendered-prod-weu-1-next\n" +
		"no stamp moved: each runs the render once its promotion (a pull request from BRANCH-next into BRANCH, opened by gitops-promoter or by hand) merges\n"
	if b.String() != want {
		t.Errorf("%q, want %q", b.String(), want)
	}
}
