package policy_test

import (
	"context"
	"testing"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// BenchmarkEvaluate is policy evaluation alone: every environment's objects
// through the compiled policies (compiled once, outside the loop, as verify
// does).
func BenchmarkEvaluate(b *testing.B) {
	ctx := context.Background()
	pl, err := plan.New(workspace.Open(platformtest.Repo()), plan.Options{})
	if err != nil {
		b.Fatal(err)
	}
	res, err := render.Run(ctx, pl, render.Options{})
	if err != nil {
		b.Fatal(err)
	}
	files, err := workspace.Open(platformtest.Repo()).Policies()
	if err != nil {
		b.Fatal(err)
	}
	engine, err := policy.LoadFiles(workspace.PoliciesDir, files)
	if err != nil {
		b.Fatal(err)
	}
	inputs := map[string][]policy.Input{}
	for _, u := range res.Units {
		for i, o := range u.Objects {
			inputs[u.Env] = append(inputs[u.Env], policy.Input{Unit: u.Unit, File: layout.RepoPath(u.Files[i].Path), Object: o})
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
