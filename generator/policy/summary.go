package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// summaryRule names the rule a package defines to summarize one object
// for the rules that judge a whole stamp.
const summaryRule = "summary"

// Summary is what the policies keep of one object for the rules that look
// across its whole stamp: each package's `summary` rule, evaluated with the
// object as input (undefined for objects it does not summarize). The
// summaries of all objects are data.summaries[stamp][kind]["namespace/name"]
// = {package: summary} when the findings are evaluated, so a stamp-wide
// rule (the stamp's capacity) sums a few numbers per object instead of
// walking every workload of the stamp, and a cache keeps each object's
// summary by content with the paths it read, as it keeps findings: one
// changed workload re-summarizes that workload, not the stamp.
//
// A summary rule sees data.environment and data.rendered, never
// data.summaries (they are computed before it exists).
type Summary struct {
	// Value is the summary as JSON ({package: summary}, keys sorted), nil
	// when no package summarizes the object.
	Value json.RawMessage `json:"value,omitempty"`
	// Reads are the data paths the summary rules read, sorted.
	Reads []Path `json:"reads,omitempty"`
}

// Summaries evaluates the summary rules on the objects at the indexes
// (every object when only is nil), with every object as data, and returns
// each one's Summary at its index (the zero Summary elsewhere).
func (s *Session) Summaries(ctx context.Context, only []int) ([]Summary, error) {
	only = s.indexes(only)
	out := make([]Summary, len(s.inputs))
	if len(only) == 0 || len(s.engine.summaries) == 0 {
		return out, nil
	}
	if err := s.prepare(ctx, only); err != nil {
		return nil, err
	}
	store := s.store(nil)
	queries, err := s.engine.prepare(ctx, s.env.Name, store, s.inputs, only, func(kind string) string {
		if pkgs := s.engine.summaries.packagesFor(kind); len(pkgs) > 0 {
			return summaryQuery(pkgs)
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	err = each(ctx, len(only), s.workers, func(j int) error {
		i := only[j]
		in := s.inputs[i]
		pq := queries[in.Object.GetKind()]
		if pq == nil {
			return nil
		}
		input, err := s.objects.value(i)
		if err != nil {
			return err
		}
		rec := &reads{paths: map[string]Path{}}
		rs, err := pq.Eval(context.WithValue(ctx, readsKey{}, rec), rego.EvalParsedInput(input))
		if err != nil {
			return fmt.Errorf("summarize %s %s: %w", in.File, manifest.IDOf(in.Object), err)
		}
		out[i].Reads = rec.sorted()
		if len(rs) == 0 {
			return nil
		}
		v, _ := rs[0].Bindings["summary"].(map[string]any)
		if len(v) == 0 {
			return nil
		}
		if out[i].Value, err = json.Marshal(v); err != nil {
			return fmt.Errorf("summary of %s %s: %w", in.File, manifest.IDOf(in.Object), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// summaryQuery collects the given packages' summaries of the input.
func summaryQuery(pkgs []string) string {
	quoted := make([]string, len(pkgs))
	for i, p := range pkgs {
		quoted[i] = strconv.Quote(p)
	}
	return "summary := {pkg: s | some pkg in [" + strings.Join(quoted, ", ") + "]; s := data.libertum[pkg].summary}"
}

// summaryValues converts summaries (at the inputs' indexes) to OPA's
// values, nil where an object has none.
func summaryValues(inputs []Input, summaries []Summary) ([]ast.Value, error) {
	out := make([]ast.Value, len(inputs))
	for i := range inputs {
		if i >= len(summaries) || summaries[i].Value == nil {
			continue
		}
		v, err := ast.ValueFromReader(bytes.NewReader(summaries[i].Value))
		if err != nil {
			return nil, fmt.Errorf("summary of %s: %w", manifest.IDOf(inputs[i].Object), err)
		}
		out[i] = v
	}
	return out, nil
}
