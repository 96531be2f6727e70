package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/publish"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/validate"
)

// TextJSON are the formats of the commands that print text or json only.
var TextJSON = []string{"text", "json"}

// RenderSummary writes one row per (environment, stamp): its units
// (planned components and the namespaces, Argo CD and bootstrap folders),
// objects and bytes, and the time spent rendering its units. Units render
// in parallel, so the rows add up to more than the wall time on the total
// row.
func RenderSummary(w io.Writer, res *render.Result, wall time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ENV\tSTAMP\tUNITS\tOBJECTS\tBYTES\tUNIT TIME\t")
	type row struct {
		env, stamp            string
		units, objects, bytes int
		elapsed               time.Duration
	}
	var rows []*row
	for _, u := range res.Units {
		if len(rows) == 0 || rows[len(rows)-1].env != u.Env || rows[len(rows)-1].stamp != u.Stamp {
			rows = append(rows, &row{env: u.Env, stamp: u.Stamp})
		}
		r := rows[len(rows)-1]
		r.units++
		r.objects += len(u.Objects)
		r.bytes += u.Bytes()
		r.elapsed += u.Elapsed
	}
	for _, r := range rows {
		stamp := r.stamp
		if stamp == "" {
			stamp = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t\n", r.env, stamp, r.units, r.objects, r.bytes, r.elapsed.Round(time.Millisecond))
	}
	objects, bytes := res.Size()
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%d\t%s wall\t\n", len(res.Units), objects, bytes, wall.Round(time.Millisecond))
	tw.Flush()
	c := res.Counts()
	fmt.Fprintf(w, "units: %d planned (%d rendered, %d from the cache), %d derived\n", c.Total, c.Rendered, c.Cached, len(res.Units)-c.Total)
}

// Progress returns a progress line for a render on w, or nil when w is not
// a terminal (a CI log gets the summary only).
func Progress(w io.Writer) func(done, total int, unit string) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(done, total int, unit string) {
		fmt.Fprintf(w, "\r\033[K[%d/%d] %s", done, total, unit)
		if done == total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}

// RenderJSON writes a render's summary as JSON: environments, units,
// objects, bytes and wall time.
func RenderJSON(w io.Writer, res *render.Result, wall time.Duration) error {
	objects, bytes := res.Size()
	return writeJSON(w, struct {
		Envs    []string      `json:"environments"`
		Units   render.Counts `json:"units"`
		Derived int           `json:"derivedUnits"`
		Objects int           `json:"objects"`
		Bytes   int           `json:"bytes"`
		WallMS  int64         `json:"wallMilliseconds"`
	}{res.EnvNames(), res.Counts(), len(res.Units) - res.Counts().Total, objects, bytes, wall.Milliseconds()})
}

// Validation writes an API server's verdict.
func Validation(w io.Writer, format string, res *validate.Result, envs, stamps int) error {
	if format == "json" {
		return writeJSON(w, res)
	}
	for _, r := range res.Rejected {
		fmt.Fprintln(w, r)
	}
	warnings := make([]string, 0, len(res.Warnings))
	for msg := range res.Warnings {
		warnings = append(warnings, msg)
	}
	sort.Strings(warnings)
	for _, msg := range warnings {
		fmt.Fprintf(w, "server warning (%d objects): %s\n", res.Warnings[msg], msg)
	}
	rate := float64(res.Checked) / res.Elapsed.Seconds()
	_, err := fmt.Fprintf(w, "%d objects of %d environments (%d stamps and bootstraps) checked by kube-apiserver %s in %s (%.0f objects/s): %d rejected\n",
		res.Checked, envs, stamps, res.ServerVersion, res.Elapsed.Round(time.Millisecond), rate, len(res.Rejected))
	return err
}

// History writes the rendered branch's commits.
func History(w io.Writer, format string, entries []publish.Entry) error {
	if format == "json" {
		return writeJSON(w, entries)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RENDERED\tDATE\tSOURCE\tENVIRONMENTS\tSTAMPS\tSUBJECT")
	for _, e := range entries {
		stamps := strings.Join(e.Stamps, ",")
		if stamps == "" {
			stamps = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ShortSHA(e.Commit), e.Date, ShortSHA(e.Source), strings.Join(e.Envs, ","), stamps, e.Subject)
	}
	tw.Flush()
	_, err := fmt.Fprintf(w, "STAMPS run that render. Roll back everything with: gitops publish --source <SOURCE>; one stamp with: gitops rollout --env ENV --stamp STAMP --to <SOURCE>\n")
	return err
}

// Rollout says which wave moved to which render.
func Rollout(w io.Writer, format string, res *publish.RolloutResult) error {
	if format == "json" {
		return writeJSON(w, res)
	}
	switch {
	case len(res.Moved) == 0 && res.Pinned != "":
		_, err := fmt.Fprintf(w, "%s already runs the render of %s (%s): nothing moved\n", res.Pinned, ShortSHA(res.Source), ShortSHA(res.Rendered))
		return err
	case len(res.Moved) == 0:
		_, err := fmt.Fprintf(w, "every wave already runs the render of %s (%s)\n", ShortSHA(res.Source), ShortSHA(res.Rendered))
		return err
	}
	for _, st := range res.Moved {
		fmt.Fprintf(w, "wave %d: %s (%s) now runs the render of %s (%s)\n", res.Wave, st.Stamp, st.Branch, ShortSHA(st.Source), ShortSHA(st.Rendered))
	}
	return nil
}

// PolicyTests writes the Rego unit tests' results: the failures and a
// count (text), or every result (json).
func PolicyTests(w io.Writer, format string, results []policy.TestResult) error {
	if format == "json" {
		return writeJSON(w, results)
	}
	failed := 0
	for _, r := range results {
		if !r.Pass {
			failed++
			fmt.Fprintf(w, "FAIL %s %s.%s %s\n", r.Location, r.Package, r.Name, r.Error)
		}
	}
	_, err := fmt.Fprintf(w, "PASS: %d/%d\n", len(results)-failed, len(results))
	return err
}

// ShortSHA abbreviates a commit hash to 12 characters.
func ShortSHA(sha string) string { return git.Short(sha) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Published says what a publish did to the rendered branch.
func Published(w io.Writer, remote, branch string, res *publish.Result) {
	switch {
	case res.Superseded != "":
		fmt.Fprintf(w, "%s/%s already holds the render of %s, a later commit than %s (%s): nothing published, no stamp moved\n", remote, branch, ShortSHA(res.Superseded), ShortSHA(res.Source), ShortSHA(res.Commit))
	case res.Unchanged:
		fmt.Fprintf(w, "%s/%s already holds the render of %s (%s): nothing to publish\n", remote, branch, ShortSHA(res.Source), ShortSHA(res.Commit))
	case res.Created:
		fmt.Fprintf(w, "created %s/%s at %s: render of %s for %s\n", remote, branch, ShortSHA(res.Commit), ShortSHA(res.Source), strings.Join(res.Envs, ", "))
	default:
		fmt.Fprintf(w, "updated %s/%s at %s: render of %s for %s\n", remote, branch, ShortSHA(res.Commit), ShortSHA(res.Source), strings.Join(res.Envs, ", "))
	}
	if res.Proposed {
		for _, st := range res.Stamps {
			fmt.Fprintf(w, "  %s: proposed on %s\n", st.Stamp, st.Branch)
		}
		fmt.Fprintln(w, "no stamp moved: each runs the render once its promotion (a pull request from BRANCH-next into BRANCH, opened by gitops-promoter or by hand) merges")
		return
	}
	for _, st := range res.Stamps {
		fmt.Fprintf(w, "  %s (%s) takes it\n", st.Stamp, st.Branch)
	}
	if len(res.Stamps) > 0 {
		fmt.Fprintln(w, "later waves, where an environment has them, follow with: gitops rollout --env ENV")
	}
}

// ImageFormats are the formats of gitops images.
var ImageFormats = []string{"text", "json", "az"}

// Images writes an environment's images: a table (text), the list (json),
// or a shell script of az acr import commands for the third-party ones (az);
// an image that cannot be imported is a comment in the script, and the
// command exits 1.
func Images(w io.Writer, format string, imgs []action.Image) error {
	switch format {
	case "json":
		return writeJSON(w, imgs)
	case "az":
		fmt.Fprintln(w, "#!/bin/sh\n# Import every third-party image into the environment's ACR by digest (gitops images).\nset -eu")
		for _, i := range imgs {
			switch {
			case i.InHouse:
			case i.Problem != "":
				fmt.Fprintf(w, "# cannot import %s: %s\n", i.Name, i.Problem)
			default:
				fmt.Fprintln(w, i.Import)
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tIMAGE\tUPSTREAM\tCOMPONENTS")
	for _, i := range imgs {
		kind, up := "third-party", i.Upstream+"@"+i.Digest
		if i.InHouse {
			kind, up = "in-house", "built by CI (tag = commit)"
		} else if i.Problem != "" {
			up = "PROBLEM: " + i.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", kind, i.Ref, up, strings.Join(i.Components, ","))
	}
	return tw.Flush()
}

// Provenance writes verify-provenance's checks: one line each (text), or
// the report (json).
func Provenance(w io.Writer, format string, rep *action.ProvenanceReport) error {
	if format == "json" {
		return writeJSON(w, rep)
	}
	fmt.Fprintf(w, "rendered commit %s (source %s)\n", ShortSHA(rep.Commit), ShortSHA(rep.Source))
	for _, c := range rep.Checks {
		verdict := "ok  "
		if !c.OK {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%s %-10s %s\n", verdict, c.Name, c.Detail)
	}
	for _, d := range rep.Differ {
		fmt.Fprintf(w, "     differs: %s\n", d)
	}
	return nil
}
