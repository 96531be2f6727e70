// Package platformtest gives tests a platform to work on: a small one
// under testdata/small (two environments, a kustomize service and a chart,
// overlays, an external host, its committed rendered/ tree) with the repo's
// own policies and CRDs, so unit tests do not depend on what the real
// platform holds today; and the repo itself, for the golden test that owns
// the real platform.
package platformtest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
)

// Dirs are the folders a copy of a platform needs.
var Dirs = []string{"environments", "base", "overlays", "rendered", "policies", "crds"}

// sharedDirs come from the repo: what the tool checks with, not what it renders.
var sharedDirs = map[string]bool{"policies": true, "crds": true}

// Repo returns the repo's root.
func Repo() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("platformtest: no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SmallDir returns the small platform's folder (without policies and CRDs).
func SmallDir() string {
	return filepath.Join(Repo(), "internal", "platformtest", "testdata", "small")
}

// Small copies the small platform into a temp dir and returns it. It has
// the repo's policies but no exceptions.
func Small(t testing.TB) string {
	t.Helper()
	dst := t.TempDir()
	CopySmall(t, dst)
	return dst
}

// CopySmall copies the small platform, with the repo's policies and CRDs,
// into dst.
func CopySmall(t testing.TB, dst string) {
	t.Helper()
	for _, dir := range Dirs {
		src := filepath.Join(SmallDir(), dir)
		if sharedDirs[dir] {
			src = filepath.Join(Repo(), dir)
		}
		if _, err := os.Stat(src); os.IsNotExist(err) {
			continue
		}
		if err := os.CopyFS(filepath.Join(dst, dir), os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
	}
	// The repo's exceptions waive findings of the real platform's
	// components; the small platform has none of them.
	if err := os.Remove(filepath.Join(dst, "policies", "exceptions.yaml")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// CopyRepo copies the real platform's folders into dst.
func CopyRepo(t testing.TB, dst string) {
	t.Helper()
	for _, dir := range Dirs {
		if err := os.CopyFS(filepath.Join(dst, dir), os.DirFS(filepath.Join(Repo(), dir))); err != nil {
			t.Fatal(err)
		}
	}
}

// Object is one object of a committed render: its unit, its file (relative
// to the rendered tree) and the object.
type Object struct {
	layout.Unit
	File   string
	Object *manifest.Object
}

// Rendered reads the objects of one environment from the committed
// rendered tree under root.
func Rendered(t testing.TB, root, env string) []Object {
	t.Helper()
	files, err := layout.Read(filepath.Join(root, layout.Dir), []string{env})
	if err != nil {
		t.Fatal(err)
	}
	var out []Object
	for _, f := range files {
		u, _, ok := layout.Parse(f.Path)
		if !ok || filepath.Ext(f.Path) != ".yaml" {
			continue
		}
		objs, err := manifest.Decode(f.Path, f.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			out = append(out, Object{Unit: u, File: f.Path, Object: o})
		}
	}
	return out
}
