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

var forbiddenPattern = regexp.MustCompile(`\b(` + strings.Join(forbidden, "|") + `)\b`)

// CheckDeterministic reports every use of a template function that would
// make the chart render differently from run to run, with file and line.
func CheckDeterministic(ch Chart) error {
	var problems []string
	for _, name := range sortedNames(ch.Files) {
		if !strings.HasPrefix(name, "templates/") {
			continue
		}
		for i, line := range strings.Split(string(ch.Files[name]), "\n") {
			for _, action := range templateActions(line) {
				if m := forbiddenPattern.FindString(action); m != "" {
					problems = append(problems, fmt.Sprintf("%s/%s:%d: template function %q makes output differ between runs; pass the value in instead", ch.Dir, name, i+1, m))
				}
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("chart %s is not deterministic:\n%s", ch.Dir, strings.Join(problems, "\n"))
	}
	return nil
}

var actionPattern = regexp.MustCompile(`\{\{.*?\}\}`)

func templateActions(line string) []string { return actionPattern.FindAllString(line, -1) }

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
