package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/platformtest"
)

// TestEndlessPolicyHitsTheDeadline: a policy that would run for hours
// fails verify and policy check within the deadline, naming the policy
// files, with exit 2.
func TestEndlessPolicyHitsTheDeadline(t *testing.T) {
	root := platformtest.Small(t)
	endless := `package libertum.endless

import rego.v1

deny contains "never" if {
	input.kind == "Deployment"
	some i in numbers.range(1, 200000)
	some j in numbers.range(1, 200000)
	i == j + 300000
}
`
	if err := os.WriteFile(filepath.Join(root, "policies", "endless.rego"), []byte(endless), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"verify", "--root", root, "--no-cache", "--env", "dev", "--policy-timeout", "1s"},
		{"policy", "check", "--root", root, "--env", "dev", "--policy-timeout", "1s", filepath.Join(root, "rendered", "dev")},
	} {
		start := time.Now()
		code, _, stderr := gitops(t, args...)
		if code != exitError || !strings.Contains(stderr, "did not finish within 1s") || !strings.Contains(stderr, "endless.rego") {
			t.Errorf("%s: exit %d, want 2 naming the deadline and the policy files:\n%s", args[0], code, stderr)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("%s: took %s; the deadline did not stop the evaluation", args[0], took)
		}
	}
}
