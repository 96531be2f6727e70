package check

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/generator/capacity"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/internal/gittest"
)

// TestCapacityFromTheCache: a stamp's capacity worked out from what the
// cache keeps equals one worked out from every object. A pull request's
// check reads the unchanged units' summaries in the base's bundles (no
// fetch beyond one bundle per environment) and summarizes its changed
// unit; a check of content checked before reads the environment's
// capacities whole; a check without a cache reads the objects.
func TestCapacityFromTheCache(t *testing.T) {
	ctx := context.Background()
	root, base := committedSmall(t)
	shared := "file://" + t.TempDir()
	// fromObjects is every stamp's capacity from every object.
	fromObjects := func(res *render.Result) map[string][]capacity.Stamp {
		t.Helper()
		out := map[string][]capacity.Stamp{}
		for _, e := range res.Envs {
			for _, st := range e.Spec.Stamps {
				c, err := capacity.FromObjects(e, st, res.StampObjects(e.Name(), st.Name))
				if err != nil {
					t.Fatal(err)
				}
				out[e.Name()] = append(out[e.Name()], c)
			}
		}
		return out
	}
	capacities := func(c *Checker, res *render.Result) map[string][]capacity.Stamp {
		t.Helper()
		if _, err := c.Render(ctx, res); err != nil {
			t.Fatal(err)
		}
		out := map[string][]capacity.Stamp{}
		for _, e := range res.Envs {
			stamps, err := c.Capacity(e, res)
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = stamps
		}
		return out
	}

	ws, res := renderRoot(t, root)
	before := fromObjects(res)
	if got := capacities(New(ws, Options{Cache: sharedStore(t, shared, false)}), res); !cmp.Equal(before, got) {
		t.Fatalf("the protected branch's check: %s", cmp.Diff(before, got))
	}
	// The base side of a diff: the same content, checked before.
	again := sharedStore(t, shared, true)
	if got := capacities(New(ws, Options{Cache: again}), res); !cmp.Equal(before, got) {
		t.Errorf("content checked before: capacity differs from every object's (-want +got):\n%s", cmp.Diff(before, got))
	}
	if n := remoteHits(again); n != int64(2*len(res.Envs)) {
		t.Errorf("content checked before: %d fetches, want an environment's findings and its capacities (%d)", n, 2*len(res.Envs))
	}

	// The pull request: the api requests three times the CPU.
	gittest.Edit(t, root, "environments/dev.yaml", "requests: {cpu: 100m, memory: 128Mi}", "requests: {cpu: 300m, memory: 128Mi}")
	gittest.Edit(t, root, "environments/prod.yaml", "requests: {cpu: 250m, memory: 256Mi}", "requests: {cpu: 750m, memory: 256Mi}")
	ws, res = renderRoot(t, root)
	after := fromObjects(res)
	if cmp.Equal(before, after) {
		t.Fatal("the change does not change any stamp's capacity")
	}
	pr := sharedStore(t, shared, true)
	if got := capacities(New(ws, Options{Cache: pr, Base: base}), res); !cmp.Equal(after, got) {
		t.Errorf("pull request: capacity differs from every object's (-want +got):\n%s", cmp.Diff(after, got))
	}
	if n := remoteHits(pr); n != int64(len(res.Envs)) {
		t.Errorf("pull request: %d fetches, want one bundle per environment (%d)", n, len(res.Envs))
	}
	if got := capacities(New(ws, Options{}), res); !cmp.Equal(after, got) {
		t.Errorf("without a cache: capacity differs from every object's (-want +got):\n%s", cmp.Diff(after, got))
	}
}
