package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/check"
	"github.com/libertum/platform-gitops/generator/kustomize"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
)

// Label keys policy check reads an object's stamp and component from.
const (
	stampLabel     = "libertum.io/stamp"
	componentLabel = "app.kubernetes.io/name"
)

// PolicyCheck runs the check step verify runs (schema, policies,
// exceptions, dedupe) on arbitrary manifests, as conftest does, with one
// environment's spec as context.
type PolicyCheck struct {
	*Config
	// Env is the environment whose spec the policies judge against.
	Env string
	// Paths are files, directories (their .yaml, .yml and .json files,
	// recursively) or "-" for Stdin.
	Paths []string
	Stdin io.Reader
	Today time.Time
}

// PolicyCheckResult is the report, plus the documents that could not be
// read: each is named by file and line, and the others were checked.
type PolicyCheckResult struct {
	*Report
	Broken []error
	// Skipped are the files of a directory that are not manifests, with
	// why (as conftest's --ignore would skip them, but said).
	Skipped []Skipped
}

// Skipped is a file policy check did not read.
type Skipped struct {
	Path, Why string
}

// Run reads every document, checks the readable ones and reports both.
func (p *PolicyCheck) Run(ctx context.Context) (*PolicyCheckResult, error) {
	if p.Env == "" || len(p.Paths) == 0 {
		return nil, errors.New("an environment and at least one file, directory or - are required")
	}
	env, err := p.Workspace().Environment(p.Env)
	if err != nil {
		return nil, err
	}
	files, skipped, err := p.inputFiles()
	if err != nil {
		return nil, err
	}
	res := &PolicyCheckResult{Report: &Report{Envs: []string{p.Env}}, Skipped: skipped}
	var inputs []policy.Input
	for _, f := range files {
		docs, broken := manifest.DecodeInput(f.name, f.data)
		switch {
		case f.walked && len(docs) == 0 && len(broken) > 0 && allData(broken):
			// A data file among manifests (rendered/prod/frontdoor/origins.json).
			res.Skipped = append(res.Skipped, Skipped{Path: f.name, Why: "no document has an apiVersion and a kind: not a Kubernetes manifest"})
			continue
		case f.walked && len(docs) == 0 && len(broken) > 0 && bytes.Contains(f.data, []byte("{{")):
			res.Skipped = append(res.Skipped, Skipped{Path: f.name, Why: "a template ({{ ... }}), not YAML until rendered: pipe the rendered output in instead"})
			continue
		}
		res.Broken = append(res.Broken, broken...)
		for _, d := range docs {
			o := d.Object
			labels := o.GetLabels()
			in := policy.Input{Unit: layout.Unit{Env: p.Env, Stamp: labels[stampLabel], Component: labels[componentLabel]}, File: f.name, Source: fmt.Sprintf("%s:%d", f.name, d.Line), Object: o}
			inputs = append(inputs, in)
			res.Objects = append(res.Objects, Object{Unit: in.Unit,
				File: in.File, Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: manifest.Name(o)})
		}
	}
	checker := check.New(p.Workspace(), check.Options{Workers: p.Workers, Today: orNow(p.Today), Timeout: p.PolicyTimeout})
	if res.Findings, err = checker.Objects(ctx, env, inputs); err != nil {
		return nil, err
	}
	return res, nil
}

// allData says whether every broken document is data, not a broken object.
func allData(broken []error) bool {
	for _, err := range broken {
		var notObject *manifest.NotObjectError
		if !errors.As(err, &notObject) {
			return false
		}
	}
	return true
}

type inputFile struct {
	name string
	data []byte
	// walked: found in a directory, not named (a named file that is not a
	// manifest is bad input; a found one is skipped).
	walked bool
}

// chartAbove returns the Helm chart directory dir is inside (its own
// Chart.yaml is the walk's to find), or "".
func chartAbove(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "Chart.yaml")); err == nil {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

var manifestExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// inputFiles reads the paths in order; a directory gives its manifest
// files sorted by path, and the files it skipped (Helm charts, Kustomize
// files, other extensions are not mentioned).
func (p *PolicyCheck) inputFiles() ([]inputFile, []Skipped, error) {
	var out []inputFile
	var skipped []Skipped
	for _, arg := range p.Paths {
		if arg == "-" {
			if p.Stdin == nil {
				return nil, nil, errors.New("-: no standard input")
			}
			b, err := io.ReadAll(p.Stdin)
			if err != nil {
				return nil, nil, fmt.Errorf("read standard input: %w", err)
			}
			out = append(out, inputFile{name: "<stdin>", data: b})
			continue
		}
		info, err := os.Stat(arg)
		if err != nil {
			return nil, nil, err
		}
		if !info.IsDir() {
			b, err := os.ReadFile(arg)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, inputFile{name: arg, data: b})
			continue
		}
		if chart := chartAbove(arg); chart != "" {
			skipped = append(skipped, Skipped{Path: arg, Why: "inside the Helm chart " + chart + ": pipe its helm template output in instead"})
			continue
		}
		var names []string
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				// A Helm chart's templates are not YAML until rendered.
				if _, err := os.Stat(filepath.Join(path, "Chart.yaml")); err == nil {
					skipped = append(skipped, Skipped{Path: path, Why: "a Helm chart: pipe its helm template output in instead"})
					return filepath.SkipDir
				}
				return nil
			}
			if !manifestExts[strings.ToLower(filepath.Ext(path))] {
				return nil
			}
			if kustomize.IsKustomization(path) {
				// Kustomize's own input: checked by piping its build in.
				skipped = append(skipped, Skipped{Path: path, Why: "a Kustomize kustomization: pipe its kustomize build output in instead"})
				return nil
			}
			names = append(names, path)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		sort.Strings(names)
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, inputFile{name: n, data: b, walked: true})
		}
	}
	sort.Slice(skipped, func(i, j int) bool { return skipped[i].Path < skipped[j].Path })
	return out, skipped, nil
}

// PolicyTest runs the Rego unit tests under policies/.
type PolicyTest struct {
	*Config
}

// PolicyTestResults are every test's result.
type PolicyTestResults []policy.TestResult

// Failed reports whether any test failed.
func (r PolicyTestResults) Failed() bool {
	for _, t := range r {
		if !t.Pass {
			return true
		}
	}
	return false
}

// Run runs the tests.
func (p *PolicyTest) Run(ctx context.Context) (PolicyTestResults, error) {
	files, err := p.Workspace().Policies()
	if err != nil {
		return nil, err
	}
	return policy.Test(ctx, files)
}
