// Package render runs the pipeline for every (environment, stamp,
// component): Helm chart or kustomize base → shaped and generated objects →
// kustomize overlay → canonical objects. Units render in parallel; results
// come back in a fixed order, so the bytes never depend on scheduling.
package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/argocd"
	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/intent"
	"github.com/libertum/platform-gitops/generator/kustomize"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/source"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Options say what to render.
type Options struct {
	// Root is the repo root holding environments/, base/ and overlays/.
	Root string
	// Envs limits the render to these environments; empty means all.
	Envs []string
	// Workers is how many units render at once; <= 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is called after each unit (from one goroutine at a time).
	Progress func(done, total int, u *Unit)
	// Cache, when set, holds rendered units by the content of their inputs:
	// a unit whose inputs and tool are unchanged is restored, not rendered.
	Cache *cache.Store
	// Select, when set, names the (environment, component) units a change
	// can affect: only those are rendered; every other unit is read back
	// from the committed rendered/ under Root (and rendered after all if it
	// is not there).
	Select func(env, component string) bool
}

// Unit is one rendered (environment, stamp, component).
type Unit struct {
	Env, Stamp, Component string
	Objects               []*manifest.Object
	Files                 []layout.File
	Elapsed               time.Duration
	// Cached says the unit came from the cache rather than a render.
	Cached bool
	// Reused says the unit was read from the committed rendered tree (see
	// Options.Select).
	Reused bool
}

// Bytes is the size of the unit's files.
func (u *Unit) Bytes() int {
	n := 0
	for _, f := range u.Files {
		n += len(f.Data)
	}
	return n
}

// Result is a whole render.
type Result struct {
	// Envs are the environments rendered, sorted.
	Envs []*spec.Environment
	// Units are sorted by environment, stamp and component.
	Units []*Unit
}

// Files returns every rendered file, sorted by path.
func (r *Result) Files() []layout.File {
	var out []layout.File
	for _, u := range r.Units {
		out = append(out, u.Files...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// EnvNames returns the names of the rendered environments.
func (r *Result) EnvNames() []string {
	out := make([]string, len(r.Envs))
	for i, e := range r.Envs {
		out[i] = e.Name()
	}
	return out
}

// LoadEnvironments loads the named environments (all when names is empty),
// reporting every broken file at once.
func LoadEnvironments(root string, names []string) ([]*spec.Environment, error) {
	if len(names) == 0 {
		all, err := spec.Names(root)
		if err != nil {
			return nil, err
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("no environments under %s", path.Join(root, spec.Dir))
		}
		names = all
	}
	names = dedupe(names)
	var envs []*spec.Environment
	var errs []error
	for _, n := range names {
		e, err := spec.Load(root, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		envs = append(envs, e)
	}
	return envs, errors.Join(errs...)
}

func dedupe(names []string) []string {
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

// Run renders the requested environments in memory.
func Run(ctx context.Context, o Options) (*Result, error) {
	envs, err := LoadEnvironments(o.Root, o.Envs)
	if err != nil {
		return nil, err
	}
	r, err := source.Read(o.Root)
	if err != nil {
		return nil, err
	}
	repo := newSources(r)
	var units []*Unit
	var targets []intent.Target
	for _, e := range envs {
		for _, st := range e.Spec.Stamps {
			for _, name := range e.ComponentNames() {
				targets = append(targets, intent.Target{Env: e, Stamp: st, Name: name, Component: e.Spec.Components[name]})
				units = append(units, &Unit{Env: e.Name(), Stamp: st.Name, Component: name})
			}
		}
	}
	if err := checkBases(repo, envs); err != nil {
		return nil, err
	}
	errs := make([]error, len(units))
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range min(workers, max(len(units), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				start := time.Now()
				errs[i] = renderOrReuse(o, repo, targets[i], units[i])
				units[i].Elapsed = time.Since(start)
				if o.Progress != nil {
					mu.Lock()
					done++
					o.Progress(done, len(units), units[i])
					mu.Unlock()
				}
			}
		}()
	}
	for i := range units {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := groupErrors(units, errs); err != nil {
		return nil, err
	}
	for _, e := range envs {
		for _, st := range e.Spec.Stamps {
			u, err := namespacesUnit(e, st)
			if err != nil {
				return nil, err
			}
			units = append(units, u)
		}
	}
	argo, err := argocdUnits(envs, units)
	if err != nil {
		return nil, err
	}
	units = append(units, argo...)
	sort.SliceStable(units, func(i, j int) bool {
		a, b := units[i], units[j]
		if a.Env != b.Env {
			return a.Env < b.Env
		}
		if a.Stamp != b.Stamp {
			return a.Stamp < b.Stamp
		}
		return a.Component < b.Component
	})
	return &Result{Envs: envs, Units: units}, nil
}

func renderOrReuse(o Options, repo *sources, t intent.Target, u *Unit) error {
	if o.Select != nil && !o.Select(u.Env, u.Component) {
		ok, err := reuseUnit(filepath.Join(o.Root, layout.Dir), u)
		if ok || err != nil {
			return err
		}
	}
	return renderCached(o.Cache, repo, t, u)
}

// reuseUnit reads a unit back from a rendered tree; ok is false when the
// tree does not hold it.
func reuseUnit(tree string, u *Unit) (ok bool, err error) {
	dir := filepath.Join(tree, filepath.FromSlash(layout.ComponentDir(u.Env, u.Stamp, u.Component)))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	type pair struct {
		obj  *manifest.Object
		file layout.File
	}
	var pairs []pair
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return false, err
		}
		objs, err := manifest.Decode(p, b)
		if err != nil {
			return false, err
		}
		if len(objs) != 1 {
			return false, fmt.Errorf("%s: holds %d objects, a rendered file holds one", p, len(objs))
		}
		pairs = append(pairs, pair{objs[0], layout.File{Path: layout.Path(u.Env, u.Stamp, u.Component, e.Name()), Data: b}})
	}
	if len(pairs) == 0 {
		return false, nil
	}
	sort.SliceStable(pairs, func(i, j int) bool { return manifest.Less(pairs[i].obj, pairs[j].obj) })
	for _, p := range pairs {
		u.Objects = append(u.Objects, p.obj)
		u.Files = append(u.Files, p.file)
	}
	u.Reused = true
	return true, nil
}

func renderUnit(repo *sources, t intent.Target, u *Unit) error {
	kustomize.Warm()
	objs, err := build(repo, t)
	if err != nil {
		return err
	}
	return finish(u, objs)
}

// groupErrors reports each distinct failure once, naming every unit it hit
// (a broken chart fails the same way in every stamp of every environment).
func groupErrors(units []*Unit, errs []error) error {
	var order []string
	where := map[string][]string{}
	for i, err := range errs {
		if err == nil {
			continue
		}
		msg := err.Error()
		if _, ok := where[msg]; !ok {
			order = append(order, msg)
		}
		where[msg] = append(where[msg], units[i].Env+"/"+units[i].Stamp+"/"+units[i].Component)
	}
	var out []error
	for _, msg := range order {
		out = append(out, fmt.Errorf("render %s: %s", strings.Join(where[msg], ", "), msg))
	}
	return errors.Join(out...)
}

// finish orders the unit's objects and encodes one file per object.
func finish(u *Unit, objs []*manifest.Object) error {
	manifest.Sort(objs)
	u.Objects = objs
	seen := map[string]manifest.ID{}
	for _, o := range objs {
		name := manifest.FileName(o)
		if prev, ok := seen[name]; ok {
			return fmt.Errorf("%s and %s would both be written to %s", prev, manifest.IDOf(o), name)
		}
		seen[name] = manifest.IDOf(o)
		b, err := manifest.Encode(o)
		if err != nil {
			return err
		}
		u.Files = append(u.Files, layout.File{Path: layout.Path(u.Env, u.Stamp, u.Component, name), Data: b})
	}
	return nil
}

// argocdUnits renders what deploys the units: every stamp's Applications,
// and every environment's AppProject and root Applications.
func argocdUnits(envs []*spec.Environment, units []*Unit) ([]*Unit, error) {
	var out []*Unit
	for _, e := range envs {
		var all []*manifest.Object
		for _, u := range units {
			if u.Env == e.Name() {
				all = append(all, u.Objects...)
			}
		}
		for _, st := range e.Spec.Stamps {
			objs, err := argocd.Stamp(e, st)
			if err != nil {
				return nil, err
			}
			u := &Unit{Env: e.Name(), Stamp: st.Name, Component: spec.AppsComponent}
			if err := finish(u, objs); err != nil {
				return nil, fmt.Errorf("render %s/%s/%s: %w", u.Env, u.Stamp, u.Component, err)
			}
			out = append(out, u)
		}
		objs, err := argocd.Bootstrap(e, argocd.ClusterKinds(all))
		if err != nil {
			return nil, err
		}
		u := &Unit{Env: e.Name(), Component: spec.BootstrapDir}
		if err := finish(u, objs); err != nil {
			return nil, fmt.Errorf("render %s/%s: %w", u.Env, u.Component, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// namespacesUnit renders the Namespace objects every component of the
// environment lives in, as a component of its own that syncs first.
func namespacesUnit(e *spec.Environment, st spec.Stamp) (*Unit, error) {
	set := map[string]bool{}
	for _, c := range e.Spec.Components {
		set[c.Namespace] = true
	}
	var objs []*manifest.Object
	for ns := range set {
		o := &manifest.Object{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "Namespace",
			"metadata": map[string]any{
				"name": ns,
				"labels": map[string]any{
					intent.LabelName:        ns,
					intent.LabelPartOf:      intent.PartOf,
					intent.LabelEnvironment: e.Name(),
					intent.LabelStamp:       st.Name,
				},
			},
		}}
		objs = append(objs, o)
	}
	u := &Unit{Env: e.Name(), Stamp: st.Name, Component: spec.NamespacesComponent}
	return u, finish(u, objs)
}

// kustomization is the subset of kustomization.yaml the final stage writes.
type kustomization struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Resources  []string      `json:"resources"`
	Components []string      `json:"components,omitempty"`
	Namespace  string        `json:"namespace,omitempty"`
	Labels     []labelSet    `json:"labels"`
	Images     []imageChange `json:"images,omitempty"`
}

type labelSet struct {
	Pairs            map[string]string `json:"pairs"`
	IncludeTemplates bool              `json:"includeTemplates"`
}

type imageChange struct {
	Name    string `json:"name"`
	NewName string `json:"newName"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// imageChanges points every pinned image at the environment's registry.
func imageChanges(e *spec.Environment, c spec.Component) []imageChange {
	var out []imageChange
	for _, im := range c.Images {
		ch := imageChange{Name: im.Name, NewName: RegistryImage(e.Spec.Registry, im.Name)}
		tag := im.Tag
		if i := strings.Index(tag, "@"); i >= 0 {
			ch.Digest = tag[i+1:]
			tag = tag[:i]
		}
		if strings.HasPrefix(tag, "sha256:") {
			ch.Digest, tag = tag, ""
		}
		ch.NewTag = tag
		out = append(out, ch)
	}
	return out
}

// RegistryImage returns where the environment's registry holds an image:
// the upstream registry host, if any, is replaced by the environment's (third
// party images are imported into ACR).
func RegistryImage(registry, name string) string {
	first, rest, ok := strings.Cut(name, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		name = rest
	}
	return registry + "/" + name
}

func overlayDirs(repo *sources, env, component string) []string {
	var dirs []string
	for _, d := range []string{path.Join(source.OverlaysDir, env), path.Join(source.OverlaysDir, env, component)} {
		if repo.Has(d + "/kustomization.yaml") {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// overlayFiles are the overlay files the unit's final stage reads, by
// repo-relative path: the environment's overlay (without the other
// components' folders) and the component's own.
func overlayFiles(repo *sources, t intent.Target) map[string][]byte {
	out := map[string][]byte{}
	for _, d := range overlayDirs(repo, t.Env.Name(), t.Name) {
		for rel, b := range repo.Files(d) {
			if strings.Contains(rel, "/") && d == path.Join(source.OverlaysDir, t.Env.Name()) {
				continue // another component's overlay
			}
			out[path.Join(d, rel)] = b
		}
	}
	return out
}

// stage lays out the final kustomization: the component's objects as one
// resource, the environment's overlays as kustomize Components, then the
// environment's namespace, labels and image pins.
func stage(repo *sources, t intent.Target, objs []*manifest.Object, dir string) (kustomize.Files, error) {
	files := kustomize.Files{}
	// The stage's namespace transformer puts every object in the
	// component's namespace; clearing it first means overlay patches never
	// need one, whether they target a base's, a chart's or a generated object.
	for _, o := range objs {
		o.SetNamespace("")
	}
	stream, err := manifest.EncodeJSONStream(objs)
	if err != nil {
		return nil, err
	}
	files[dir+"/objects.yaml"] = stream
	k := kustomization{
		APIVersion: "kustomize.config.k8s.io/v1beta1",
		Kind:       "Kustomization",
		Resources:  []string{"objects.yaml"},
		Namespace:  t.Component.Namespace,
		Labels: []labelSet{{
			Pairs: map[string]string{
				intent.LabelName:        t.Name,
				intent.LabelPartOf:      intent.PartOf,
				intent.LabelEnvironment: t.Env.Name(),
				intent.LabelStamp:       t.Stamp.Name,
			},
			IncludeTemplates: true,
		}},
		Images: imageChanges(t.Env, t.Component),
	}
	up := strings.Repeat("../", strings.Count(strings.Trim(dir, "/"), "/")+1)
	for _, d := range overlayDirs(repo, t.Env.Name(), t.Name) {
		k.Components = append(k.Components, up+d)
	}
	for p, b := range overlayFiles(repo, t) {
		files["/"+p] = b
	}
	kb, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	files[dir+"/kustomization.yaml"] = kb
	return files, nil
}
