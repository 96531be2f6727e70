package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// loadDir parses and compiles every policy under dir, as the workspace
// hands them to LoadFiles.
func loadDir(t testing.TB, dir string) *Engine {
	t.Helper()
	e, err := LoadFiles(dir, readDir(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// readDir reads the .rego files under dir, keyed by path.
func readDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.rego"))
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(fmt.Errorf("load policies: %w", err))
		}
		files[p] = src
	}
	return files
}
