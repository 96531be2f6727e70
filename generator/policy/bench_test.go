package policy_test

import (
	"context"
	"path"
	"testing"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
)

// BenchmarkEvaluate is policy evaluation alone: every environment's objects
// through the compiled policies (compiled once, outside the loop, as verify
// does).
func BenchmarkEvaluate(b *testing.B) {
	ctx := context.Background()
	res, err := render.Run(ctx, render.Options{Root: "../.."})
	if err != nil {
		b.Fatal(err)
	}
	engine, err := policy.Load("../../" + policy.Dir)
	if err != nil {
		b.Fatal(err)
	}
	inputs := map[string][]policy.Input{}
	for _, u := range res.Units {
		for i, o := range u.Objects {
			inputs[u.Env] = append(inputs[u.Env], policy.Input{Stamp: u.Stamp, Component: u.Component, File: path.Join(layout.Dir, u.Files[i].Path), Object: o})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, env := range res.Envs {
			if _, err := engine.Evaluate(ctx, policy.EnvironmentOf(env), inputs[env.Name()], 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}
