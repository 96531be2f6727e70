package git_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/internal/gittest"
)

// TestBlobs: the files under a folder at a commit, each with the id git
// gives it, which BlobID computes from the content alone.
func TestBlobs(t *testing.T) {
	dir := t.TempDir()
	gittest.Git(t, dir, "init", "--quiet", "--initial-branch=main")
	gittest.Configure(t, dir)
	files := map[string]string{
		"rendered/dev/api/deployment.yaml": "kind: Deployment\n",
		"rendered/dev/odd\tname .yaml":     "kind: ConfigMap\n",
		"rendered/prod/empty.yaml":         "",
		"base/api/deployment.yaml":         "kind: Deployment\n",
	}
	for p, data := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	commit := gittest.Commit(t, dir, "files")
	repo := git.Repo{Dir: dir}
	got, err := repo.Blobs(context.Background(), commit, "rendered")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("Blobs listed %v, want the 3 files under rendered/", got)
	}
	for p, data := range files {
		if filepath.Dir(p) == "base/api" {
			continue
		}
		want := gittest.Git(t, dir, "hash-object", "--", p)
		if got[p] != want {
			t.Errorf("%q: listed %q, git hash-object says %q", p, got[p], want)
		}
		if id := git.BlobID([]byte(data)); id != want {
			t.Errorf("%q: BlobID %q, git hash-object says %q", p, id, want)
		}
	}
	none, err := repo.Blobs(context.Background(), commit, "missing")
	if err != nil || len(none) != 0 {
		t.Errorf("a folder the commit lacks: %v, %v; want none", none, err)
	}
}
