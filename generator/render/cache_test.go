package render

import (
	"testing"

	"github.com/libertum/platform-gitops/generator/intent"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/source"
	"github.com/libertum/platform-gitops/generator/spec"
)

// TestUnitKeyCoversWhatTheRenderReads changes one field of tokenization at
// a time and renders kafka (which tokenization talks to): whenever kafka's
// output changes, so must its cache key, or a warm cache would serve a stale
// render. A change that cannot reach kafka must leave its key alone.
func TestUnitKeyCoversWhatTheRenderReads(t *testing.T) {
	r, err := source.Read(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	repo := newSources(r)
	render := func(t *testing.T, e *spec.Environment) (string, []layout.File) {
		t.Helper()
		target := intent.Target{Env: e, Stamp: e.Spec.Stamps[0], Name: "kafka", Component: e.Spec.Components["kafka"]}
		env, err := envKey(e)
		if err != nil {
			t.Fatal(err)
		}
		key, err := unitKey(repo, target, env)
		if err != nil {
			t.Fatal(err)
		}
		u := &Unit{Env: e.Name(), Stamp: target.Stamp.Name, Component: "kafka"}
		if err := renderUnit(repo, target, u); err != nil {
			t.Fatal(err)
		}
		return key.String(), u.Files
	}
	load := func(t *testing.T) *spec.Environment {
		t.Helper()
		e, err := spec.Load(repoRoot, "staging")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	baseKey, baseFiles := render(t, load(t))

	tests := []struct {
		name       string
		change     func(c *spec.Component)
		reachKafka bool
	}{
		{"image tag", func(c *spec.Component) { c.Images[0].Tag = "0123456789ab" }, false},
		{"resources", func(c *spec.Component) { c.Resources.Requests.CPU = "300m" }, false},
		{"scaling", func(c *spec.Component) { c.Scaling.PodThroughputRPS = 7 }, false},
		{"secrets", func(c *spec.Component) { c.Secrets = append(c.Secrets, "extra") }, false},
		{"sync wave", func(c *spec.Component) { c.SyncWave = 9 }, false},
		{"talks to kafka no more", func(c *spec.Component) { c.TalksTo = []string{"mongodb"} }, true},
		{"namespace", func(c *spec.Component) { c.Namespace = "elsewhere" }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := load(t)
			c := e.Spec.Components["tokenization"]
			tc.change(&c)
			e.Spec.Components["tokenization"] = c
			key, files := render(t, e)
			changed := !layout.Equal(files, baseFiles)
			if changed != tc.reachKafka {
				t.Errorf("kafka's render changed = %v, want %v (the test's premise)", changed, tc.reachKafka)
			}
			if changed && key == baseKey {
				t.Error("kafka's render changed but its cache key did not: a warm cache would serve the old render")
			}
			if !changed && key != baseKey {
				t.Error("kafka's cache key changed though its render did not: the change re-renders more than it affects")
			}
		})
	}
}
