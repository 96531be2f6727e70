package layout

import (
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[f.Path] = string(f.Data)
	}
	return out
}

// wantTree fails t unless dir holds exactly want (path to contents).
func wantTree(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := tree(t, dir)
	if len(got) != len(want) {
		t.Errorf("tree = %v, want %v", got, want)
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s = %q, want %q", p, got[p], w)
		}
	}
}

func TestReplace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rendered")
	write(t, dir, map[string]string{
		"dev/s/api/old.yaml":  "old",
		"dev/s/api/keep.yaml": "v1",
		"prod/s/api/a.yaml":   "prod",
		"README.md":           "top",
	})
	err := Replace(dir, []string{"dev"}, []File{
		{Path: "dev/s/api/keep.yaml", Data: []byte("v2")},
		{Path: "dev/s/web/new.yaml", Data: []byte("new")},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantTree(t, dir, map[string]string{
		"dev/s/api/keep.yaml": "v2",
		"dev/s/web/new.yaml":  "new",
		"prod/s/api/a.yaml":   "prod",
		"README.md":           "top",
	})
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".rendered.new-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary trees left: %v", leftovers)
	}
}

func TestReplaceCreatesAndRefusesBadPaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rendered")
	if err := Replace(dir, []string{"dev"}, []File{{Path: "dev/s/c/x.yaml", Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	for _, bad := range []File{
		{Path: "../escape.yaml"},
		{Path: "/abs.yaml"},
		{Path: "dev/../prod/x.yaml"},
		{Path: "prod/s/c/x.yaml"}, // not an environment being rendered
	} {
		if err := Replace(dir, []string{"dev"}, []File{bad}); err == nil {
			t.Errorf("Replace accepted %q", bad.Path)
		}
	}
	after := tree(t, dir)
	if len(after) != len(before) || after["dev/s/c/x.yaml"] != "x" {
		t.Errorf("a refused Replace changed the tree: %v", after)
	}
}

func TestReadFiltersEnvironments(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"dev/a.yaml": "a", "prod/b.yaml": "b"})
	files, err := Read(dir, []string{"prod"})
	if err != nil || len(files) != 1 || files[0].Path != "prod/b.yaml" {
		t.Errorf("Read(prod) = %v, %v", files, err)
	}
	missing, err := Read(filepath.Join(dir, "nope"), nil)
	if err != nil || len(missing) != 0 {
		t.Errorf("Read(missing) = %v, %v; want empty", missing, err)
	}
}

// TestUnitPaths: the rendered path grammar, both ways.
func TestUnitPaths(t *testing.T) {
	for _, u := range []Unit{{Env: "prod", Stamp: "weu-1", Component: "api"}, {Env: "prod", Component: "bootstrap"}} {
		p := u.File("Deployment_api.yaml")
		got, file, ok := Parse(p)
		if !ok || got != u || file != "Deployment_api.yaml" {
			t.Errorf("Parse(%q) = %+v, %q, %v; want %+v", p, got, file, ok, u)
		}
		if rel, ok := FromRepoPath(RepoPath(p)); !ok || rel != p || Env(p) != u.Env {
			t.Errorf("%s: RepoPath round trip %q, %v; Env %q", p, rel, ok, Env(p))
		}
	}
	for _, bad := range []string{"prod", "prod/x", "a/b/c/d/e", "prod/../x/y", "/prod/s/c"} {
		if _, _, ok := Parse(bad); ok {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// TestReplaceLinksUnchangedFiles: a file the new tree holds with the same
// bytes is the old tree's file (same inode), as is a kept environment's;
// a changed file is a new file; the tree holds exactly the new contents.
func TestReplaceLinksUnchangedFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rendered")
	write(t, dir, map[string]string{
		"dev/s/api/same.yaml":  "same",
		"dev/s/api/moved.yaml": "v1",
		"prod/s/api/a.yaml":    "prod",
	})
	stat := func(rel string) os.FileInfo {
		t.Helper()
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	before := map[string]os.FileInfo{}
	for _, p := range []string{"dev/s/api/same.yaml", "dev/s/api/moved.yaml", "prod/s/api/a.yaml"} {
		before[p] = stat(p)
	}
	if err := os.Chmod(filepath.Join(dir, "dev/s/api/same.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Replace(dir, []string{"dev"}, []File{
		{Path: "dev/s/api/same.yaml", Data: []byte("same")},
		{Path: "dev/s/api/moved.yaml", Data: []byte("v2")},
		{Path: "dev/s/web/new.yaml", Data: []byte("v1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, linked := range map[string]bool{"dev/s/api/same.yaml": true, "prod/s/api/a.yaml": true, "dev/s/api/moved.yaml": false} {
		if got := os.SameFile(before[p], stat(p)); got != linked {
			t.Errorf("%s: same file as before = %v, want %v", p, got, linked)
		}
	}
	wantTree(t, dir, map[string]string{"dev/s/api/same.yaml": "same", "dev/s/api/moved.yaml": "v2", "dev/s/web/new.yaml": "v1", "prod/s/api/a.yaml": "prod"})
	if st := stat("dev/s/api/same.yaml"); st.Mode().Perm() != 0o644 {
		t.Errorf("linked file mode %v", st.Mode())
	}
}

// TestReplaceRewritesAFileOfAnotherMode: a file with the right bytes but
// not the mode a render writes is written anew, not kept.
func TestReplaceRewritesAFileOfAnotherMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rendered")
	write(t, dir, map[string]string{"dev/s/api/x.yaml": "x"})
	p := filepath.Join(dir, "dev/s/api/x.yaml")
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Replace(dir, []string{"dev"}, []File{{Path: "dev/s/api/x.yaml", Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o044 == 0 {
		t.Errorf("mode %v: the 0600 file was kept", st.Mode())
	}
}
