package main

import (
	"os"
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
