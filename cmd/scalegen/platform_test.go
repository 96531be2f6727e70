package main

import (
	"context"
	"testing"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestGeneratedPlatformVerifies: the synthetic platform is a valid one, so
// scale figures measure real work, not error paths.
func TestGeneratedPlatformVerifies(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir, platformtest.Repo(), 5); err != nil {
		t.Fatal(err)
	}
	if _, err := (&action.Render{Config: &action.Config{Root: dir, NoCache: true}}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err := (&action.Verify{Config: &action.Config{Root: dir, NoCache: true}}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Log(f)
	}
	if rep.Failed() {
		t.Fatalf("synthetic platform fails verify: %d violations, %d drifted", rep.Denied(), len(rep.Drift))
	}
}
