package report

import (
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/diff"
)

// TestLineDiff: a threshold changed in a long rule file shows as its one
// line, with context, not as a cut prefix of the whole file.
func TestLineDiff(t *testing.T) {
	var old []string
	for i := range 40 {
		old = append(old, "line "+string(rune('a'+i%26)))
	}
	new := append([]string(nil), old...)
	new[20] = "expr: x > 0.95"
	old[20] = "expr: x > 0.9"
	got := strings.Join(lineDiff(strings.Join(old, "\n")+"\n", strings.Join(new, "\n")+"\n"), "\n")
	want := strings.Join([]string{"@@ line 19", " " + old[18], " " + old[19], "-expr: x > 0.9", "+expr: x > 0.95", " " + old[21], " " + old[22]}, "\n")
	if got != want {
		t.Errorf("lineDiff:\n%s\nwant:\n%s", got, want)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"a\nb\n", "a\nc\nb\n", "@@ line 1\n a\n+c\n b"},
		{"a\nb\nc\n", "a\nc\n", "@@ line 1\n a\n-b\n c"},
		{"", "x\ny\n", "@@ line 1\n+x\n+y"},
		{"x\n", "y\n", "@@ line 1\n-x\n+y"},
	} {
		if got := strings.Join(lineDiff(tc.old, tc.new), "\n"); got != tc.want {
			t.Errorf("lineDiff(%q, %q):\n%s\nwant:\n%s", tc.old, tc.new, got, tc.want)
		}
	}
	if _, _, ok := multiline("one line", "another"); ok {
		t.Error("single-line strings are not multiline")
	}
	if _, _, ok := multiline(float64(3), "a\nb"); ok {
		t.Error("a number and a text are not a line diff")
	}
}

// TestAddedObjectsShowTheirContent: an added object's content is folded
// under its name in the comment.
func TestAddedObjectsShowTheirContent(t *testing.T) {
	f := diff.File{Path: "prod/weu-1/api/ConfigMap_x.yaml", Status: diff.Added, Kind: "ConfigMap", Namespace: "libertum", Name: "x",
		Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x"}, "data": map[string]any{"k": "v"}}}
	got := markdownFile(f)
	for _, want := range []string{"- **added** `ConfigMap libertum/x`\n", "<details><summary>content</summary>", "    ```yaml\n", "    data:\n", "      k: v\n", "</details>"} {
		if !strings.Contains(got, want) {
			t.Errorf("markdown lacks %q:\n%s", want, got)
		}
	}
}
