package policy

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
)

// StoppedError is Evaluate's error when its context ended while it
// evaluated the policies on the inputs at these indexes (in order). It
// keeps what the evaluation had built, for Stuck.
type StoppedError struct {
	Inputs []int
	Err    error

	engine  *Engine
	store   storage.Store
	objects *objectTree
}

func (e *StoppedError) Error() string { return e.Err.Error() }
func (e *StoppedError) Unwrap() error { return e.Err }

// Stuck names the policy files that do not finish within budget on one of
// the stopped inputs, and that input's index: what the deadline was spent
// on. Each package under data.libertum is evaluated alone on each stopped
// input, all at once, each with budget, over the data the evaluation had
// built; the files still running when it ends are returned, sorted, with
// the first input one of them is stuck on. None means every package
// finished (the deadline was spent across many objects, not stuck on one).
func (e *StoppedError) Stuck(ctx context.Context, budget time.Duration) ([]string, int, error) {
	var (
		mu    sync.Mutex
		stuck = map[string]bool{}
		first = -1
		wg    sync.WaitGroup
	)
	for file, m := range e.engine.modules {
		pkg, ok := packageName(m)
		if !ok {
			continue
		}
		for _, i := range e.Inputs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pctx, cancel := context.WithTimeout(ctx, budget)
				defer cancel()
				pq, err := rego.New(rego.Compiler(e.engine.compiler), rego.Store(e.store), rego.StoreReadAST(true),
					rego.Query(queryFor([]string{pkg}, []string{pkg}))).PrepareForEval(pctx)
				var input ast.Value
				if err == nil {
					input, err = e.objects.value(i)
				}
				if err == nil {
					_, err = pq.Eval(pctx, rego.EvalParsedInput(input))
				}
				if err != nil && errors.Is(pctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
					mu.Lock()
					stuck[file] = true
					if first < 0 || slices.Index(e.Inputs, i) < slices.Index(e.Inputs, first) {
						first = i
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return slices.Sorted(maps.Keys(stuck)), first, nil
}
