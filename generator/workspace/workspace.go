// Package workspace is the repo as one command sees it: the environment
// specs, the component sources, the policies, CRDs and exceptions, and the
// committed rendered/ tree. Each is read at most once per Workspace, on
// first need, and every folder name of the repo is said here.
package workspace

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/source"
	"github.com/libertum/platform-gitops/generator/spec"
)

// The repo's folders and files, relative to its root.
const (
	EnvironmentsDir = "environments"
	BaseDir         = "base"
	OverlaysDir     = "overlays"
	PoliciesDir     = "policies"
	CRDsDir         = "crds"
	RenderedDir     = layout.Dir
	ExceptionsFile  = PoliciesDir + "/exceptions.yaml"
)

// Workspace is one repo checkout, loaded lazily and at most once. It is
// safe for concurrent use.
type Workspace struct {
	// Root is the repo root.
	Root string

	mu   sync.Mutex
	envs map[string]envResult

	namesOnce sync.Once
	names     []string
	namesErr  error

	sourcesOnce sync.Once
	sources     *source.Repo
	sourcesErr  error

	exceptionsOnce sync.Once
	exceptions     *policy.Exceptions
	exceptionsErr  error

	committedOnce sync.Once
	committed     *layout.Tree
	committedErr  error

	policiesOnce sync.Once
	policies     map[string][]byte
	policiesErr  error

	crdsOnce sync.Once
	crds     map[string][]byte
	crdsErr  error
}

type envResult struct {
	env  *spec.Environment
	data []byte // the file as read
	err  error
}

// Open returns the workspace at root; nothing is read yet.
func Open(root string) *Workspace {
	return &Workspace{Root: root, envs: map[string]envResult{}}
}

// Path returns a repo-relative slash path as a path on disk.
func (w *Workspace) Path(rel string) string {
	return filepath.Join(w.Root, filepath.FromSlash(rel))
}

// EnvironmentFile is the repo-relative path of an environment's file.
func EnvironmentFile(name string) string {
	return path.Join(EnvironmentsDir, name+".yaml")
}

// ComponentBase is the repo-relative folder a component is rendered from
// (base/<its base dir>).
func ComponentBase(name string, c spec.Component) string {
	return path.Join(BaseDir, c.BaseDir(name))
}

// Names lists the environments, sorted. A file in environments/ that is
// not <name>.yaml is an error rather than silently ignored.
func (w *Workspace) Names() ([]string, error) {
	w.namesOnce.Do(func() {
		entries, err := os.ReadDir(w.Path(EnvironmentsDir))
		if err != nil {
			w.namesErr = fmt.Errorf("list environments: %w", err)
			return
		}
		var errs []error
		for _, e := range entries {
			name := e.Name()
			switch {
			case e.IsDir() || strings.HasPrefix(name, "."):
			case strings.HasSuffix(name, ".yaml"):
				w.names = append(w.names, strings.TrimSuffix(name, ".yaml"))
			case strings.HasSuffix(name, ".yml"):
				errs = append(errs, fmt.Errorf("%s: environment files end in .yaml (rename it to %s.yaml)", path.Join(EnvironmentsDir, name), strings.TrimSuffix(name, ".yml")))
			}
		}
		sort.Strings(w.names)
		w.namesErr = errors.Join(errs...)
		if w.namesErr == nil && len(w.names) == 0 {
			w.namesErr = fmt.Errorf("no environments under %s", w.Path(EnvironmentsDir))
		}
	})
	return w.names, w.namesErr
}

// Environment returns one environment, read and decoded once.
func (w *Workspace) Environment(name string) (*spec.Environment, error) {
	r := w.environment(name)
	return r.env, r.err
}

// EnvironmentData returns the bytes of an environment's file, as
// Environment read them (a cache key or a provenance digests the file
// the render decoded, not a second read of it).
func (w *Workspace) EnvironmentData(name string) ([]byte, error) {
	r := w.environment(name)
	if r.data == nil {
		return nil, r.err
	}
	return r.data, nil
}

func (w *Workspace) environment(name string) envResult {
	w.mu.Lock()
	r, ok := w.envs[name]
	w.mu.Unlock()
	if ok {
		return r
	}
	r = w.loadEnvironment(name)
	w.mu.Lock()
	if prev, ok := w.envs[name]; ok {
		r = prev // another goroutine won; hand out one value
	} else {
		w.envs[name] = r
	}
	w.mu.Unlock()
	return r
}

func (w *Workspace) loadEnvironment(name string) envResult {
	if err := spec.CheckName(name); err != nil {
		return envResult{err: err}
	}
	rel := EnvironmentFile(name)
	data, err := os.ReadFile(w.Path(rel))
	if err != nil {
		return envResult{err: fmt.Errorf("read environment %s: %w", name, err)}
	}
	env, err := spec.ParseNamed(rel, name, data)
	return envResult{env: env, data: data, err: err}
}

// Environments returns the named environments (all when names is empty),
// deduplicated and sorted, reporting every broken file at once.
func (w *Workspace) Environments(names []string) ([]*spec.Environment, error) {
	if len(names) == 0 {
		all, err := w.Names()
		if err != nil {
			return nil, err
		}
		names = all
	}
	names = sortedSet(names)
	// Parsed side by side: every command waits for them before anything
	// else can start, and a large environment file takes a tenth of a
	// second to parse.
	loaded := make([]*spec.Environment, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() { loaded[i], errs[i] = w.Environment(n) })
	}
	wg.Wait()
	envs := make([]*spec.Environment, 0, len(names))
	for i, e := range loaded {
		if errs[i] == nil {
			envs = append(envs, e)
		}
	}
	return envs, errors.Join(errs...)
}

// Sources returns the files under base/ and overlays/, read once.
func (w *Workspace) Sources() (*source.Repo, error) {
	w.sourcesOnce.Do(func() { w.sources, w.sourcesErr = source.Read(w.Root, BaseDir, OverlaysDir) })
	return w.sources, w.sourcesErr
}

// Exceptions returns the reviewed exceptions, read once (none when the
// file does not exist).
func (w *Workspace) Exceptions() (*policy.Exceptions, error) {
	w.exceptionsOnce.Do(func() {
		w.exceptions, w.exceptionsErr = policy.LoadExceptions(w.Path(ExceptionsFile))
	})
	return w.exceptions, w.exceptionsErr
}

// Policies returns the Rego files under policies/ (tests included), keyed
// by their path on disk, read once.
func (w *Workspace) Policies() (map[string][]byte, error) {
	w.policiesOnce.Do(func() { w.policies, w.policiesErr = w.glob(PoliciesDir, "*.rego") })
	return w.policies, w.policiesErr
}

// CRDs returns the CRD files under crds/, keyed by their path on disk,
// read once.
func (w *Workspace) CRDs() (map[string][]byte, error) {
	w.crdsOnce.Do(func() { w.crds, w.crdsErr = w.glob(CRDsDir, "*.yaml") })
	return w.crds, w.crdsErr
}

func (w *Workspace) glob(dir, pattern string) (map[string][]byte, error) {
	paths, err := filepath.Glob(filepath.Join(w.Path(dir), pattern))
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		out[p] = b
	}
	return out, nil
}

// Inputs returns every file a render of the workspace reads, by
// repo-relative slash path: the environment files, the component sources
// (as Sources read them), the policies, the reviewed exceptions and the
// CRDs. The environments, sources, policies and CRDs come from what this
// workspace has already read.
func (w *Workspace) Inputs() (map[string][]byte, error) {
	out := map[string][]byte{}
	names, err := w.Names()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		b, err := w.EnvironmentData(n)
		if err != nil {
			return nil, err
		}
		out[EnvironmentFile(n)] = b
	}
	switch b, err := os.ReadFile(w.Path(ExceptionsFile)); {
	case err == nil:
		out[ExceptionsFile] = b
	case !os.IsNotExist(err):
		return nil, fmt.Errorf("read %s: %w", ExceptionsFile, err)
	}
	src, err := w.Sources()
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{BaseDir, OverlaysDir} {
		for p, b := range src.Files(dir) {
			out[path.Join(dir, p)] = b
		}
	}
	for _, read := range []func() (map[string][]byte, error){w.Policies, w.CRDs} {
		files, err := read()
		if err != nil {
			return nil, err
		}
		for p, b := range files {
			r, err := filepath.Rel(w.Root, p)
			if err != nil {
				return nil, err
			}
			out[filepath.ToSlash(r)] = b
		}
	}
	return out, nil
}

// Committed returns the committed rendered/ tree, read once.
func (w *Workspace) Committed() (*layout.Tree, error) {
	w.committedOnce.Do(func() { w.committed, w.committedErr = layout.ReadTree(w.Path(RenderedDir)) })
	return w.committed, w.committedErr
}

func sortedSet(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
