package policy

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestRego runs the Rego unit tests under policies/ (what `gitops policy
// test` and `opa test policies/` run).
func TestRego(t *testing.T) {
	files := readDir(t, filepath.Join(platformtest.Repo(), "policies"))
	results, err := Test(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("no Rego tests found")
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s %s.%s failed %s", r.Location, r.Package, r.Name, r.Error)
		}
	}
	t.Logf("%d Rego tests", len(results))
}
