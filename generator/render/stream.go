package render

import (
	"context"

	"github.com/libertum/platform-gitops/generator/plan"
)

// Stream renders a plan environment by environment and hands each
// environment's Result to use, in the plan's order, rendering the next
// environment while use runs: at most two environments' objects are held
// at once, where Run holds every environment's until its caller is done
// with all of them. Each Result is what Run gives of that environment
// (nothing a unit or a derived unit reads crosses environments). The
// first failure, of a render or of use, ends the stream.
func Stream(ctx context.Context, p *plan.Plan, o Options, use func(*Result) error) error {
	ctx, cancel := context.WithCancel(ctx)
	type rendered struct {
		res *Result
		err error
	}
	next := make(chan rendered)
	defer func() {
		cancel()
		for range next { // the producer stops at its next send
		}
	}()
	go func() {
		defer close(next)
		for _, sub := range p.ByEnv() {
			res, err := Run(ctx, sub, o)
			select {
			case next <- rendered{res, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for r := range next {
		if r.err != nil {
			return r.err
		}
		if err := use(r.res); err != nil {
			return err
		}
	}
	return ctx.Err()
}
