package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/policy"
)

// The SARIF 2.1.0 subset GitHub code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	ShortDescription sarifMessage `json:"shortDescription"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID           string          `json:"ruleId"`
	Level            string          `json:"level"`
	Message          sarifMessage    `json:"message"`
	Locations        []sarifLocation `json:"locations,omitempty"`
	RelatedLocations []sarifLocation `json:"relatedLocations,omitempty"`
}

type sarifLocation struct {
	ID               int           `json:"id,omitempty"`
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	Message          *sarifMessage `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// location turns "file" or "file:line" into a SARIF location.
func location(ref string) sarifLocation {
	file, line := ref, 0
	if i := strings.LastIndex(ref, ":"); i > 0 {
		if n, err := strconv.Atoi(ref[i+1:]); err == nil {
			file, line = ref[:i], n
		}
	}
	loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: file}}}
	if line > 0 {
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: line}
	}
	return loc
}

// SARIF writes results that point at the source line that caused each
// finding, with the rendered file and the component's declaration as
// related locations.
func SARIF(w io.Writer, r *action.Report) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "gitops", InformationURI: "https://github.com/libertum/platform-gitops"}}, Results: []sarifResult{}}
	for _, id := range rules(r) {
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: id, ShortDescription: sarifMessage{Text: id}})
	}
	for _, f := range r.Findings {
		level := "error"
		if f.Level == policy.Warn {
			level = "warning"
		}
		msg := fmt.Sprintf("%s/%s/%s %s: %s", f.Env, f.Stamp, f.Component, f.Object(), f.Message)
		if f.Fix != "" {
			msg += " Fix: " + f.Fix
		}
		if f.Exception != "" {
			msg += " Waived: " + f.Exception
		}
		res := sarifResult{RuleID: f.Rule, Level: level, Message: sarifMessage{Text: msg}}
		// The primary location is the line that caused the finding (an
		// overlay, base, chart or environment file: code scanning then
		// annotates the pull request's own lines), else the component's
		// entry in the environment file; the rendered file is related.
		primary := f.Origin
		if primary == "" {
			primary = f.Source
		}
		if primary == "" {
			primary = f.File
		}
		if primary != "" {
			res.Locations = []sarifLocation{location(primary)}
		}
		related := func(ref, text string) {
			if ref == "" || ref == primary {
				return
			}
			loc := location(ref)
			loc.ID = len(res.RelatedLocations) + 1
			loc.Message = &sarifMessage{Text: text}
			res.RelatedLocations = append(res.RelatedLocations, loc)
		}
		related(f.File, "rendered here")
		related(f.Source, "declared here")
		run.Results = append(run.Results, res)
	}
	for _, d := range r.Drift {
		run.Results = append(run.Results, sarifResult{
			RuleID:    "drift",
			Level:     "error",
			Message:   sarifMessage{Text: fmt.Sprintf("%s is %s relative to a fresh render; run gitops render and commit", d.Resource(), d.Status)},
			Locations: []sarifLocation{location(d.Path)},
		})
	}
	return writeJSON(w, sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}
