package action

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/connectivity"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestIncrementalEqualsFull: for each kind of single-file change a pull
// request makes to the small platform — a base, an overlay, an environment
// field, a policy, a chart value — verify --changed-since and diff (which
// renders only what the change reaches) over a cache the base commit's
// verify filled — its local cache, and the shared store as the protected
// branch's job fills it (each environment's verdicts bundled) — report exactly the findings, drift, objects, connectivity and diff of
// runs without a cache or a scope (diff --full). Each case moves a finding
// or a connection, most of them of objects the change does not touch (a
// namespace's Pod Security level judged from its pods, a rule on one
// unit's Deployment reading another unit's ConfigMap), so a cached verdict
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
		// A flow the spec no longer declares: the connection closes.
		{name: "environment flow", change: func(t *testing.T, work string) {
			gittest.Edit(t, work, "environments/dev.yaml", "      talksTo: [redis]\n", "")
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
		// One autoscaler's maximum: the stamp's capacity, judged on the
		// namespaces unit's Namespace from the workloads' summaries, falls
		// short (the quota the render sizes grows with it; a change that
		// reaches the Namespace through a summary alone is
		// TestSummariesCarryAcrossUnits, generator/check).
		{name: "summary", fixture: func(t *testing.T, work string) {
			gittest.Edit(t, work, "environments/dev.yaml", "maxNodes: 4}", "maxNodes: 2}")
		}, change: func(t *testing.T, work string) {
			gittest.Edit(t, work, "environments/dev.yaml", "scaling: {podThroughputRPS: 33}", "scaling: {podThroughputRPS: 1}")
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
			cacheDir, shared := t.TempDir(), "file://"+t.TempDir()
			ctx := context.Background()
			// The base's verify fills its local cache and the shared
			// store (with each environment's bundle).
			before, err := (&Verify{Config: &Config{Root: work, CacheDir: cacheDir, CacheURL: shared}, Today: today}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(t, work)
			gittest.Commit(t, work, "Change: "+tc.name)

			full, err := (&Verify{Config: &Config{Root: work, NoCache: true}, Today: today}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			moved := !cmp.Equal(before.Findings, full.Findings, cmpopts.IgnoreUnexported(policy.Finding{}))
			// Two pull-request jobs: one on the base's local cache, one
			// with an empty local cache reading the shared store.
			configs := map[string]func() *Config{
				"local cache": func() *Config { return &Config{Root: work, CacheDir: cacheDir} },
				"shared store": func() *Config {
					return &Config{Root: work, CacheDir: t.TempDir(), CacheURL: shared, CacheReadOnly: true}
				},
			}
			for name, cfg := range configs {
				inc, err := (&Verify{Config: cfg(), Today: today, ChangedSince: a}).Run(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(full, inc, cmpopts.IgnoreUnexported(policy.Finding{}), cmpopts.IgnoreFields(Report{}, "Units", "Checked")); diff != "" {
					t.Errorf("%s: incremental verify differs from a full one (-full +incremental):\n%s", name, diff)
				}
				if tc.name != "policy" && inc.Checked.Reused == 0 {
					t.Errorf("%s: the incremental verify judged every object again (%+v): nothing was incremental", name, inc.Checked)
				}
			}

			fullDiff, err := (&Diff{Config: &Config{Root: work, NoCache: true}, Base: a, Today: today, Full: true}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !moved && len(fullDiff.Connectivity) == 0 {
				t.Error("the change moved no finding and no connection; the case lost its point")
			}
			for name, cfg := range configs {
				incDiff, err := (&Diff{Config: cfg(), Base: a, Today: today}).Run(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(fullDiff, incDiff, cmpopts.IgnoreUnexported(policy.Finding{}, connectivity.Conn{})); diff != "" {
					t.Errorf("%s: incremental diff differs from a full one (-full +incremental):\n%s", name, diff)
				}
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

// pullRequest is a pull request on a copy of the repo's platform: the base
// commit verified into a shared store (file://, as the protected branch's
// job fills it), then one base's probe path changed and committed with its
// re-render. It returns the work tree, the base commit and the store's URL.
func pullRequest(b *testing.B) (work, base, shared string) {
	b.Helper()
	work, _ = gittest.PlatformFrom(b, platformtest.CopyRepo)
	base, shared = protectedJob(b, work)
	ctx := context.Background()
	gittest.Edit(b, work, "base/api/deployment.yaml", "path: /readyz", "path: /ready")
	if _, err := (&Render{Config: &Config{Root: work, NoCache: true}}).Run(ctx); err != nil {
		b.Fatal(err)
	}
	gittest.Commit(b, work, "api: probe path")
	return work, base, shared
}

// protectedJob is the protected branch's job on work's HEAD: a verify
// with a local cache of its own that fills a fresh shared store (file://,
// each environment's verdicts bundled). It returns the commit and the
// store's URL.
func protectedJob(tb testing.TB, work string) (base, shared string) {
	tb.Helper()
	base = gittest.Git(tb, work, "rev-parse", "HEAD")
	shared = "file://" + tb.TempDir()
	if _, err := (&Verify{Config: &Config{Root: work, CacheDir: tb.TempDir(), CacheURL: shared}, Today: today}).Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return base, shared
}

// prJob is a pull request's job's configuration: an empty local cache (made
// outside the timer) and the shared store, read only.
func prJob(b *testing.B, work, shared string) *Config {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	return &Config{Root: work, CacheDir: b.TempDir(), CacheURL: shared, CacheReadOnly: true}
}

// BenchmarkVerifyPullRequest is a pull request's verify --changed-since on
// the repo's platform: one base's change, the base's entries shared.
func BenchmarkVerifyPullRequest(b *testing.B) {
	work, base, shared := pullRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		rep, err := (&Verify{Config: prJob(b, work, shared), Today: today, ChangedSince: base}).Run(context.Background())
		if err != nil || rep.Failed() {
			b.Fatal(err, rep.Findings, rep.Drift)
		}
	}
}

// BenchmarkDiffPullRequest is the same pull request's diff --base.
func BenchmarkDiffPullRequest(b *testing.B) {
	work, base, shared := pullRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (&Diff{Config: prJob(b, work, shared), Base: base, Today: today}).Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUnchangedObjectsKeepTheirVerdict: an edit of the environment file
// that changes no render and nothing the policies read (a comment at its
// end) misses the environment's findings entry, but every object keeps
// its cached verdict: the policies judge none again, and the report is
// the same.
func TestUnchangedObjectsKeepTheirVerdict(t *testing.T) {
	root := platformtest.Small(t)
	cfg := func() *Config { return &Config{Root: root, CacheDir: filepath.Join(root, ".cache")} }
	before, err := (&Verify{Config: cfg(), Today: today}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(root, "environments", "dev.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("# reviewed 2026-12-07\n")
	if cerr := f.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	after, err := (&Verify{Config: cfg(), Today: today}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.Checked.Evaluated != 0 || after.Checked.Reused != len(after.Objects) {
		t.Errorf("judged %d objects again, kept %d of %d; want none judged", after.Checked.Evaluated, after.Checked.Reused, len(after.Objects))
	}
	if diff := cmp.Diff(before, after, cmpopts.IgnoreUnexported(policy.Finding{}), cmpopts.IgnoreFields(Report{}, "Units", "Checked")); diff != "" {
		t.Errorf("report differs (-before +after):\n%s", diff)
	}
}

// TestPullRequestJobsReadTheBaseWhole: a pull request's jobs, each with an
// empty local cache, fetch from the shared store nothing per unaffected
// unit. verify --changed-since reads the base's verdicts as one bundle per
// environment (the changed units render). diff --base reads the same
// bundles (its head side), each environment's findings, connections and
// stamp capacities whole (its base side, whose content the protected
// branch's job checked), and the base's renders of the changed units.
func TestPullRequestJobsReadTheBaseWhole(t *testing.T) {
	work, _ := gittest.Platform(t)
	base, shared := protectedJob(t, work)
	ctx := context.Background()
	gittest.Edit(t, work, "base/api/deployment.yaml", "runAsNonRoot: true", "runAsNonRoot: false")
	gittest.Commit(t, work, "api may run as root")
	job := func() *Config {
		return &Config{Root: work, CacheDir: t.TempDir(), CacheURL: shared, CacheReadOnly: true}
	}

	cfg := job()
	rep, err := (&Verify{Config: cfg, Today: today, ChangedSince: base}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Units.Reused == 0 || rep.Checked.Reused == 0 {
		t.Fatalf("units %+v, objects %+v: nothing was left unaffected, the case lost its point", rep.Units, rep.Checked)
	}
	st, _ := cfg.Cache().Remote()
	if envs := int64(len(rep.Envs)); st.Hits != envs {
		t.Errorf("verify fetched %d shared entries, want the %d environments' bundles alone (one entry per unaffected unit is 8 here)", st.Hits, envs)
	}

	cfg = job()
	r, err := (&Diff{Config: cfg, Base: base, Today: today}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for _, u := range r.Units {
		if u.Component == "api" {
			changed++
		}
	}
	if changed == 0 || len(r.Introduced) == 0 || len(r.Capacity) == 0 {
		t.Fatalf("%d api units changed, %d findings introduced, %d stamps' capacity: the case lost its point", changed, len(r.Introduced), len(r.Capacity))
	}
	st, _ = cfg.Cache().Remote()
	if want := int64(4*len(r.Envs) + changed); st.Hits != want {
		t.Errorf("diff fetched %d shared entries, want %d: per environment a bundle, its findings, connections and capacities, and the base's render of each of the %d changed units", st.Hits, want, changed)
	}
}
