package render

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestUnitKeyCoversWhatTheRenderReads changes one field of api at a time
// and renders redis (which api talks to): whenever redis's output changes,
// so must its cache key, or a warm cache would serve a stale render. A
// change that cannot reach redis must leave its key alone.
func TestUnitKeyCoversWhatTheRenderReads(t *testing.T) {
	root := platformtest.Small(t)
	render := func(t *testing.T, change func(c *spec.Component)) (string, []layout.File) {
		t.Helper()
		ws := workspace.Open(root)
		e, err := ws.Environment("dev")
		if err != nil {
			t.Fatal(err)
		}
		c := e.Spec.Components["api"]
		change(&c)
		e.Spec.Components["api"] = c
		p, err := plan.New(ws, plan.Options{Envs: []string{"dev"}, Keys: true})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(p.Units, func(u *plan.Unit) bool { return u.Component == "redis" })
		u := &Unit{Unit: p.Units[i].Unit}
		if err := renderUnit(newSources(p), p.Units[i], u); err != nil {
			t.Fatal(err)
		}
		return p.Units[i].Key.String(), u.Files
	}
	baseKey, baseFiles := render(t, func(*spec.Component) {})

	tests := []struct {
		name       string
		change     func(c *spec.Component)
		reachRedis bool
	}{
		{"image tag", func(c *spec.Component) { c.Images[0].Tag = "0123456789ab" }, false},
		{"resources", func(c *spec.Component) { c.Resources.Requests.CPU = "300m" }, false},
		{"scaling", func(c *spec.Component) { c.Scaling.PodThroughputRPS = 7 }, false},
		{"secrets", func(c *spec.Component) { c.Secrets = append(c.Secrets, "extra") }, false},
		{"sync wave", func(c *spec.Component) { c.SyncWave = 9 }, false},
		{"talks to redis no more", func(c *spec.Component) { c.TalksTo = nil }, true},
		{"namespace", func(c *spec.Component) { c.Namespace = "elsewhere" }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, files := render(t, tc.change)
			changed := !cmp.Equal(files, baseFiles, cmpopts.EquateEmpty())
			if changed != tc.reachRedis {
				t.Errorf("redis's render changed = %v, want %v (the test's premise)", changed, tc.reachRedis)
			}
			if changed && key == baseKey {
				t.Error("redis's render changed but its cache key did not: a warm cache would serve the old render")
			}
			if !changed && key != baseKey {
				t.Error("redis's cache key changed though its render did not: the change re-renders more than it affects")
			}
		})
	}
}
