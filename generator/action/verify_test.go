package action

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// verifyOptions are what the verify tests vary: the environments, the
// date, whether drift is compared, and a cache store they inspect.
type verifyOptions struct {
	Envs  []string
	Today time.Time
	Drift bool
	Cache *cache.Store
}

// runVerify verifies root as gitops verify does (publish without drift),
// through o.Cache when set.
func runVerify(t testing.TB, root string, o verifyOptions) *Report {
	t.Helper()
	cfg := &Config{Root: root}
	cfg.storeOnce.Do(func() { cfg.store = o.Cache })
	rep, err := (&Verify{Config: cfg, Envs: o.Envs, Today: o.Today}).run(context.Background(), cfg.Workspace(), nil, nil, o.Drift)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRunSmallPlatform(t *testing.T) {
	root := platformtest.Small(t)
	rep := runVerify(t, root, verifyOptions{Today: today, Drift: true})
	if rep.Failed() {
		for _, f := range rep.Findings {
			t.Log(f)
		}
		t.Fatalf("the small platform fails verify: %d violations, %d drifted files", rep.Denied(), len(rep.Drift))
	}
	committed, err := workspace.Open(root).Committed()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rep.Objects), len(committed.Files(nil)); got != want {
		t.Errorf("checked %d objects, want one per committed file (%d)", got, want)
	}
	if rep.Units.Total != 6 || rep.Units.Rendered != 6 {
		t.Errorf("units = %+v, want 6 planned and rendered (api and redis in three stamps)", rep.Units)
	}

	// A hand edit of the committed tree is drift, named by its repo path.
	gittest.Edit(t, root, "rendered/dev/weu-1/api/Service_api.yaml", "\n", "\n# edited\n")
	gittest.Edit(t, root, "rendered/prod/weu-1/api/Deployment_api.yaml", "  revisionHistoryLimit: 5\n", "  revisionHistoryLimit: 7\n")
	rep = runVerify(t, root, verifyOptions{Today: today, Drift: true, Envs: []string{"prod"}})
	if len(rep.Drift) != 1 || rep.Drift[0].Path != "rendered/prod/weu-1/api/Deployment_api.yaml" {
		t.Errorf("drift = %+v, want prod's edited Deployment only (dev is not verified)", rep.Drift)
	}
}

// BenchmarkVerify is `gitops verify` over every environment: render,
// schema, policies and drift.
func BenchmarkVerify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		runVerify(b, platformtest.Repo(), verifyOptions{Today: today, Drift: true})
	}
}

// BenchmarkVerifyWarm is a repeat verify with nothing changed: every unit
// and every environment's findings come from the cache.
func BenchmarkVerifyWarm(b *testing.B) {
	store, err := cache.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	o := verifyOptions{Today: today, Drift: true, Cache: store}
	runVerify(b, platformtest.Repo(), o)
	b.ReportAllocs()
	for b.Loop() {
		runVerify(b, platformtest.Repo(), o)
	}
}

// TestCacheGivesTheSameReport verifies three times, without a cache, with a
// cold one and with a warm one, and then with every entry corrupted: the
// report never changes, and the corrupted entries are rewritten.
func TestCacheGivesTheSameReport(t *testing.T) {
	root := platformtest.Small(t)
	want := runVerify(t, root, verifyOptions{Today: today, Drift: true})
	dir := t.TempDir()
	store, err := cache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := verifyOptions{Today: today, Drift: true, Cache: store}
	check := func(name string) {
		t.Helper()
		got := runVerify(t, root, o)
		if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(policy.Finding{}), cmpopts.IgnoreFields(Report{}, "Units", "Checked")); diff != "" {
			t.Errorf("%s: report differs from an uncached run (-want +got):\n%s", name, diff)
		}
		if got.Units.Rendered+got.Units.Cached != want.Units.Rendered {
			t.Errorf("%s: %d units rendered and %d cached, want %d in all", name, got.Units.Rendered, got.Units.Cached, want.Units.Rendered)
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
	root := platformtest.Small(t)
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := verifyOptions{Today: today, Cache: store}
	if rep := runVerify(t, root, o); rep.Denied() != 0 {
		t.Fatalf("first run: %d denied", rep.Denied())
	}
	f, err := os.OpenFile(filepath.Join(root, workspace.PoliciesDir, "labels.rego"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\ndeny contains lib.violation(\"labels.new-rule\", \"a rule added after the cache was filled\", \"none\") if input.kind == \"Namespace\"\n")
	if cerr := f.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	rep := runVerify(t, root, o)
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

// TestOverlayAllowAllFailsVerify: an overlay that adds a NetworkPolicy
// admitting every source to a private component fails verify, blamed on
// the added policy's rendered file.
func TestOverlayAllowAllFailsVerify(t *testing.T) {
	root := platformtest.Small(t)
	dir := filepath.Join(root, "overlays", "dev", "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - allow-all.yaml\n",
		"allow-all.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: redis-allow-all
spec:
  podSelector:
    matchLabels: {app.kubernetes.io/name: redis}
  policyTypes: [Ingress]
  ingress:
    - {}
`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep := runVerify(t, root, verifyOptions{Today: today, Envs: []string{"dev"}})
	var found []string
	for _, f := range rep.Findings {
		if f.Rule == "network.connectivity" && f.Level == policy.Deny {
			found = append(found, f.File+": "+f.Message)
			if f.File != "rendered/dev/weu-1/redis/NetworkPolicy_redis-allow-all.yaml" {
				t.Errorf("finding blamed on %s, want the overlay's policy: %s", f.File, f.Message)
			}
		}
	}
	if !rep.Failed() || len(found) == 0 {
		t.Fatalf("verify passes an allow-all policy on private redis (failed %v, findings %v)", rep.Failed(), rep.Findings)
	}
	if !slices.ContainsFunc(found, func(s string) bool {
		return strings.Contains(s, "internet 203.0.113.10 can reach data/redis on 6379/TCP")
	}) {
		t.Errorf("the internet reaching redis is not reported: %v", found)
	}
}

// TestThirdPartyImageWithoutUpstreamFailsVerify: an image ACR cannot
// import by digest (no upstream source, or no digest) fails verify at its
// line of the environment file.
func TestThirdPartyImageWithoutUpstreamFailsVerify(t *testing.T) {
	root := platformtest.Small(t)
	gittest.Edit(t, root, "environments/dev.yaml", "          upstream: docker.io/library/redis", "")
	rep := runVerify(t, root, verifyOptions{Today: today, Envs: []string{"dev"}})
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "images.upstream" && f.Level == policy.Deny && strings.HasPrefix(f.Source, "environments/dev.yaml:") && strings.Contains(f.Message, "redis") {
			found = true
		}
	}
	if !found || !rep.Failed() {
		t.Errorf("verify passes a third-party image without upstream: %v", rep.Findings)
	}
}
