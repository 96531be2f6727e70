package verify

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/schema"
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

// BenchmarkChecks is the schema and policy share of verify, on a render
// done once: compare with BenchmarkRenderAll.
func BenchmarkChecks(b *testing.B) {
	ctx := context.Background()
	res, err := render.Run(ctx, render.Options{Root: repoRoot})
	if err != nil {
		b.Fatal(err)
	}
	engine, err := policy.Load(filepath.Join(repoRoot, policy.Dir))
	if err != nil {
		b.Fatal(err)
	}
	validator, err := schema.Load(filepath.Join(repoRoot, schema.Dir))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Check(ctx, engine, validator, res, 0); err != nil {
			b.Fatal(err)
		}
	}
}
