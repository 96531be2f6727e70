package action

import (
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
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/verify"
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
	*verify.Report
	Broken []error
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
	files, err := p.inputFiles()
	if err != nil {
		return nil, err
	}
	res := &PolicyCheckResult{Report: &verify.Report{Envs: []string{p.Env}}}
	var inputs []policy.Input
	for _, f := range files {
		docs, broken := manifest.DecodeInput(f.name, f.data)
		res.Broken = append(res.Broken, broken...)
		for _, d := range docs {
			o := d.Object
			labels := o.GetLabels()
			in := policy.Input{Unit: layout.Unit{Env: p.Env, Stamp: labels[stampLabel], Component: labels[componentLabel]}, File: f.name, Source: fmt.Sprintf("%s:%d", f.name, d.Line), Object: o}
			inputs = append(inputs, in)
			res.Objects = append(res.Objects, verify.Object{Unit: in.Unit,
				File: in.File, Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: manifest.Name(o)})
		}
	}
	checker := check.New(p.Workspace(), check.Options{Workers: p.Workers, Today: orNow(p.Today), Timeout: p.PolicyTimeout})
	if res.Findings, err = checker.Objects(ctx, env, inputs); err != nil {
		return nil, err
	}
	return res, nil
}

type inputFile struct {
	name string
	data []byte
}

var manifestExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// inputFiles reads the paths in order; a directory gives its manifest
// files sorted by path.
func (p *PolicyCheck) inputFiles() ([]inputFile, error) {
	var out []inputFile
	for _, arg := range p.Paths {
		if arg == "-" {
			if p.Stdin == nil {
				return nil, errors.New("-: no standard input")
			}
			b, err := io.ReadAll(p.Stdin)
			if err != nil {
				return nil, fmt.Errorf("read standard input: %w", err)
			}
			out = append(out, inputFile{name: "<stdin>", data: b})
			continue
		}
		info, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			b, err := os.ReadFile(arg)
			if err != nil {
				return nil, err
			}
			out = append(out, inputFile{name: arg, data: b})
			continue
		}
		var names []string
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && manifestExts[strings.ToLower(filepath.Ext(path))] {
				names = append(names, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(names)
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				return nil, err
			}
			out = append(out, inputFile{name: n, data: b})
		}
	}
	return out, nil
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
