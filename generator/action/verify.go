package action

import (
	"context"
	"time"

	"github.com/libertum/platform-gitops/generator/review"
	"github.com/libertum/platform-gitops/generator/verify"
)

// Verify renders in memory, checks every object and compares the result
// with the committed rendered tree.
type Verify struct {
	*Config
	Envs []string
	// Today judges exception expiry (default now).
	Today time.Time
	// ChangedSince, when set, renders only the units the changes since
	// this git ref can affect and reads the rest from rendered/.
	ChangedSince string
}

// Run verifies; the report says whether anything failed.
func (v *Verify) Run(ctx context.Context) (*verify.Report, error) {
	scope, err := v.scope(ctx, v.ChangedSince, "verify")
	if err != nil {
		return nil, err
	}
	shard, err := v.shard()
	if err != nil {
		return nil, err
	}
	rep, err := verify.Run(ctx, v.Workspace(), verify.Options{
		Envs: v.Envs, Workers: v.Workers, Today: orNow(v.Today), Drift: true, Cache: v.Cache(), Scope: scope, Shard: shard, PolicyTimeout: v.PolicyTimeout,
	})
	if err != nil {
		return nil, err
	}
	if scope != nil {
		v.logf("gitops verify: rendered %d units, %d from the cache, %d unaffected read from rendered/\n", rep.Units.Rendered, rep.Units.Cached, rep.Units.Reused)
	}
	return rep, nil
}

// Diff compares the working tree's render with a base ref's: changed
// objects and the policy delta.
type Diff struct {
	*Config
	// Base is the git ref to compare with (required).
	Base  string
	Envs  []string
	Today time.Time
	// ChangedSince limits both renders to what the changes since this
	// ref can affect.
	ChangedSince string
}

// Run compares; the review's Introduced findings decide the exit code.
func (d *Diff) Run(ctx context.Context) (*review.Review, error) {
	scope, err := d.scope(ctx, d.ChangedSince, "diff")
	if err != nil {
		return nil, err
	}
	return review.Run(ctx, d.Workspace(), review.Options{
		Base: d.Base, Envs: d.Envs, Workers: d.Workers, Today: orNow(d.Today), Cache: d.Cache(), Scope: scope, PolicyTimeout: d.PolicyTimeout,
	})
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
