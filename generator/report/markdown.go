package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/policy"
)

// Markdown writes a summary table, the violations and the drift, for a PR
// comment or a CI job summary.
func Markdown(w io.Writer, r *action.Report) error {
	status := "✅ verify passed"
	if r.Failed() {
		status = "❌ verify failed"
	}
	fmt.Fprintf(w, "### %s\n\n", status)
	fmt.Fprintln(w, "| environment | objects | violations | warnings | drifted files |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, env := range r.Envs {
		objects, deny, warn, drift := 0, 0, 0, 0
		for _, o := range r.Objects {
			if o.Env == env {
				objects++
			}
		}
		for _, f := range r.Findings {
			if f.Env != env {
				continue
			}
			if f.Level == policy.Deny {
				deny++
			} else {
				warn++
			}
		}
		for _, d := range r.Drift {
			if strings.HasPrefix(d.Path, "rendered/"+env+"/") {
				drift++
			}
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d |\n", env, objects, deny, warn, drift)
	}
	if len(r.Findings) > 0 {
		fmt.Fprint(w, "\n#### Findings\n\n")
		fmt.Fprintln(w, "| level | rule | where | object | message |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		for _, f := range r.Findings {
			msg := f.Message
			if f.Exception != "" {
				msg += " _(waived: " + f.Exception + ")_"
			}
			fmt.Fprintf(w, "| %s | `%s` | %s/%s/%s | %s | %s |\n", f.Level, f.Rule, f.Env, f.Stamp, f.Component, cell(f.Object()), cell(msg))
		}
	}
	if len(r.Drift) > 0 {
		fmt.Fprint(w, "\n#### Drift from the committed `rendered/`\n\n")
		for _, d := range r.Drift {
			fmt.Fprintf(w, "- **%s** %s (`%s`)\n", d.Status, d.Resource(), d.Path)
			for _, c := range d.Changes {
				fmt.Fprintf(w, "  - `%s`: `%s` → `%s`\n", c.Path, short(c.Old), short(c.New))
			}
		}
	}
	return nil
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
