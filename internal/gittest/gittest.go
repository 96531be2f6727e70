// Package gittest builds real git repositories in temp dirs for tests: a
// bare "remote" and a clone holding a copy of the platform.
package gittest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// Git runs git in dir and fails the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := git.Repo{Dir: dir}.Run(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Platform creates a bare remote and a clone of it whose main branch holds
// the small test platform (platformtest), committed and pushed. It returns
// the clone's and the remote's paths.
func Platform(t testing.TB) (work, remote string) {
	return PlatformFrom(t, platformtest.CopySmall)
}

// PlatformFrom is Platform with the platform that fill copies into a folder.
func PlatformFrom(t testing.TB, fill func(testing.TB, string)) (work, remote string) {
	t.Helper()
	base := t.TempDir()
	remote = filepath.Join(base, "remote.git")
	work = filepath.Join(base, "work")
	Git(t, base, "init", "--quiet", "--bare", "--initial-branch=main", remote)
	Git(t, base, "clone", "--quiet", remote, work)
	Configure(t, work)
	fill(t, work)
	Commit(t, work, "Add the platform")
	Git(t, work, "push", "--quiet", "origin", "HEAD:main")
	return work, remote
}

// Configure gives a clone a committer identity of its own, so tests never
// depend on the machine's git configuration.
func Configure(t testing.TB, dir string) {
	t.Helper()
	Git(t, dir, "config", "user.name", "Test")
	Git(t, dir, "config", "user.email", "test@libertum.io")
	Git(t, dir, "config", "commit.gpgsign", "false")
}

// Commit stages everything in dir and commits it, returning the commit id.
func Commit(t testing.TB, dir, msg string) string {
	t.Helper()
	Git(t, dir, "add", "--all")
	Git(t, dir, "commit", "--quiet", "-m", msg)
	return Git(t, dir, "rev-parse", "HEAD")
}

// Edit replaces the first old with new in root/file, failing the test when
// the file does not contain old (so a test cannot silently edit nothing).
func Edit(t testing.TB, root, file, old, new string) {
	t.Helper()
	p := filepath.Join(root, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
