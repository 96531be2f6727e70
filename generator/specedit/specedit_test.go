package specedit

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSetImagesGolden: on a commented file, only the tags' lines change,
// quoting kept; a second run changes nothing.
func TestSetImagesGolden(t *testing.T) {
	in := read(t, "commented.yaml")
	changes := []ImageTag{
		{Component: "api", Tag: "0a1b2c3d4e5f"},
		{Component: "web", Tag: "5f4e3d2c1b0a"},
		{Component: "mongodb", Image: "libertum/mongodb-backup", Tag: "abcdef1234567"},
	}
	out, edits, err := SetImages("environments/dev.yaml", in, changes)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "commented.set-image.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := read(t, "commented.set-image.golden.yaml"); string(out) != string(want) {
		t.Errorf("output differs from %s (run with -update to accept)", golden)
	}
	if len(edits) != 3 || edits[0].Old != "9f2c4e1a7b3d" || edits[1].New != "5f4e3d2c1b0a" {
		t.Errorf("edits = %+v", edits)
	}
	// Exactly the three tag lines differ.
	a, b := strings.Split(string(in), "\n"), strings.Split(string(out), "\n")
	if len(a) != len(b) {
		t.Fatalf("line count changed: %d -> %d", len(a), len(b))
	}
	var changed []string
	for i := range a {
		if a[i] != b[i] {
			changed = append(changed, b[i])
		}
	}
	want := []string{
		"          tag: 0a1b2c3d4e5f # api commit",
		`          tag: "5f4e3d2c1b0a"   # web commit, quoted on purpose`,
		"          tag: abcdef1234567 # backup job commit",
	}
	if strings.Join(changed, "\n") != strings.Join(want, "\n") {
		t.Errorf("changed lines:\n%s\nwant:\n%s", strings.Join(changed, "\n"), strings.Join(want, "\n"))
	}
	again, edits, err := SetImages("environments/dev.yaml", out, changes)
	if err != nil || len(edits) != 0 || string(again) != string(out) {
		t.Errorf("second run: %d edits, err %v, changed bytes %v; want none", len(edits), err, string(again) != string(out))
	}
}

func TestSetImagesRejects(t *testing.T) {
	in := read(t, "commented.yaml")
	tests := []struct {
		change ImageTag
		want   string
	}{
		{ImageTag{Component: "payments", Tag: "abc1234"}, `unknown component "payments"`},
		{ImageTag{Component: "mongodb", Tag: "abc1234"}, "runs several images"},
		{ImageTag{Component: "api", Image: "libertum/apii", Tag: "abc1234"}, `no image "libertum/apii"`},
		// Mutable tags, which the policies would refuse after the fact.
		{ImageTag{Component: "api", Tag: "latest"}, `environments/dev.yaml:62: component api: tag "latest" of in-house image libertum/api can move`},
		{ImageTag{Component: "api", Tag: "v2"}, `tag "v2" of in-house image libertum/api can move`},
		{ImageTag{Component: "redis", Tag: "7.4.3"}, `tag "7.4.3" of third-party image redis can move; pin it by digest`},
		{ImageTag{Component: "redis", Tag: "9f2c4e1a7b3d"}, "third-party image redis can move"},
	}
	for _, tc := range tests {
		if _, _, err := SetImages("environments/dev.yaml", in, []ImageTag{tc.change}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.change, err, tc.want)
		}
	}
}

// TestSetImagesAcceptsImmutableTags: commit hashes and digests for
// in-house images, digests for third-party ones.
func TestSetImagesAcceptsImmutableTags(t *testing.T) {
	in := read(t, "commented.yaml")
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, ch := range []ImageTag{
		{Component: "api", Tag: "0a1b2c3d4e5f"},
		{Component: "api", Tag: digest},
		{Component: "redis", Tag: "7.4.3@" + digest},
	} {
		if _, _, err := SetImages("environments/dev.yaml", in, []ImageTag{ch}); err != nil {
			t.Errorf("%+v: %v", ch, err)
		}
	}
}

func TestParseImageTag(t *testing.T) {
	good := map[string]ImageTag{
		"api=0a1b2c3d4e5f":                        {Component: "api", Tag: "0a1b2c3d4e5f"},
		"mongodb/libertum/mongodb-backup=abc1234": {Component: "mongodb", Image: "libertum/mongodb-backup", Tag: "abc1234"},
		"redis=7.4.2@sha256:fbdbaea47b9ae4ecc2082ecdb4e1cea81e32176ffb1dcf643d422ad07427e5d9": {Component: "redis", Tag: "7.4.2@sha256:fbdbaea47b9ae4ecc2082ecdb4e1cea81e32176ffb1dcf643d422ad07427e5d9"},
	}
	for arg, want := range good {
		if got, err := ParseImageTag(arg); err != nil || got != want {
			t.Errorf("ParseImageTag(%q) = %+v, %v", arg, got, err)
		}
	}
	for _, bad := range []string{"api", "api=", "=abc", "api=has space", "api=sha256:short", "api=-leading"} {
		if _, err := ParseImageTag(bad); err == nil {
			t.Errorf("ParseImageTag(%q) accepted", bad)
		}
	}
}

func TestPromotions(t *testing.T) {
	envs, err := workspace.Open(platformtest.Small(t)).Environments([]string{"dev", "prod"})
	if err != nil {
		t.Fatal(err)
	}
	dev, prod := envs[0], envs[1]
	all, err := Promotions(dev, prod, nil)
	if err != nil {
		t.Fatal(err)
	}
	// prod runs no redis image (redis is on the VM): only api is promoted.
	if len(all) != 1 || all[0].Component != "api" {
		t.Errorf("promotions = %+v, want api's only", all)
	}
	if _, err := Promotions(dev, prod, []string{"payments"}); err == nil || !strings.Contains(err.Error(), `"payments"`) {
		t.Errorf("unknown component: err = %v", err)
	}
}
