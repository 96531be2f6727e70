package policy

import (
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"

	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestPoliciesAreFormatted: every policy and test reads as opa fmt
// writes it.
func TestPoliciesAreFormatted(t *testing.T) {
	files := readDir(t, filepath.Join(platformtest.Repo(), "policies"))
	for name, src := range files {
		out, err := format.SourceWithOpts(name, src, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(out) != string(src) {
			t.Errorf("%s is not opa fmt-formatted", filepath.Base(name))
		}
	}
}
