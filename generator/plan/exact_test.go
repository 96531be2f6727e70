package plan

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/exact"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// printKeyEnv makes TestExactRendersHaveTheirOwnKeys, run as a child,
// print the small platform's first unit key and stop.
const printKeyEnv = "GITOPS_PLAN_TEST_PRINT_KEY"

// TestExactRendersHaveTheirOwnKeys: the exact mode is read once per
// process, so the test runs itself twice more, with and without
// GITOPS_EXACT=1: the same unit's key differs between the modes (nothing a
// fast render stored serves an exact one) and not within one.
func TestExactRendersHaveTheirOwnKeys(t *testing.T) {
	if os.Getenv(printKeyEnv) == "1" {
		p, err := New(workspace.Open(platformtest.SmallDir()), Options{Keys: true})
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("key=" + p.Units[0].Key.String() + "\n")
		return
	}
	key := func(exactMode string) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestExactRendersHaveTheirOwnKeys$", "-test.count=1")
		cmd.Env = append(os.Environ(), printKeyEnv+"=1", exact.Env+"="+exactMode)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child with %s=%q: %v\n%s", exact.Env, exactMode, err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if k, ok := strings.CutPrefix(l, "key="); ok {
				return k
			}
		}
		t.Fatalf("child printed no key:\n%s", out)
		return ""
	}
	fast, fastAgain, exactKey := key(""), key(""), key("1")
	if fast != fastAgain {
		t.Errorf("one unit, one mode, two keys: %s and %s", fast, fastAgain)
	}
	if fast == exactKey {
		t.Errorf("the fast and the exact render of a unit share the key %s", fast)
	}
}
