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
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// StoppedError is Evaluate's error when its context ended while it
// evaluated the policies on the inputs at these indexes (in order).
type StoppedError struct {
	Inputs []int
	Err    error
}

func (e *StoppedError) Error() string { return e.Err.Error() }
func (e *StoppedError) Unwrap() error { return e.Err }

// Stuck names the policy files that do not finish within budget on one of
// the inputs at the indexes in (those in flight when a deadline struck),
// and that input: what the deadline was spent on. Each package under
// data.libertum is evaluated alone on each of them, all at once, each
// with budget; the files still running when it ends are returned, sorted,
// with the first input one of them is stuck on. None means every package
// finished (the deadline was spent across many objects, not stuck on one).
func (e *Engine) Stuck(ctx context.Context, env Environment, inputs []Input, in []int, budget time.Duration) ([]string, int, error) {
	values := make([]ast.Value, len(inputs))
	for i := range inputs {
		v, err := ast.InterfaceToValue(named(inputs[i].Object.Object))
		if err != nil {
			return nil, 0, err
		}
		values[i] = v
	}
	data, err := astData(env, inputs, values)
	if err != nil {
		return nil, 0, err
	}
	store := inmem.NewFromASTObject(data)
	libertum := ast.MustParseRef("data.libertum")
	var (
		mu    sync.Mutex
		stuck = map[string]bool{}
		first = -1
		wg    sync.WaitGroup
	)
	for file, m := range e.modules {
		path := m.Package.Path
		if len(path) != 3 || !path.HasPrefix(libertum) {
			continue
		}
		name, ok := path[2].Value.(ast.String)
		if !ok {
			continue
		}
		pkg := string(name)
		for _, i := range in {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pctx, cancel := context.WithTimeout(ctx, budget)
				defer cancel()
				pq, err := rego.New(rego.Compiler(e.compiler), rego.Store(store), rego.StoreReadAST(true),
					rego.Query(queryFor([]string{pkg}, []string{pkg}))).PrepareForEval(pctx)
				if err == nil {
					_, err = pq.Eval(pctx, rego.EvalParsedInput(values[i]))
				}
				if err != nil && errors.Is(pctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
					mu.Lock()
					stuck[file] = true
					if first < 0 || slices.Index(in, i) < slices.Index(in, first) {
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
	files := slices.Sorted(maps.Keys(stuck))
	return files, first, nil
}
