package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/policy"
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
func WriteReview(w io.Writer, format string, r *action.Review) error {
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

func reviewText(w io.Writer, r *action.Review) error {
	added, removed, changed := r.Objects()
	fmt.Fprintf(w, "diff %s (%s) → working tree: %d added, %d removed, %d changed objects\n", r.Base, ShortSHA(r.BaseCommit), added, removed, changed)
	for _, u := range r.Units {
		fmt.Fprintf(w, "%s\n", unitName(u))
		for _, f := range u.Files {
			fmt.Fprintf(w, "  %s %s\n", f.Status, f.Resource())
			for _, c := range f.Changes {
				if o, n, ok := multiline(c.Old, c.New); ok {
					fmt.Fprintf(w, "      %s:\n", c.Path)
					for _, l := range lineDiff(o, n) {
						fmt.Fprintf(w, "        %s\n", l)
					}
					continue
				}
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
	opened := 0
	for _, f := range r.Connectivity {
		fmt.Fprintf(w, "connectivity %s: %s/%s %s\n", f.Change, f.Env, f.Stamp, f.Conn)
		if f.Change == "opened" {
			opened++
		}
	}
	fmt.Fprintf(w, "connectivity: %d opened, %d closed\n", opened, len(r.Connectivity)-opened)
	touched := touchedEnvs(r)
	for _, c := range r.Capacity {
		if a := c.After; touched[a.Env] {
			fmt.Fprintf(w, "capacity %s/%s: peak %.1f cores, %.1f GiB; failover %.1f cores, %.1f GiB; budget %.1f cores, %.1f GiB\n",
				a.Env, a.Stamp, a.Peak.CPU, a.Peak.Memory, a.Failover.CPU, a.Failover.Memory, a.Budget.CPU, a.Budget.Memory)
		}
	}
	return nil
}

func unitName(u action.UnitChange) string {
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
func ReviewComments(r *action.Review, limit int) []string {
	var ps []piece
	add := func(text string) { ps = append(ps, piece{text: text}) }
	added, removed, changed := r.Objects()
	add(fmt.Sprintf("## gitops diff: `%s` (%s) → this change\n\n", r.Base, ShortSHA(r.BaseCommit)))
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
		var units []action.UnitChange
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
				ps = append(ps, piece{text: markdownFile(f), group: group})
			}
			ps = append(ps, piece{text: "\n", group: group})
		}
	}

	if len(r.Connectivity) > 0 {
		add(fmt.Sprintf("### 🔀 Connections this change opens and closes (%d)\n\n", len(r.Connectivity)))
		header := "| change | where | from | to | port |\n|---|---|---|---|---|\n"
		for _, f := range r.Connectivity {
			ps = append(ps, piece{text: fmt.Sprintf("| %s | %s/%s | %s | %s | %s |\n", f.Change, f.Env, f.Stamp, cell(f.From), cell(f.To), cell(f.Port.String())), table: header})
		}
		add("\n")
	}

	ps = append(ps, capacitySection(r)...)

	if ds := intentDiagrams(r, limit); len(ds) > 0 {
		add("### Network intent of the changed components\n\n")
		for _, d := range ds {
			add(d)
		}
	}
	return pack(ps, limit)
}

func code(s string) string { return strings.ReplaceAll(s, "`", "'") }

// maxShownLines bounds a line diff or an added object's content in a
// comment; the JSON output keeps every value whole.
const maxShownLines = 60

// markdownFile is one changed file of the review: its changed fields, a
// line diff inside text over several lines, and an added object's content
// folded under its name.
func markdownFile(f diff.File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- **%s** `%s`\n", f.Status, f.Resource())
	for _, c := range f.Changes {
		if o, n, ok := multiline(c.Old, c.New); ok {
			fmt.Fprintf(&b, "  - `%s`:\n\n", c.Path)
			fence(&b, "diff", lineDiff(o, n))
			continue
		}
		fmt.Fprintf(&b, "  - `%s`: `%s` → `%s`\n", c.Path, code(short(c.Old)), code(short(c.New)))
	}
	if f.Status == diff.Added && f.Object != nil {
		if y, err := yaml.Marshal(f.Object); err == nil {
			b.WriteString("  <details><summary>content</summary>\n\n")
			fence(&b, "yaml", strings.Split(strings.TrimSuffix(string(y), "\n"), "\n"))
			b.WriteString("  </details>\n\n")
		}
	}
	return b.String()
}

// fence writes lines as a fenced code block inside a list item, at most
// maxShownLines of them; a fence inside a line is broken so it cannot end
// the block.
func fence(b *strings.Builder, lang string, lines []string) {
	fmt.Fprintf(b, "    ```%s\n", lang)
	for i, l := range lines {
		if i == maxShownLines {
			fmt.Fprintf(b, "    … %d more lines (gitops diff --format json has them all)\n", len(lines)-i)
			break
		}
		fmt.Fprintf(b, "    %s\n", strings.ReplaceAll(l, "```", "` ``"))
	}
	b.WriteString("    ```\n\n")
}

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
// neighbours: tiers as styles, the connections the NetworkPolicy engine
// allows as edges, those the change adds thick and green, those it removes
// dotted and red, removed components dashed.
//
// A diagram too large for one comment keeps only the edges the change adds
// or removes, then gives way to a line saying so.
func intentDiagrams(r *action.Review, limit int) []string {
	var out []string
	envs := make([]string, 0, len(r.Intent))
	for env := range r.Intent {
		envs = append(envs, env)
	}
	sort.Strings(envs)
	for _, env := range envs {
		byName := map[string]action.ComponentIntent{}
		for _, c := range r.Intent[env] {
			byName[c.Name] = c
		}
		show := map[string]bool{}
		for _, c := range r.Intent[env] {
			if c.Changed {
				show[c.Name] = true
			}
		}
		all := diagram(env, byName, show, r.Links[env], func(l action.Link) bool { return show[l.From] || show[l.To] || l.Status != "" })
		if len(all) > limit {
			all = diagram(env, byName, show, r.Links[env], func(l action.Link) bool { return l.Status != "" })
		}
		if len(all) > limit {
			all = fmt.Sprintf("**%s**: the network diagram is too large for a comment; the connections table above lists every change.\n\n", env)
		}
		if all != "" {
			out = append(out, all)
		}
	}
	return out
}

// diagram draws one environment's components and the links keep selects.
func diagram(env string, byName map[string]action.ComponentIntent, changed map[string]bool, links []action.Link, keep func(action.Link) bool) string {
	show := map[string]bool{}
	for n := range changed {
		show[n] = true
	}
	var edges []action.Link
	for _, l := range links {
		if keep(l) {
			edges = append(edges, l)
			show[l.From], show[l.To] = true, true
		}
	}
	if len(show) == 0 {
		return ""
	}
	names := make([]string, 0, len(show))
	for n := range show {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n```mermaid\ngraph LR\n", env)
	classes := map[string][]string{}
	for _, n := range names {
		c, ok := byName[n]
		switch {
		case !ok: // outside the cluster: the internet, an Azure endpoint, a host
			fmt.Fprintf(&b, "  %s((\"%s\"))\n", nodeID(n), n)
			continue
		case c.Removed:
			fmt.Fprintf(&b, "  %s[\"%s (removed)\"]\n", nodeID(n), n)
			classes["removed"] = append(classes["removed"], nodeID(n))
		default:
			fmt.Fprintf(&b, "  %s[\"%s\"]\n", nodeID(n), n)
		}
		classes[c.Tier] = append(classes[c.Tier], nodeID(n))
		if c.Changed && !c.Removed {
			classes["changed"] = append(classes["changed"], nodeID(n))
		}
	}
	var added, removed []string
	for i, l := range edges {
		switch l.Status {
		case "added":
			fmt.Fprintf(&b, "  %s ==>|added| %s\n", nodeID(l.From), nodeID(l.To))
			added = append(added, fmt.Sprint(i))
		case "removed":
			fmt.Fprintf(&b, "  %s -.->|removed| %s\n", nodeID(l.From), nodeID(l.To))
			removed = append(removed, fmt.Sprint(i))
		default:
			fmt.Fprintf(&b, "  %s --> %s\n", nodeID(l.From), nodeID(l.To))
		}
	}
	if len(added) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:#1a7f37,stroke-width:3px\n", strings.Join(added, ","))
	}
	if len(removed) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:#cf222e,stroke-dasharray:4\n", strings.Join(removed, ","))
	}
	b.WriteString("  classDef public fill:#fde2c8,stroke:#c86400\n  classDef private fill:#dbe8f7,stroke:#2b5d9b\n  classDef changed stroke-width:4px\n  classDef removed stroke-dasharray:5 5,fill:#eeeeee\n")
	for _, class := range []string{"public", "private", "changed", "removed"} {
		if ids := classes[class]; len(ids) > 0 {
			fmt.Fprintf(&b, "  class %s %s\n", strings.Join(ids, ","), class)
		}
	}
	b.WriteString("```\n\n")
	return b.String()
}

// nodeID makes a Mermaid node id of a component or address name.
func nodeID(name string) string {
	return strings.NewReplacer("-", "_", ":", "_", ".", "_", " ", "_").Replace(name)
}
