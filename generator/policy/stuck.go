package policy

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// StoppedError is Evaluate's error when its context ended while it
// evaluated the policies on inputs[Input].
type StoppedError struct {
	Input int
	Err   error
}

func (e *StoppedError) Error() string { return e.Err.Error() }
func (e *StoppedError) Unwrap() error { return e.Err }

// Stuck names the policy files that do not finish on inputs[in] within
// budget: after a deadline, what it was spent on. Each package under
// data.libertum is evaluated alone on that input, all at once, each with
// budget; the files of those still running when it ends are returned,
// sorted. None means every package finished (the deadline was spent
// across many objects, not stuck on one).
func (e *Engine) Stuck(ctx context.Context, env Environment, inputs []Input, in int, budget time.Duration) ([]string, error) {
	values := make([]ast.Value, len(inputs))
	for i := range inputs {
		v, err := ast.InterfaceToValue(named(inputs[i].Object.Object))
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	data, err := astData(env, inputs, values)
	if err != nil {
		return nil, err
	}
	store := inmem.NewFromASTObject(data)
	libertum := ast.MustParseRef("data.libertum")
	var (
		mu    sync.Mutex
		stuck []string
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			pq, err := rego.New(rego.Compiler(e.compiler), rego.Store(store), rego.StoreReadAST(true),
				rego.Query(queryFor([]string{pkg}, []string{pkg}))).PrepareForEval(pctx)
			if err == nil {
				_, err = pq.Eval(pctx, rego.EvalParsedInput(values[in]))
			}
			if err != nil && errors.Is(pctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				mu.Lock()
				stuck = append(stuck, file)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Strings(stuck)
	return stuck, nil
}
