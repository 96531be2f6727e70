// Package helm renders the repo's local charts client-only, the way `helm
// template` does, with the Kubernetes version and API versions pinned by the
// environment. It is the only package importing helm.sh/helm/v3.
package helm

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template/parse"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// Chart is a chart's files as read from the repo, relative to the chart folder.
type Chart struct {
	// Dir is the chart's repo-relative folder, used to point errors at files.
	Dir   string
	Files map[string][]byte
}

// Options pins a render.
type Options struct {
	ReleaseName string
	Namespace   string
	// KubeVersion is the cluster version templates see, e.g. v1.32.13.
	KubeVersion string
	// APIVersions are extra group/versions Capabilities reports.
	APIVersions []string
	Values      map[string]any
}

// forbidden are template functions whose output differs between runs or
// depends on a live cluster.
var forbidden = []string{
	"randAlphaNum", "randAlpha", "randNumeric", "randAscii", "randBytes", "randInt",
	"uuidv4", "genCA", "genCAWithKey", "genPrivateKey", "genSelfSignedCert",
	"genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey",
	"derivePassword", "lookup", "now", "date", "dateInZone", "unixEpoch",
	"htpasswd", "bcrypt", "getHostByName",
}

var forbiddenSet = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range forbidden {
		m[f] = true
	}
	return m
}()

// CheckDeterministic reports every call of a template function that would
// make the chart render differently from run to run, and every tpl of
// input that is not a literal (it could reach any function at render
// time), with file and line. It reads each template's parse tree, so a
// call split across lines is found, and a value named like a function
// ({{ .Values.now }}) is not one.
func CheckDeterministic(ch Chart) error {
	var problems []string
	for _, name := range sortedNames(ch.Files) {
		if !strings.HasPrefix(name, "templates/") {
			continue
		}
		file := ch.Dir + "/" + name
		trees, err := parseTemplate(file, string(ch.Files[name]))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, tree := range sortedTrees(trees) {
			walkTemplate(tree.Root, func(n parse.Node, cmd *parse.CommandNode) {
				id, ok := n.(*parse.IdentifierNode)
				if !ok {
					return
				}
				where := location(tree, n)
				switch {
				case forbiddenSet[id.Ident]:
					problems = append(problems, fmt.Sprintf("%s: template function %q makes output differ between runs; pass the value in instead", where, id.Ident))
				case id.Ident == "tpl" && cmd != nil && len(cmd.Args) > 0 && cmd.Args[0] == n && !literalArg(cmd):
					problems = append(problems, fmt.Sprintf("%s: tpl of a value that is not a literal string can call any function at render time; render it in the chart's own templates", where))
				}
			})
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("chart %s is not deterministic:\n%s", ch.Dir, strings.Join(problems, "\n"))
	}
	return nil
}

// parseTemplate parses a template file into its trees (the file's and its
// defines), knowing no functions: Helm's and Sprig's are looked at by name.
func parseTemplate(name, text string) (map[string]*parse.Tree, error) {
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(text, "{{", "}}", trees); err != nil {
		return nil, err
	}
	return trees, nil
}

// literalArg reports whether a tpl command's template argument is a string
// literal.
func literalArg(cmd *parse.CommandNode) bool {
	if len(cmd.Args) < 2 {
		return false
	}
	_, ok := cmd.Args[1].(*parse.StringNode)
	return ok
}

// location is "file:line" of a node.
func location(tree *parse.Tree, n parse.Node) string {
	loc, _ := tree.ErrorContext(n)
	if i := strings.LastIndex(loc, ":"); i > 0 {
		loc = loc[:i] // drop the column
	}
	return loc
}

func sortedTrees(m map[string]*parse.Tree) []*parse.Tree {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*parse.Tree, len(names))
	for i, n := range names {
		out[i] = m[n]
	}
	return out
}

// walkTemplate calls f for every node under n, with the command it is an
// argument of (nil outside commands).
func walkTemplate(n parse.Node, f func(n parse.Node, cmd *parse.CommandNode)) {
	var walk func(n parse.Node, cmd *parse.CommandNode)
	walk = func(n parse.Node, cmd *parse.CommandNode) {
		if n == nil {
			return
		}
		f(n, cmd)
		switch t := n.(type) {
		case *parse.ListNode:
			if t == nil {
				return
			}
			for _, c := range t.Nodes {
				walk(c, nil)
			}
		case *parse.ActionNode:
			walk(t.Pipe, nil)
		case *parse.PipeNode:
			if t == nil {
				return
			}
			for _, d := range t.Decl {
				walk(d, nil)
			}
			for _, c := range t.Cmds {
				walk(c, nil)
			}
		case *parse.CommandNode:
			for _, a := range t.Args {
				walk(a, t)
			}
		case *parse.IfNode:
			walkBranch(&t.BranchNode, walk)
		case *parse.RangeNode:
			walkBranch(&t.BranchNode, walk)
		case *parse.WithNode:
			walkBranch(&t.BranchNode, walk)
		case *parse.TemplateNode:
			walk(t.Pipe, nil)
		case *parse.ChainNode:
			walk(t.Node, cmd)
		}
	}
	walk(n, nil)
}

func walkBranch(b *parse.BranchNode, walk func(n parse.Node, cmd *parse.CommandNode)) {
	walk(b.Pipe, nil)
	if b.List != nil {
		walk(b.List, nil)
	}
	if b.ElseList != nil {
		walk(b.ElseList, nil)
	}
}

// Render renders the chart and returns its manifest stream (hooks included,
// as `helm template` prints them), in Helm's install order.
func Render(ch Chart, o Options) ([]byte, error) {
	files := make([]*loader.BufferedFile, 0, len(ch.Files))
	for _, name := range sortedNames(ch.Files) {
		files = append(files, &loader.BufferedFile{Name: name, Data: ch.Files[name]})
	}
	chrt, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", ch.Dir, err)
	}
	kv, err := chartutil.ParseKubeVersion(o.KubeVersion)
	if err != nil {
		return nil, fmt.Errorf("chart %s: kubernetes version %q: %w", ch.Dir, o.KubeVersion, err)
	}
	cfg := &action.Configuration{Log: func(string, ...any) {}}
	install := action.NewInstall(cfg)
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.DisableHooks = false
	install.ReleaseName = o.ReleaseName
	install.Namespace = o.Namespace
	install.KubeVersion = kv
	install.APIVersions = chartutil.VersionSet(o.APIVersions)
	vals := o.Values
	if vals == nil {
		vals = map[string]any{}
	}
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %s", ch.Dir, locate(ch, err.Error()))
	}
	var out bytes.Buffer
	out.WriteString(rel.Manifest)
	for _, h := range rel.Hooks {
		out.WriteString("\n---\n")
		out.WriteString(h.Manifest)
	}
	return out.Bytes(), nil
}

// templateRef matches Helm's "chartname/templates/x.yaml:12:5" and
// "(chartname/templates/x.yaml:12)" references.
var templateRef = regexp.MustCompile(`[\w.-]+/(templates/[\w./-]+\.(?:yaml|yml|tpl|txt)):(\d+)`)

// locate rewrites Helm's chart-internal template references to repo paths
// so an error names the file and line to fix.
func locate(ch Chart, msg string) string {
	return templateRef.ReplaceAllStringFunc(msg, func(ref string) string {
		m := templateRef.FindStringSubmatch(ref)
		line, _ := strconv.Atoi(m[2])
		return fmt.Sprintf("%s/%s:%d", ch.Dir, m[1], line)
	})
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
