package policy

import (
	"encoding/json"
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

// resultJSON is Result's cached form: Finding's stampWide flag is not
// part of a finding's JSON (reports never show it), so it travels beside.
type resultJSON struct {
	Findings  []Finding `json:"findings,omitempty"`
	StampWide []int     `json:"stampWide,omitempty"`
	Reads     []Path    `json:"reads,omitempty"`
}

// MarshalJSON keeps which findings are stamp-wide, for Dedupe.
func (r Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{Findings: r.Findings, Reads: r.Reads}
	for i, f := range r.Findings {
		if f.stampWide {
			j.StampWide = append(j.StampWide, i)
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	for _, i := range j.StampWide {
		if i >= 0 && i < len(j.Findings) {
			j.Findings[i].stampWide = true
		}
	}
	r.Findings, r.Reads = j.Findings, j.Reads
	return nil
}

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
