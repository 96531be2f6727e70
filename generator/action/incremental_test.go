package action

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/internal/gittest"
)

// TestIncrementalEqualsFull: for each kind of single-file change a pull
// request makes to the small platform — a base, an overlay, an environment
// field, a policy, a chart value — verify --changed-since and diff (which
// renders only what the change reaches) over a cache the base commit's
// verify filled (as the protected branch's job fills the shared store)
// report exactly the findings, drift, objects, connectivity and diff of
// runs without a cache or a scope (diff --full). The changes are chosen to move findings of objects the
// change does not touch (a NetworkPolicy another unit's workloads look
// up, a namespace's quota summed over its workloads), so a cached verdict
// kept past what it depends on fails here.
func TestIncrementalEqualsFull(t *testing.T) {
	cases := []struct {
		name string
		// fixture, when set, is committed before the base commit.
		fixture func(t *testing.T, work string)
		change  func(t *testing.T, work string)
	}{
		{name: "base", change: func(t *testing.T, work string) {
			// The Deployment's own finding, and its namespace's Pod
			// Security level (judged from the namespaces unit).
			gittest.Edit(t, work, "base/api/deployment.yaml", "runAsNonRoot: true", "runAsNonRoot: false")
		}},
		// A NetworkPolicy of redis's unit, which the policies look up
		// from the stamp's workloads.
		{name: "overlay", change: func(t *testing.T, work string) { dropDefaultDeny(t, work, "dev", "redis") }},
		{name: "environment field", change: func(t *testing.T, work string) {
			gittest.Edit(t, work, "environments/dev.yaml", "          upstream: docker.io/library/redis", "")
		}},
		{name: "policy", change: func(t *testing.T, work string) {
			appendPolicy(t, work, "labels.rego", `
deny contains lib.violation("labels.cross", "a Deployment in a stamp with a redis Service", "none") if {
	input.kind == "Deployment"
	some s in lib.objects_of(input, "Service")
	s.metadata.name == "redis"
}
`)
		}},
		// The chart's value reaches redis's ConfigMap; a rule on api's
		// Deployment reads the stamp's ConfigMaps, so api's verdict
		// moves while api's unit does not change.
		{name: "chart value", fixture: func(t *testing.T, work string) {
			appendPolicy(t, work, "labels.rego", `
deny contains lib.violation("labels.fixture-cross-unit", "a Deployment in a stamp whose redis takes 64gb", "none") if {
	input.kind == "Deployment"
	some cm in lib.objects_of(input, "ConfigMap")
	contains(object.get(cm, ["data", "redis.conf"], ""), "maxmemory 64gb")
}
`)
		}, change: func(t *testing.T, work string) {
			gittest.Edit(t, work, "base/redis/values.yaml", "maxmemory: 256mb", "maxmemory: 64gb")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work, _ := gittest.Platform(t)
			if tc.fixture != nil {
				tc.fixture(t, work)
				gittest.Commit(t, work, "Fixture")
			}
			a := gittest.Git(t, work, "rev-parse", "HEAD")
			cacheDir := t.TempDir()
			ctx := context.Background()
			before, err := (&Verify{Config: &Config{Root: work, CacheDir: cacheDir}, Today: today}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(t, work)
			gittest.Commit(t, work, "Change: "+tc.name)

			full, err := (&Verify{Config: &Config{Root: work, NoCache: true}, Today: today}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cmp.Equal(before.Findings, full.Findings, cmpopts.IgnoreUnexported(policy.Finding{})) {
				t.Fatal("the change moved no finding; the case lost its point")
			}
			inc, err := (&Verify{Config: &Config{Root: work, CacheDir: cacheDir}, Today: today, ChangedSince: a}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(full, inc, cmpopts.IgnoreUnexported(policy.Finding{}), cmpopts.IgnoreFields(Report{}, "Units", "Checked")); diff != "" {
				t.Errorf("incremental verify differs from a full one (-full +incremental):\n%s", diff)
			}
			if tc.name != "policy" && inc.Checked.Reused == 0 {
				t.Errorf("the incremental verify judged every object again (%+v): nothing was incremental", inc.Checked)
			}

			fullDiff, err := (&Diff{Config: &Config{Root: work, NoCache: true}, Base: a, Today: today, Full: true}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			incDiff, err := (&Diff{Config: &Config{Root: work, CacheDir: cacheDir}, Base: a, Today: today}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fullDiff, incDiff, cmpopts.IgnoreUnexported(policy.Finding{})); diff != "" {
				t.Errorf("incremental diff differs from a full one (-full +incremental):\n%s", diff)
			}
		})
	}
}

// appendPolicy adds rules to a policy file.
func appendPolicy(t *testing.T, work, file, rules string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(work, "policies", file), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(rules)
	if cerr := f.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
}
