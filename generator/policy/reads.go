package policy

import (
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/storage"
)

// Result is what the policies concluded on one object and every path of
// the data (data.environment, data.rendered) they read to conclude it:
// the findings hold as long as the object and what is at those paths do
// not change, so a cache can keep them by content and reuse them without
// evaluating again (package check).
type Result struct {
	Findings []Finding
	// Reads are the data paths read, sorted, each once.
	Reads []Path
}

// Path is a path into the policies' data, e.g. ["rendered", "weu-1",
// "HorizontalPodAutoscaler", "api/api"]: the evaluator read the whole
// document there.
type Path []string

func (p Path) String() string { return strings.Join(p, "/") }

// readsKey carries a *reads in the context of one object's evaluation:
// OPA hands the evaluation's context to every storage read.
type readsKey struct{}

// reads collects the paths one evaluation read.
type reads struct {
	mu    sync.Mutex
	paths map[string]Path
}

func (r *reads) add(p storage.Path) {
	k := strings.Join(p, "\x00")
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.paths[k]; !ok {
		r.paths[k] = Path(slices.Clone(p))
	}
}

func (r *reads) sorted() []Path {
	out := make([]Path, 0, len(r.paths))
	for _, p := range r.paths {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Path) int { return slices.Compare(a, b) })
	return out
}
