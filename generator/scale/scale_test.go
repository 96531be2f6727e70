package scale

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/verify"
)

// TestGeneratedPlatformVerifies: the synthetic platform is a valid one, so
// scale figures measure real work, not error paths.
func TestGeneratedPlatformVerifies(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir, "../..", 5); err != nil {
		t.Fatal(err)
	}
	res, err := render.Run(context.Background(), render.Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := layout.Replace(filepath.Join(dir, layout.Dir), res.EnvNames(), res.Files()); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(context.Background(), verify.Options{Root: dir, Drift: true, Today: time.Now()})
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
