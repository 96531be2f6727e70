// Package render runs the pipeline for every (environment, stamp,
// component): Helm chart or kustomize base → shaped and generated objects →
// kustomize overlay → canonical objects. Units render in parallel; results
// come back in a fixed order, so the bytes never depend on scheduling.
package render

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/argocd"
	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/frontdoor"
	"github.com/libertum/platform-gitops/generator/image"
	"github.com/libertum/platform-gitops/generator/intent"
	"github.com/libertum/platform-gitops/generator/kustomize"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/podsecurity"
	"github.com/libertum/platform-gitops/generator/quota"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Options say how to execute a plan.
type Options struct {
	// Workers is how many units render at once; <= 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is called after each unit (from one goroutine at a time).
	Progress func(done, total int, u *Unit)
	// Cache, when set, holds rendered units by the content of their inputs:
	// a unit whose inputs and tool are unchanged is restored, not rendered.
	// The plan must then carry keys (plan.Options.Keys).
	Cache *cache.Store
	// Decoded holds units another render already read back from the same
	// rendered files (a diff's other side: its Result.ReadBack): a unit
	// the plan reads back is taken from here, its objects shared, instead
	// of decoded again.
	Decoded map[layout.Unit]*Unit
	// Derived holds units derived from a whole stamp or environment
	// (Unit.Derived) that are known to be this render's already: a diff's
	// base takes the head's where the base commit's committed files of the
	// unit are the head's, byte for byte (action.Diff). They are taken
	// as they are, their objects shared, instead of built from every
	// object again.
	Derived map[layout.Unit]*Unit
	// KeepConversions keeps the typed conversions the render makes of its
	// objects (the namespaces units read every pod template) in
	// Result.Conversions, for a check of the same render to read instead
	// of converting every object again.
	KeepConversions bool
}

// Unit is one rendered unit: a planned component, or one derived from the
// whole environment (namespaces, Argo CD Applications, bootstrap).
type Unit struct {
	layout.Unit
	Objects []*manifest.Object
	Files   []layout.File
	Elapsed time.Duration
	// Cached says the unit came from the cache rather than a render.
	Cached bool
	// Reused says the unit was read back from the committed tree because
	// the plan's scope leaves it out.
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

// Derived reports whether the unit is built from the whole environment
// rather than planned: it is always rendered.
func (u *Unit) Derived() bool { return Derived(u.Unit) }

// Derived reports whether a unit of the rendered tree is one a render
// builds from a whole stamp or environment (namespaces, Argo CD's, an
// environment-wide folder) rather than plans.
func Derived(u layout.Unit) bool {
	return u.Stamp == "" || u.Component == spec.NamespacesComponent || u.Component == spec.AppsComponent
}

// Result is a whole render.
type Result struct {
	// Envs are the environments rendered, sorted.
	Envs []*spec.Environment
	// Units are sorted by environment, stamp and component.
	Units []*Unit
	// ReadBack are the units read back from rendered/, as read: before
	// the stamp stage edited any of their objects (Options.Decoded of a
	// render over the same files).
	ReadBack map[layout.Unit]*Unit
	// Conversions are the render's typed conversions of its objects
	// (Options.KeepConversions), else nil.
	Conversions *manifest.Typed
}

// Files returns every rendered file, sorted by path.
func (r *Result) Files() []layout.File {
	var out []layout.File
	for _, u := range r.Units {
		out = append(out, u.Files...)
	}
	layout.Sort(out)
	return out
}

// Size counts the render's objects and file bytes.
func (r *Result) Size() (objects, bytes int) {
	for _, u := range r.Units {
		objects += len(u.Objects)
		bytes += u.Bytes()
	}
	return objects, bytes
}

// StampObjects returns the objects one stamp of an environment renders,
// by component.
func (r *Result) StampObjects(env, stamp string) map[string][]*manifest.Object {
	out := map[string][]*manifest.Object{}
	for _, u := range r.Units {
		if u.Env == env && u.Stamp == stamp {
			out[u.Component] = append(out[u.Component], u.Objects...)
		}
	}
	return out
}

// EnvNames returns the names of the rendered environments.
func (r *Result) EnvNames() []string { return spec.Names(r.Envs) }

// Counts says how the planned units were produced.
type Counts struct {
	Total    int `json:"total"`
	Rendered int `json:"rendered"`
	Cached   int `json:"cached"`
	Reused   int `json:"reused"`
}

// Add returns the sum of two counts (of two renders: environments
// rendered apart).
func (c Counts) Add(o Counts) Counts {
	return Counts{Total: c.Total + o.Total, Rendered: c.Rendered + o.Rendered, Cached: c.Cached + o.Cached, Reused: c.Reused + o.Reused}
}

// Counts counts the planned (not derived) units by how they were produced.
func (r *Result) Counts() Counts {
	var c Counts
	for _, u := range r.Units {
		if u.Derived() {
			continue
		}
		c.Total++
		switch {
		case u.Reused:
			c.Reused++
		case u.Cached:
			c.Cached++
		default:
			c.Rendered++
		}
	}
	return c
}

// Run executes a plan in memory: units render in parallel on a bounded
// pool, the first failure or an interrupt stops handing out new ones, and
// every distinct failure of the units that ran is reported once.
func Run(ctx context.Context, p *plan.Plan, o Options) (*Result, error) {
	repo := newSources(p)
	units := make([]*Unit, len(p.Units))
	for i, pu := range p.Units {
		units[i] = &Unit{Unit: pu.Unit}
	}
	errs := make([]error, len(units))
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	var mu sync.Mutex
	done := 0
	for i := range units {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil
			}
			start := time.Now()
			errs[i] = renderOrReuse(o, repo, p.Units[i], units[i])
			units[i].Elapsed = time.Since(start)
			if o.Progress != nil {
				mu.Lock()
				done++
				o.Progress(done, len(units), units[i])
				mu.Unlock()
			}
			return errs[i]
		})
	}
	_ = g.Wait() // the errors are in errs, grouped below
	if err := groupErrors(units, errs); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	readBack := map[layout.Unit]*Unit{}
	for _, u := range units {
		if u.Reused {
			readBack[u.Unit] = &Unit{Unit: u.Unit, Objects: slices.Clone(u.Objects), Files: slices.Clone(u.Files), Reused: true}
		}
	}
	if err := stampStage(p.Envs, units); err != nil {
		return nil, err
	}
	// One conversion of each pod template for every stamp's levels and
	// quotas, and for the check when kept.
	typed := manifest.NewTyped()
	ns, err := namespacesUnits(p.Envs, units, o.Derived, typed)
	if err != nil {
		return nil, err
	}
	units = append(units, ns...)
	argo, err := argocdUnits(p.Envs, units, o.Derived)
	if err != nil {
		return nil, err
	}
	units = append(units, argo...)
	sort.SliceStable(units, func(i, j int) bool { return units[i].Unit.Less(units[j].Unit) })
	res := &Result{Envs: p.Envs, Units: units, ReadBack: readBack}
	if o.KeepConversions {
		res.Conversions = typed
	}
	return res, nil
}

func renderOrReuse(o Options, repo *sources, pu *plan.Unit, u *Unit) error {
	if len(pu.Committed) > 0 {
		if d, ok := o.Decoded[pu.Unit]; ok {
			// The objects are shared, never changed in place (Unit.edit
			// copies); the slices are this unit's own.
			u.Objects, u.Files, u.Reused = slices.Clone(d.Objects), slices.Clone(d.Files), true
			return nil
		}
		return reuseUnit(pu.Committed, u)
	}
	return renderCached(o.Cache, repo, pu, u)
}

// reuseUnit decodes a unit's committed files.
func reuseUnit(files []layout.File, u *Unit) error {
	type pair struct {
		obj  *manifest.Object
		file layout.File
	}
	var pairs []pair
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".yaml") {
			continue
		}
		p := layout.RepoPath(f.Path)
		objs, err := manifest.Decode(p, f.Data)
		if err != nil {
			return err
		}
		if len(objs) != 1 {
			return fmt.Errorf("%s: holds %d objects, a rendered file holds one", p, len(objs))
		}
		pairs = append(pairs, pair{objs[0], f})
	}
	sort.SliceStable(pairs, func(i, j int) bool { return manifest.Less(pairs[i].obj, pairs[j].obj) })
	for _, p := range pairs {
		u.Objects = append(u.Objects, p.obj)
		u.Files = append(u.Files, p.file)
	}
	u.Reused = true
	return nil
}

func renderUnit(repo *sources, pu *plan.Unit, u *Unit) error {
	kustomize.Warm()
	objs, err := build(repo, pu)
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
		where[msg] = append(where[msg], units[i].String())
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
		u.Files = append(u.Files, layout.File{Path: u.File(name), Data: b})
	}
	return nil
}

// argocdUnits renders what deploys the units: every stamp's Applications,
// every environment's AppProject and root Applications, and (behind Front
// Door) its origins document.
func argocdUnits(envs []*spec.Environment, units []*Unit, known map[layout.Unit]*Unit) ([]*Unit, error) {
	// Environments in parallel: each scans all of its objects for the
	// cluster-scoped kinds its AppProject must permit.
	out := make([][]*Unit, len(envs))
	var g errgroup.Group
	for i, e := range envs {
		g.Go(func() error {
			var err error
			out[i], err = argocdEnvUnits(e, units, known)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(out...), nil
}

// argocdEnvUnits renders what deploys one environment's units, taking
// those known already as they are.
func argocdEnvUnits(e *spec.Environment, units []*Unit, known map[layout.Unit]*Unit) ([]*Unit, error) {
	var out []*Unit
	for _, st := range e.Spec.Stamps {
		if k, ok := knownUnit(known, layout.Unit{Env: e.Name(), Stamp: st.Name, Component: spec.AppsComponent}); ok {
			out = append(out, k)
			continue
		}
		objs, err := argocd.Stamp(e, st)
		if err != nil {
			return nil, err
		}
		u := &Unit{Unit: layout.Unit{Env: e.Name(), Stamp: st.Name, Component: spec.AppsComponent}}
		if err := finish(u, objs); err != nil {
			return nil, fmt.Errorf("render %s: %w", u.Unit, err)
		}
		out = append(out, u)
	}
	boot := layout.Unit{Env: e.Name(), Component: spec.BootstrapDir}
	if k, ok := knownUnit(known, boot); ok {
		out = append(out, k)
	} else {
		var all []*manifest.Object
		for _, u := range units {
			if u.Env == e.Name() {
				all = append(all, u.Objects...)
			}
		}
		objs, err := argocd.Bootstrap(e, argocd.ClusterKinds(all))
		if err != nil {
			return nil, err
		}
		u := &Unit{Unit: boot}
		if err := finish(u, objs); err != nil {
			return nil, fmt.Errorf("render %s: %w", u.Unit, err)
		}
		out = append(out, u)
	}
	origins, err := frontdoor.Render(e)
	if err != nil {
		return nil, err
	}
	if origins != nil {
		fd := &Unit{Unit: layout.Unit{Env: e.Name(), Component: frontdoor.Dir}}
		fd.Files = []layout.File{{Path: fd.File(frontdoor.File), Data: origins}}
		out = append(out, fd)
	}
	return out, nil
}

// namespacesUnits renders every stamp's namespaces unit (namespacesUnit),
// the stamps at once: each reads every pod of its stamp. The units, and the
// first error, come in stamp order.
func namespacesUnits(envs []*spec.Environment, units []*Unit, known map[layout.Unit]*Unit, typed *manifest.Typed) ([]*Unit, error) {
	type stamp struct {
		e  *spec.Environment
		st spec.Stamp
	}
	var stamps []stamp
	for _, e := range envs {
		for _, st := range e.Spec.Stamps {
			stamps = append(stamps, stamp{e, st})
		}
	}
	out := make([]*Unit, len(stamps))
	errs := make([]error, len(stamps))
	var g errgroup.Group
	for i, s := range stamps {
		if k, ok := knownUnit(known, layout.Unit{Env: s.e.Name(), Stamp: s.st.Name, Component: spec.NamespacesComponent}); ok {
			out[i] = k
			continue
		}
		g.Go(func() error {
			out[i], errs[i] = namespacesUnit(s.e, s.st, units, typed)
			return nil
		})
	}
	_ = g.Wait() // the errors are in errs, the first in stamp order wins
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// knownUnit is a copy of the unit known as u (Options.Derived): its
// objects shared, never changed in place (Unit.edit copies), its slices
// this render's own.
func knownUnit(known map[layout.Unit]*Unit, u layout.Unit) (*Unit, bool) {
	k, ok := known[u]
	if !ok {
		return nil, false
	}
	return &Unit{Unit: u, Objects: slices.Clone(k.Objects), Files: slices.Clone(k.Files)}, true
}

// namespacesUnit renders the Namespace objects every component of the
// environment lives in, as a component of its own that syncs first. Each
// is labelled for Pod Security admission: enforced at the strictest level
// every pod the stamp runs in it passes, as Kubernetes' own admission code
// judges them (package podsecurity), audited and warned at restricted.
func namespacesUnit(e *spec.Environment, st spec.Stamp, units []*Unit, typed *manifest.Typed) (*Unit, error) {
	set := map[string]bool{}
	for _, c := range e.Spec.Components {
		set[c.Namespace] = true
	}
	inNamespace := map[string][]*manifest.Object{}
	for _, u := range units {
		if u.Env == e.Name() && u.Stamp == st.Name {
			for _, o := range u.Objects {
				inNamespace[o.GetNamespace()] = append(inNamespace[o.GetNamespace()], o)
			}
		}
	}
	version, err := podsecurity.Version(e.Spec.Cluster.KubernetesVersion)
	if err != nil {
		return nil, fmt.Errorf("render %s/%s: %w", e.Name(), st.Name, err)
	}
	var objs []*manifest.Object
	for ns := range set {
		level, _, err := podsecurity.Strictest(version, inNamespace[ns], typed)
		if err != nil {
			return nil, fmt.Errorf("render %s/%s: namespace %s: %w", e.Name(), st.Name, ns, err)
		}
		o := &manifest.Object{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "Namespace",
			"metadata": map[string]any{
				"name": ns,
				"labels": map[string]any{
					intent.LabelName:                ns,
					intent.LabelPartOf:              intent.PartOf,
					intent.LabelEnvironment:         e.Name(),
					intent.LabelStamp:               st.Name,
					podsecurity.EnforceLabel:        level,
					podsecurity.EnforceVersionLabel: version,
					podsecurity.AuditLabel:          podsecurity.Levels[0],
					podsecurity.WarnLabel:           podsecurity.Levels[0],
				},
			},
		}}
		objs = append(objs, o)
		guards, err := namespaceGuards(e, st, ns, inNamespace[ns], typed)
		if err != nil {
			return nil, err
		}
		objs = append(objs, guards...)
	}
	u := &Unit{Unit: layout.Unit{Env: e.Name(), Stamp: st.Name, Component: spec.NamespacesComponent}}
	return u, finish(u, objs)
}

// namespaceGuards are a namespace's ResourceQuota and LimitRange, both
// named after it: the quota sized by package quota
// for the most its pods run at once, and its LimitRange, which bounds a
// container at one node's allocatable and gives a container that states
// nothing (one not rendered here) small defaults. None for a namespace
// without pods.
func namespaceGuards(e *spec.Environment, st spec.Stamp, ns string, objs []*manifest.Object, typed *manifest.Typed) ([]*manifest.Object, error) {
	d, err := quota.Of(e, objs, typed)
	if err != nil {
		return nil, fmt.Errorf("render %s/%s: namespace %s: quota: %w", e.Name(), st.Name, ns, err)
	}
	if d.Pods == 0 {
		return nil, nil
	}
	labels := map[string]any{
		intent.LabelName:        ns,
		intent.LabelPartOf:      intent.PartOf,
		intent.LabelEnvironment: e.Name(),
		intent.LabelStamp:       st.Name,
	}
	hard := map[string]any{}
	for name, q := range quota.Hard(d) {
		hard[string(name)] = q.String()
	}
	alloc := e.Spec.Cluster.Node.Allocatable
	return []*manifest.Object{
		{Object: map[string]any{
			"apiVersion": "v1", "kind": "ResourceQuota",
			"metadata": map[string]any{"name": ns, "namespace": ns, "labels": labels},
			"spec":     map[string]any{"hard": hard},
		}},
		{Object: map[string]any{
			"apiVersion": "v1", "kind": "LimitRange",
			"metadata": map[string]any{"name": ns, "namespace": ns, "labels": labels},
			"spec": map[string]any{"limits": []any{map[string]any{
				"type":           "Container",
				"max":            map[string]any{"cpu": alloc.CPU, "memory": alloc.Memory},
				"defaultRequest": map[string]any{"cpu": "50m", "memory": "64Mi"},
				"default":        map[string]any{"memory": "128Mi"},
			}}},
		}},
	}, nil
}

// final is what the unit's last kustomization sets on its objects: the
// component's namespace, the platform's labels and the image pins.
func final(t intent.Target) kustomize.Final {
	return kustomize.Final{
		Namespace: t.Component.Namespace,
		Labels: map[string]string{
			intent.LabelName:        t.Name,
			intent.LabelPartOf:      intent.PartOf,
			intent.LabelEnvironment: t.Env.Name(),
			intent.LabelStamp:       t.Stamp.Name,
		},
		Images: imageChanges(t.Env, t.Component),
	}
}

// imageChanges points every pinned image at the environment's registry.
func imageChanges(e *spec.Environment, c spec.Component) []types.Image {
	var out []types.Image
	for _, im := range c.Images {
		// The environment file's names are validated (spec): they parse.
		name, _ := image.InRegistry(e.Spec.Registry, im.Name)
		out = append(out, types.Image{Name: im.Name, NewName: name, NewTag: im.Version(), Digest: im.Digest()})
	}
	return out
}

// stage lays out the final kustomization: the component's objects as one
// resource, the environment's overlays as kustomize Components, then the
// environment's namespace, labels and image pins.
func stage(repo *sources, pu *plan.Unit, objs []*manifest.Object, dir string) (kustomize.Files, error) {
	files := kustomize.Files{}
	stream, err := manifest.EncodeJSONStream(objs)
	if err != nil {
		return nil, err
	}
	files[dir+"/objects.yaml"] = stream
	k := final(pu.Target).Kustomization("objects.yaml")
	up := strings.Repeat("../", strings.Count(strings.Trim(dir, "/"), "/")+1)
	for _, d := range pu.Overlays {
		k.Components = append(k.Components, up+d)
	}
	for p, b := range repo.plan.OverlayFiles(pu) {
		files["/"+p] = b
	}
	kb, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	files[dir+"/kustomization.yaml"] = kb
	return files, nil
}
