package render

import (
	"errors"
	"fmt"
	"path"
	"sync"

	"github.com/libertum/platform-gitops/generator/exact"
	"github.com/libertum/platform-gitops/generator/image"
	"github.com/libertum/platform-gitops/generator/intent"
	"github.com/libertum/platform-gitops/generator/kustomize"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/source"
	"github.com/libertum/platform-gitops/generator/spec"
)

// build runs one unit through the pipeline: source → shape → generate →
// overlay → canonical objects.
func build(repo *sources, pu *plan.Unit) ([]*manifest.Object, error) {
	t := pu.Target
	objs, gen, err := shaped(repo, pu)
	if err != nil {
		return nil, err
	}
	objs = append(objs, gen...)
	unsetNamespaces(objs)
	out, err := finalStage(repo, pu, objs, !exact.On() && len(pu.Overlays) == 0 && kustomize.CanApply(objs))
	if err != nil {
		return nil, err
	}
	if err := checkImagesUsed(t, out); err != nil {
		return nil, err
	}
	return out, nil
}

// unsetNamespaces clears the objects' namespaces before the final stage,
// whose namespace transformer puts every object in the component's
// namespace: overlay patches then never need one, whether they target a
// base's, a chart's or a generated object.
func unsetNamespaces(objs []*manifest.Object) {
	for _, o := range objs {
		o.SetNamespace("")
	}
}

// finalStage runs the unit's last kustomization over objs: a build of the
// staged kustomization, or, when direct (nothing of the environment's to
// apply, nothing a build would rewrite), kustomize's transformers on the
// objects as they are.
func finalStage(repo *sources, pu *plan.Unit, objs []*manifest.Object, direct bool) ([]*manifest.Object, error) {
	if direct {
		return kustomize.Apply(objs, final(pu.Target))
	}
	dir := "/" + path.Join("render", pu.Target.Env.Name(), pu.Target.Name)
	files, err := stage(repo, pu, objs, dir)
	if err != nil {
		return nil, err
	}
	return kustomize.Build(files, dir)
}

// shaped renders the component's base and applies the spec to it: the
// base's objects, shaped, and the objects generated beside them.
func shaped(repo *sources, pu *plan.Unit) (objs, gen []*manifest.Object, err error) {
	t := pu.Target
	if objs, err = sourceObjects(repo, pu); err != nil {
		return nil, nil, err
	}
	if gen, err = intent.ShapeAndGenerate(t, objs); err != nil {
		return nil, nil, err
	}
	return objs, gen, nil
}

// sourceObjects renders the component's base with its kind's engine.
func sourceObjects(repo *sources, pu *plan.Unit) ([]*manifest.Object, error) {
	k, ok := kinds[pu.Kind]
	if !ok {
		t := pu.Target
		return nil, fmt.Errorf("%s: base %s has neither Chart.yaml nor kustomization.yaml", t.Env.Where("spec", "components", t.Name), pu.Base)
	}
	return k.objects(repo, pu)
}

// chartValues are the values a chart sees: the environment's own values for
// the component, plus what the generator knows about where it runs.
func chartValues(t intent.Target) map[string]any {
	vals := map[string]any{}
	for k, v := range t.Component.Values {
		vals[k] = v
	}
	vals["external"] = t.Component.External != nil
	vals["environment"] = t.Env.Name()
	vals["stamp"] = map[string]any{"name": t.Stamp.Name, "region": t.Stamp.Region}
	reg := t.Env.Spec.Regions[t.Stamp.Region]
	vals["region"] = map[string]any{"name": t.Stamp.Region, "logStorage": reg.LogStorage, "metricsWrite": reg.MetricsWrite}
	vals["tenantID"] = t.Env.Spec.TenantID
	if n, ok := t.Replicas(); ok {
		vals["replicas"] = int64(n)
	}
	if f := t.Env.Spec.FrontDoor; f != nil && t.Component.Tier == spec.TierPublic {
		cidrs := make([]any, len(f.BackendCIDRs))
		for i, c := range f.BackendCIDRs {
			cidrs[i] = c
		}
		fd := map[string]any{"id": f.ID, "backendCIDRs": cidrs, "probePath": f.ProbePath}
		if h := t.Env.ProbeHost(t.Stamp); h != "" {
			fd["probeHost"] = h
		}
		vals["frontDoor"] = fd
	}
	if in := t.Component.Ingress; in != nil {
		// Where people reach it: sign-in redirects come back here.
		vals["rootURL"] = "https://" + in.StampHost(t.Stamp) + "/"
	}
	if si := t.Component.SignIn; si != nil {
		groups := make([]any, len(si.Groups))
		for i, g := range si.Groups {
			groups[i] = g
		}
		vals["signIn"] = map[string]any{"clientID": si.ClientID, "groups": groups}
	}
	if t.Component.Dashboards && reg.DashboardsDatabase != "" {
		ep, _ := reg.Endpoint(spec.Postgres)
		vals["database"] = map[string]any{"host": reg.DashboardsDatabaseHost(), "port": int64(ep.TCPPort()), "name": spec.DashboardsDatabaseName(t.Stamp)}
	}
	if c := t.Stamp.Certificate; c != nil && t.Component.TerminatesTLS {
		// The Secret the component's own SecretProviderClass syncs the
		// stamp's certificate into, in its namespace.
		vals["defaultCertificate"] = c.Name
	}
	if a := t.Env.Spec.Alerting; a != nil && t.Component.ScrapesMetrics {
		am := t.Env.Spec.Components[a.Alertmanager]
		vals["alerting"] = map[string]any{"alertmanager": a.Alertmanager + "-headless." + am.Namespace + ".svc.cluster.local"}
	}
	return vals
}

// checkImagesUsed rejects an image pin that matches no container: a typo
// there would silently leave the upstream image in place.
func checkImagesUsed(t intent.Target, objs []*manifest.Object) error {
	used := map[string]bool{}
	for _, o := range objs {
		for _, img := range ContainerImages(o.Object) {
			if r, err := image.Parse(img); err == nil {
				used[r.Repository()] = true
			}
		}
	}
	var errs []error
	for i, im := range t.Component.Images {
		if ref, err := image.InRegistry(t.Env.Spec.Registry, im.Name); err != nil || !used[ref] {
			errs = append(errs, t.Env.Errorf([]string{"spec", "components", t.Name, "images", fmt.Sprint(i), "name"},
				"component %s: image %s is pinned but no container of the component uses it", t.Name, im.Name))
		}
	}
	return errors.Join(errs...)
}

// sources are the plan's component sources plus what one run has already
// computed from them: a kustomize base's output depends on nothing but its
// files, so every stamp and environment built from it shares one build; a
// chart's templates are checked for nondeterminism once.
type sources struct {
	*source.Repo
	plan   *plan.Plan
	bases  onceMap[string, []*manifest.Object]
	charts onceMap[string, struct{}] // charts checked for nondeterministic functions
}

func newSources(p *plan.Plan) *sources { return &sources{Repo: p.Sources, plan: p} }

// onceMap computes a value per key at most once, however many goroutines
// ask for it at the same time.
type onceMap[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*onceValue[V]
}

type onceValue[V any] struct {
	once sync.Once
	v    V
	err  error
}

func (o *onceMap[K, V]) get(k K, compute func() (V, error)) (V, error) {
	o.mu.Lock()
	if o.m == nil {
		o.m = map[K]*onceValue[V]{}
	}
	e, ok := o.m[k]
	if !ok {
		e = &onceValue[V]{}
		o.m[k] = e
	}
	o.mu.Unlock()
	e.once.Do(func() { e.v, e.err = compute() })
	return e.v, e.err
}

// kustomizeBase builds the kustomize base in dir once per run and hands
// every caller its own deep copy (shaping mutates objects).
func (s *sources) kustomizeBase(dir string) ([]*manifest.Object, error) {
	objs, err := s.bases.get(dir, func() ([]*manifest.Object, error) {
		files := kustomize.Files{}
		for rel, data := range s.Files(dir) {
			files["/"+path.Join(dir, rel)] = data
		}
		return kustomize.Build(files, "/"+dir)
	})
	if err != nil {
		return nil, err
	}
	out := make([]*manifest.Object, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
	}
	return out, nil
}
