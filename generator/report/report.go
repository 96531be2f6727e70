// Package report writes a verify report in the formats CI and reviewers
// read: text, json, sarif, junit and markdown. Writers take an io.Writer
// and never print on their own.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
)

// Formats lists the supported output formats.
var Formats = []string{"text", "json", "sarif", "junit", "markdown"}

// Write writes r in format to w.
func Write(w io.Writer, format string, r *action.Report) error {
	switch format {
	case "text":
		return Text(w, r)
	case "json":
		return JSON(w, r)
	case "sarif":
		return SARIF(w, r)
	case "junit":
		return JUnit(w, r)
	case "markdown":
		return Markdown(w, r)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// Text is the human format: one line per finding and drifted resource.
func Text(w io.Writer, r *action.Report) error {
	for _, f := range r.Findings {
		line := f.String()
		if f.File != "" {
			line += "\n    at " + f.File
			if f.Source != "" {
				line += " (from " + f.Source + ")"
			}
		} else if f.Source != "" {
			line += "\n    at " + f.Source
		}
		if f.Exception != "" {
			line += "\n    waived: " + f.Exception
		}
		fmt.Fprintln(w, line)
	}
	for _, d := range r.Drift {
		fmt.Fprintf(w, "drift %s %s (%s)\n", d.Status, d.Resource(), d.Path)
		for _, c := range d.Changes {
			fmt.Fprintf(w, "    %s: %s -> %s\n", c.Path, short(c.Old), short(c.New))
		}
	}
	warned := len(r.Findings) - r.Denied()
	fmt.Fprintf(w, "%d objects in %s: %d violations, %d warnings, %d drifted files\n",
		len(r.Objects), strings.Join(r.Envs, ", "), r.Denied(), warned, len(r.Drift))
	if u := r.Units; u.Total > 0 {
		fmt.Fprintf(w, "units: %d (%d rendered, %d from the cache, %d read from rendered/)\n", u.Total, u.Rendered, u.Cached, u.Reused)
	}
	return nil
}

// short renders a value on one line for text and markdown reports.
func short(v any) string {
	if v == nil {
		return "(absent)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// JSON is the machine format.
func JSON(w io.Writer, r *action.Report) error {
	out := struct {
		Envs       []string         `json:"environments"`
		Units      *render.Counts   `json:"units,omitempty"`
		Objects    int              `json:"objects"`
		Violations int              `json:"violations"`
		Findings   []policy.Finding `json:"findings"`
		Drift      []diff.File      `json:"drift"`
	}{r.Envs, nil, len(r.Objects), r.Denied(), nonNil(r.Findings), nonNilDrift(r.Drift)}
	if r.Units.Total > 0 {
		out.Units = &r.Units
	}
	return writeJSON(w, out)
}

func nonNil(f []policy.Finding) []policy.Finding {
	if f == nil {
		return []policy.Finding{}
	}
	return f
}

func nonNilDrift(d []diff.File) []diff.File {
	if d == nil {
		return []diff.File{}
	}
	return d
}

// rules returns the distinct rule ids of the findings, sorted, plus "drift"
// when there is any.
func rules(r *action.Report) []string {
	set := map[string]bool{}
	for _, f := range r.Findings {
		set[f.Rule] = true
	}
	if len(r.Drift) > 0 {
		set["drift"] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
