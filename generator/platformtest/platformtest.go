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
	return filepath.Join(Repo(), "generator", "platformtest", "testdata", "small")
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
