package verify

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/gittest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
)

const repoRoot = "../.."

var today = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func TestRunCommittedPlatform(t *testing.T) {
	rep, err := Run(context.Background(), Options{Root: repoRoot, Today: today, Drift: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		for _, f := range rep.Findings {
			t.Log(f)
		}
		t.Fatalf("the committed platform fails verify: %d violations, %d drifted files", rep.Denied(), len(rep.Drift))
	}
	if len(rep.Objects) < 300 {
		t.Errorf("checked %d objects, expected the whole platform", len(rep.Objects))
	}
}

// BenchmarkVerify is `gitops verify` over every environment: render,
// schema, policies and drift.
func BenchmarkVerify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), Options{Root: repoRoot, Today: today, Drift: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWarm is a repeat verify with nothing changed: every unit
// and every environment's findings come from the cache.
func BenchmarkVerifyWarm(b *testing.B) {
	store, err := cache.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Root: repoRoot, Today: today, Drift: true, Cache: store}
	if _, err := Run(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChecks is the schema and policy share of verify, on a render
// done once: compare with BenchmarkRenderAll.
func BenchmarkChecks(b *testing.B) {
	ctx := context.Background()
	res, err := render.Run(ctx, render.Options{Root: repoRoot})
	if err != nil {
		b.Fatal(err)
	}
	c := &Checker{Root: repoRoot}
	if err := c.load(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Check(ctx, res); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCacheGivesTheSameReport verifies three times, without a cache, with a
// cold one and with a warm one, and then with every entry corrupted: the
// report never changes, and the corrupted entries are rewritten.
func TestCacheGivesTheSameReport(t *testing.T) {
	ctx := context.Background()
	want, err := Run(ctx, Options{Root: repoRoot, Today: today, Drift: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := cache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Root: repoRoot, Today: today, Drift: true, Cache: store}
	check := func(name string) {
		t.Helper()
		got, err := Run(ctx, o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(policy.Finding{}), cmpopts.IgnoreFields(Report{}, "Rendered", "Cached")); diff != "" {
			t.Errorf("%s: report differs from an uncached run (-want +got):\n%s", name, diff)
		}
		if got.Rendered+got.Cached != want.Rendered {
			t.Errorf("%s: %d units rendered and %d cached, want %d in all", name, got.Rendered, got.Cached, want.Rendered)
		}
	}
	check("cold cache")
	if hits, _ := store.Stats(); hits != 0 {
		t.Errorf("cold cache: %d hits, want 0", hits)
	}
	entries, _, err := store.Size()
	if err != nil || entries == 0 {
		t.Fatalf("cold run stored %d entries (%v)", entries, err)
	}

	store, _ = cache.Open(dir)
	o.Cache = store
	check("warm cache")
	if hits, misses := store.Stats(); misses != 0 || hits == 0 {
		t.Errorf("warm cache: %d hits, %d misses; want only hits", hits, misses)
	}

	// Flip one byte in the payload of every entry.
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b[len(b)-2] ^= 0xff
		return os.WriteFile(p, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	store, _ = cache.Open(dir)
	o.Cache = store
	check("corrupt cache")
	if hits, _ := store.Stats(); hits != 0 {
		t.Errorf("corrupt cache: %d hits, want 0 (a corrupt entry is never trusted)", hits)
	}
	store, _ = cache.Open(dir)
	o.Cache = store
	check("rewritten cache")
	if hits, misses := store.Stats(); misses != 0 {
		t.Errorf("after the corrupt run: %d hits, %d misses; every entry should have been rewritten", hits, misses)
	}
}

// TestCachedFindingsFollowThePolicies: a policy change after a warm run is
// judged by the new policy, not served from the cache.
func TestCachedFindingsFollowThePolicies(t *testing.T) {
	root := t.TempDir()
	gittest.CopyPlatform(t, repoRoot, root)
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Root: root, Today: today, Cache: store}
	if rep, err := Run(context.Background(), o); err != nil || rep.Denied() != 0 {
		t.Fatalf("first run: %v, %d denied", err, rep.Denied())
	}
	f, err := os.OpenFile(filepath.Join(root, policy.Dir, "labels.rego"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\ndeny contains lib.violation(\"labels.new-rule\", \"a rule added after the cache was filled\", \"none\") if input.kind == \"Namespace\"\n")
	if cerr := f.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range rep.Findings {
		if f.Rule == "labels.new-rule" {
			n++
		}
	}
	if n == 0 {
		t.Error("the new rule found nothing: findings came from the cache of the old policies")
	}
}
