package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/review"
)

// CommentLimit is GitHub's maximum comment length.
const CommentLimit = 65536

// commentMarker starts every PR comment the tool writes, so CI can find and
// update its own comments.
const commentMarker = "<!-- gitops-diff -->"

// ReviewFormats are the formats gitops diff writes.
var ReviewFormats = []string{"text", "json", "markdown"}

// WriteReview writes a review in format; markdown comments are separated
// by a line holding only commentSeparator.
func WriteReview(w io.Writer, format string, r *review.Review) error {
	switch format {
	case "json":
		return writeJSON(w, r)
	case "text":
		return reviewText(w, r)
	case "markdown":
		for i, c := range ReviewComments(r, CommentLimit) {
			if i > 0 {
				fmt.Fprintf(w, "\n%s\n", CommentSeparator)
			}
			if _, err := io.WriteString(w, c); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(ReviewFormats, ", "))
}

// CommentSeparator separates comments in gitops diff --format markdown
// output; CI posts each part as its own comment.
const CommentSeparator = "<!-- gitops-diff: next comment -->"

func reviewText(w io.Writer, r *review.Review) error {
	added, removed, changed := r.Objects()
	fmt.Fprintf(w, "diff %s (%s) → working tree: %d added, %d removed, %d changed objects\n", r.Base, short12(r.BaseCommit), added, removed, changed)
	for _, u := range r.Units {
		fmt.Fprintf(w, "%s\n", unitName(u))
		for _, f := range u.Files {
			fmt.Fprintf(w, "  %s %s\n", f.Status, f.Resource())
			for _, c := range f.Changes {
				fmt.Fprintf(w, "      %s: %s -> %s\n", c.Path, short(c.Old), short(c.New))
			}
		}
	}
	for _, g := range []struct {
		title string
		fs    []policy.Finding
	}{{"introduced", r.Introduced}, {"fixed", r.Fixed}} {
		for _, f := range g.fs {
			fmt.Fprintf(w, "policy %s: %s\n", g.title, f)
		}
	}
	fmt.Fprintf(w, "policy: %d introduced, %d fixed, %d already on the base\n", len(r.Introduced), len(r.Fixed), len(r.Existing))
	return nil
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func unitName(u review.Unit) string {
	if u.Stamp == "" {
		return u.Env + "/" + u.Component
	}
	return u.Env + "/" + u.Stamp + "/" + u.Component
}

// piece is one unsplittable bit of a comment. A table row carries its
// table's header, so a comment that starts mid-table repeats it; a piece
// inside a collapsible group carries the group's summary, so a comment that
// starts mid-group reopens it.
type piece struct {
	text  string
	table string
	group string
}

// ReviewComments renders the review as PR comments of at most limit
// characters each, never cutting a table row, code block or list item.
func ReviewComments(r *review.Review, limit int) []string {
	var ps []piece
	add := func(text string) { ps = append(ps, piece{text: text}) }
	added, removed, changed := r.Objects()
	add(fmt.Sprintf("## gitops diff: `%s` (%s) → this change\n\n", r.Base, short12(r.BaseCommit)))
	add(fmt.Sprintf("**%d added, %d removed, %d changed objects**; policy: **%d introduced**, **%d fixed**, %d already on the base.\n\n",
		added, removed, changed, len(r.Introduced), len(r.Fixed), len(r.Existing)))
	if len(r.Units) > 0 {
		header := "| environment | stamp | component | added | removed | changed |\n|---|---|---|---:|---:|---:|\n"
		for _, u := range r.Units {
			a, d, c := 0, 0, 0
			for _, f := range u.Files {
				switch f.Status {
				case diff.Added:
					a++
				case diff.Removed:
					d++
				default:
					c++
				}
			}
			stamp := u.Stamp
			if stamp == "" {
				stamp = "–"
			}
			ps = append(ps, piece{text: fmt.Sprintf("| %s | %s | %s | %d | %d | %d |\n", u.Env, stamp, u.Component, a, d, c), table: header})
		}
		add("\n")
	} else {
		add("No rendered object changes.\n\n")
	}

	for _, g := range []struct {
		title string
		fs    []policy.Finding
	}{{"🚫 Violations this change introduces", r.Introduced}, {"✅ Violations this change fixes", r.Fixed}} {
		if len(g.fs) == 0 {
			continue
		}
		add(fmt.Sprintf("### %s (%d)\n\n", g.title, len(g.fs)))
		header := "| rule | where | object | message |\n|---|---|---|---|\n"
		for _, f := range g.fs {
			ps = append(ps, piece{text: fmt.Sprintf("| `%s` | %s/%s/%s | %s | %s |\n", f.Rule, f.Env, f.Stamp, f.Component, cell(f.Object()), cell(f.Message)), table: header})
		}
		add("\n")
	}

	for _, env := range r.Envs {
		var units []review.Unit
		for _, u := range r.Units {
			if u.Env == env {
				units = append(units, u)
			}
		}
		if len(units) == 0 {
			continue
		}
		n := 0
		for _, u := range units {
			n += len(u.Files)
		}
		group := fmt.Sprintf("%s: %d objects", env, n)
		for _, u := range units {
			ps = append(ps, piece{text: fmt.Sprintf("#### %s\n\n", unitName(u)), group: group})
			for _, f := range u.Files {
				var b strings.Builder
				fmt.Fprintf(&b, "- **%s** `%s`\n", f.Status, f.Resource())
				for _, c := range f.Changes {
					fmt.Fprintf(&b, "  - `%s`: `%s` → `%s`\n", c.Path, code(short(c.Old)), code(short(c.New)))
				}
				ps = append(ps, piece{text: b.String(), group: group})
			}
			ps = append(ps, piece{text: "\n", group: group})
		}
	}

	if ds := intentDiagrams(r); len(ds) > 0 {
		add("### Network intent of the changed components\n\n")
		for _, d := range ds {
			add(d)
		}
	}
	return pack(ps, limit)
}

func code(s string) string { return strings.ReplaceAll(s, "`", "'") }

// pack lays pieces out in comments of at most limit characters.
func pack(ps []piece, limit int) []string {
	var comments []string
	var b strings.Builder
	table, group := "", ""
	begin := func(part int) {
		b.Reset()
		b.WriteString(commentMarker + "\n")
		if part > 1 {
			fmt.Fprintf(&b, "_gitops diff, part %d (continued)_\n\n", part)
		}
		table, group = "", ""
	}
	closing := func() string {
		s := ""
		if table != "" {
			s += "\n"
		}
		if group != "" {
			s += "\n</details>\n"
		}
		return s
	}
	begin(1)
	for _, p := range ps {
		// What this piece needs written before it in its context.
		prefix := ""
		if p.group != group {
			if group != "" {
				prefix += "\n</details>\n\n"
			}
			if p.group != "" {
				prefix += fmt.Sprintf("<details><summary>%s</summary>\n\n", p.group)
			}
		}
		if p.table != "" && (p.table != table || p.group != group) {
			prefix += p.table
		} else if p.table == "" && table != "" && !strings.HasPrefix(p.text, "\n") {
			prefix = "\n" + prefix
		}
		suffix := ""
		if p.group != "" {
			suffix = "\n</details>\n"
		}
		if b.Len()+len(prefix)+len(p.text)+len(suffix) > limit && b.Len() > len(commentMarker)+1 {
			b.WriteString(closing())
			comments = append(comments, b.String())
			begin(len(comments) + 1)
			prefix = ""
			if p.group != "" {
				prefix += fmt.Sprintf("<details><summary>%s (continued)</summary>\n\n", p.group)
			}
			if p.table != "" {
				prefix += p.table
			}
		}
		b.WriteString(prefix)
		b.WriteString(p.text)
		table, group = p.table, p.group
	}
	b.WriteString(closing())
	comments = append(comments, b.String())
	return comments
}

// intentDiagrams draws, per environment, the changed components and their
// neighbours: tiers as styles, declared flows as edges.
func intentDiagrams(r *review.Review) []string {
	var out []string
	envs := make([]string, 0, len(r.Intent))
	for env := range r.Intent {
		envs = append(envs, env)
	}
	sort.Strings(envs)
	for _, env := range envs {
		comps := r.Intent[env]
		byName := map[string]review.Component{}
		show := map[string]bool{}
		for _, c := range comps {
			byName[c.Name] = c
		}
		for _, c := range comps {
			if !c.Changed {
				continue
			}
			show[c.Name] = true
			for _, t := range c.TalksTo {
				show[t] = true
			}
			for _, o := range comps {
				for _, t := range o.TalksTo {
					if t == c.Name {
						show[o.Name] = true
					}
				}
			}
		}
		if len(show) == 0 {
			continue
		}
		var b strings.Builder
		names := make([]string, 0, len(show))
		for n := range show {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(&b, "**%s**\n\n```mermaid\ngraph LR\n", env)
		var public, private, changed []string
		edge := false
		for _, n := range names {
			c := byName[n]
			fmt.Fprintf(&b, "  %s[\"%s\"]\n", nodeID(n), n)
			if c.Tier == "public" {
				public = append(public, nodeID(n))
			} else {
				private = append(private, nodeID(n))
			}
			if c.Changed {
				changed = append(changed, nodeID(n))
			}
			if c.Edge {
				edge = true
			}
		}
		if edge {
			b.WriteString("  internet((internet))\n")
		}
		for _, n := range names {
			c := byName[n]
			if c.Edge {
				fmt.Fprintf(&b, "  internet --> %s\n", nodeID(n))
			}
			for _, t := range c.TalksTo {
				if show[t] {
					fmt.Fprintf(&b, "  %s --> %s\n", nodeID(n), nodeID(t))
				}
			}
		}
		b.WriteString("  classDef public fill:#fde2c8,stroke:#c86400\n  classDef private fill:#dbe8f7,stroke:#2b5d9b\n  classDef changed stroke-width:4px\n")
		for _, c := range []struct {
			class string
			ids   []string
		}{{"public", public}, {"private", private}, {"changed", changed}} {
			if len(c.ids) > 0 {
				fmt.Fprintf(&b, "  class %s %s\n", strings.Join(c.ids, ","), c.class)
			}
		}
		b.WriteString("```\n\n")
		out = append(out, b.String())
	}
	return out
}

func nodeID(name string) string { return strings.ReplaceAll(name, "-", "_") }
