package check

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/cache"

	"github.com/libertum/platform-gitops/internal/gittest"
)

// TestBaseBundleServesUnchangedUnits: the protected branch's check of a
// commit bundles each environment's unit entries in the shared store; a
// pull request's check on top of that commit, with an empty local cache,
// fetches one bundle per environment instead of one entry per unit, and
// finds exactly what a check without cache finds, its changed unit judged
// again. Without a base, or with a base nobody bundled, it fetches entry
// by entry.
func TestBaseBundleServesUnchangedUnits(t *testing.T) {
	ctx := context.Background()
	root, base := committedSmall(t)
	shared := "file://" + t.TempDir()
	ws, res := renderRoot(t, root)
	if _, err := New(ws, Options{Cache: sharedStore(t, shared, false)}).Render(ctx, res); err != nil {
		t.Fatal(err)
	}

	// The pull request: the api may run as root.
	gittest.Edit(t, root, "base/api/deployment.yaml", "        runAsNonRoot: true\n        runAsUser: 10001\n", "")
	ws, res = renderRoot(t, root)
	want, err := New(ws, Options{}).Render(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	if !hasRule(want, "dev", "api", "podsecurity.non-root") {
		t.Fatalf("the change is not seen by a check without cache: %v", rulesOf(want))
	}

	pr := sharedStore(t, shared, true)
	c := New(ws, Options{Cache: pr, Base: base})
	got, err := c.Render(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, findingsEqual); diff != "" {
		t.Errorf("with the base's bundles, findings differ from a check without cache (-want +got):\n%s", diff)
	}
	if n := remoteHits(pr); n != int64(len(res.Envs)) {
		t.Errorf("%d entries fetched from the shared store, want one bundle per environment (%d)", n, len(res.Envs))
	}
	if counts := c.Counts(); counts.Reused == 0 || counts.Evaluated == 0 {
		t.Errorf("judged %+v: want the unchanged units' verdicts kept and the changed unit's objects judged", counts)
	}

	// A commit whose rendered tree differs (a file more) has no bundle.
	if err := os.WriteFile(filepath.Join(root, "rendered", "dev", "NOTES"), []byte("hand-written\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := gittest.Commit(t, root, "notes")
	for name, base := range map[string]string{"no base": "", "a base nobody bundled": other} {
		pr := sharedStore(t, shared, true)
		got, err := New(ws, Options{Cache: pr, Base: base}).Render(ctx, res)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, findingsEqual); diff != "" {
			t.Errorf("%s: findings differ from a check without cache (-want +got):\n%s", name, diff)
		}
		if n := remoteHits(pr); n <= int64(len(res.Envs)) {
			t.Errorf("%s: %d entries fetched from the shared store, want one per unchanged unit", name, n)
		}
	}
}

// TestBundleForm: a bundle finds each entry under its unit key, writes
// the same bytes for the same entries, and a damaged one is refused.
func TestBundleForm(t *testing.T) {
	entries := map[cache.Key][]byte{{2}: []byte("second"), {1}: []byte("first"), {3}: {}}
	b := encodeBundle(entries)
	if !bytes.Equal(b, encodeBundle(maps.Clone(entries))) {
		t.Error("the same entries give other bytes")
	}
	got, err := decodeBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entries, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("read back (-wrote +read):\n%s", diff)
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(slices.Clone(b), 0), append([]byte(bundleMagic), 200)} {
		if _, err := decodeBundle(bad); !errors.Is(err, errBundle) {
			t.Errorf("a damaged bundle (%d bytes) is not refused: %v", len(bad), err)
		}
	}
}

// FuzzBundle: a bundle of any bytes is refused or read, never a panic, and
// what it reads writes back the same.
func FuzzBundle(f *testing.F) {
	f.Add(encodeBundle(map[cache.Key][]byte{{1}: []byte("x"), {2}: nil}))
	f.Add(append([]byte(bundleMagic), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeBundle(b)
		if err != nil {
			return
		}
		back, err := decodeBundle(encodeBundle(got))
		if err != nil {
			t.Fatalf("a bundle written back does not read: %v", err)
		}
		if diff := cmp.Diff(got, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("a bundle written back reads differently:\n%s", diff)
		}
	})
}
