package main

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/libertum/platform-gitops/generator/cache"
)

// TestMain keeps the commands' default cache out of the user's cache dir.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gitops-cache-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv(cache.EnvDir, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestCacheCommand: a render fills the cache the flags name, stats counts
// it, prune with a zero age empties it.
func TestCacheCommand(t *testing.T) {
	root := platformCopy(t)
	dir := t.TempDir()
	if code, _, stderr := gitops(t, "render", "--root", root, "--quiet", "--cache-dir", dir); code != exitOK {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}
	code, stdout, _ := gitops(t, "cache", "--cache-dir", dir, "stats")
	if code != exitOK || !strings.HasPrefix(stdout, dir+": 6 entries") {
		t.Errorf("stats: exit %d, %q; want the 6 component units", code, stdout)
	}
	if code, stdout, _ := gitops(t, "cache", "--cache-dir", dir, "prune", "--older-than", "0s"); code != exitOK || !strings.HasPrefix(stdout, "removed 6 files") {
		t.Errorf("prune: exit %d, %q", code, stdout)
	}
	if code, _, stderr := gitops(t, "cache", "--cache-dir", dir, "explode"); code != exitError || !strings.Contains(stderr, "usage: gitops cache") {
		t.Errorf("unknown subcommand: exit %d, want %d and the usage\n%s", code, exitError, stderr)
	}
	// A remote tier that cannot be opened is its error alone: the command
	// was right, the usage would bury the reason.
	missing := "file://" + t.TempDir() + "/missing"
	code, _, stderr := gitops(t, "cache", "--cache-dir", dir, "--cache-url", missing, "stats")
	if code != exitError || strings.Contains(stderr, "usage:") || !strings.Contains(stderr, "missing") {
		t.Errorf("stats with a missing remote: exit %d, want %d and only the error naming it\n%s", code, exitError, stderr)
	}
}

// TestRemoteCacheTier: --cache-url puts a second tier behind the local
// cache: a render writes back to it, stats reports both tiers, and a render
// with an empty local cache renders nothing; a remote that cannot be opened
// is a warning, not a failure.
func TestRemoteCacheTier(t *testing.T) {
	root := platformCopy(t)
	remote := "file://" + t.TempDir()
	if code, _, stderr := gitops(t, "render", "--root", root, "--quiet", "--cache-dir", t.TempDir(), "--cache-url", remote); code != exitOK {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}
	dir := t.TempDir()
	code, stdout, stderr := gitops(t, "render", "--root", root, "--cache-dir", dir, "--cache-url", remote)
	if code != exitOK || !strings.Contains(stdout, "(0 rendered, 6 from the cache)") {
		t.Errorf("render with an empty local cache: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = gitops(t, "cache", "--cache-dir", dir, "--cache-url", remote, "stats")
	if code != exitOK || !strings.Contains(stdout, dir+": 6 entries") || !strings.Contains(stdout, " (remote): 6 entries") {
		t.Errorf("stats: exit %d, %q; want both tiers", code, stdout)
	}
	code, _, stderr = gitops(t, "render", "--root", root, "--quiet", "--cache-dir", t.TempDir(), "--cache-url", "file:///nonexistent/gitops-cache")
	if code != exitOK || !strings.Contains(stderr, "warning:") || !strings.Contains(stderr, "without the remote cache") {
		t.Errorf("a remote that cannot be opened: exit %d, stderr %q; want a warning and a render", code, stderr)
	}
}

// TestConcurrentRunsShareACache: two verifies at once over one cold cache
// both succeed, and a third finds everything cached.
func TestConcurrentRunsShareACache(t *testing.T) {
	root := platformCopy(t)
	dir := t.TempDir()
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = gitops(t, "verify", "--root", root, "--cache-dir", dir, "--today", "2026-11-23")
		}()
	}
	wg.Wait()
	if codes[0] != exitOK || codes[1] != exitOK {
		t.Fatalf("concurrent verifies exited %v, want 0 and 0", codes)
	}
	if code, stdout, stderr := gitops(t, "verify", "--root", root, "--cache-dir", dir, "--today", "2026-11-23"); code != exitOK {
		t.Fatalf("verify after them: exit %d\n%s%s", code, stdout, stderr)
	}
}
