// Package validate has a real Kubernetes API server judge rendered
// objects: namespaces and CRDs are created first (CRDs until Established),
// then every other object is sent as a server-side dry run with strict field
// validation, concurrently over a bounded pool. Meant for a throwaway API
// server (make e2e), since the first phase creates objects for real.
package validate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
)

// Input is one object to validate and where it was rendered.
type Input struct {
	layout.Unit
	File   string
	Object *manifest.Object
}

// Rejection is an object the API server refused.
type Rejection struct {
	File string `json:"file"`
	layout.Unit
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Message   string `json:"message"`
}

func (r Rejection) String() string {
	id := r.Kind + " " + r.Name
	if r.Namespace != "" {
		id = r.Kind + " " + r.Namespace + "/" + r.Name
	}
	return fmt.Sprintf("rejected %s (%s): %s", r.File, id, r.Message)
}

// Result is the outcome of a validation.
type Result struct {
	ServerVersion string      `json:"serverVersion"`
	Checked       int         `json:"checked"`
	Rejected      []Rejection `json:"rejected"`
	// Warnings are the distinct warnings the server returned, with counts.
	Warnings map[string]int `json:"warnings,omitempty"`
	Elapsed  time.Duration  `json:"elapsed"`
}

// warnings collects the server's warning headers instead of logging each.
type warnings struct {
	mu   sync.Mutex
	seen map[string]int
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	w.seen[text]++
	w.mu.Unlock()
}

// Config loads a kubeconfig, raising client-side rate limits: the pool,
// not the client, bounds the load.
func Config(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	return cfg, nil
}

var (
	crdGVR       = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// Run validates inputs against the server. crds are created with the
// inputs' own CRDs before anything else.
func Run(ctx context.Context, cfg *rest.Config, crds []*manifest.Object, inputs []Input, workers int) (*Result, error) {
	start := time.Now()
	warned := &warnings{seen: map[string]int{}}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = warned
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	version, err := disc.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("reach the API server: %w", err)
	}
	res := &Result{ServerVersion: version.GitVersion}

	// Phase 1: CRDs and namespaces, for real.
	var others []Input
	crdObjs := append([]*manifest.Object(nil), crds...)
	namespaces := map[string]*manifest.Object{}
	for _, in := range inputs {
		switch in.Object.GetKind() {
		case "CustomResourceDefinition":
			crdObjs = append(crdObjs, in.Object)
			res.Checked++
		case "Namespace":
			namespaces[in.Object.GetName()] = in.Object
			res.Checked++
		default:
			others = append(others, in)
			if ns := in.Object.GetNamespace(); ns != "" && namespaces[ns] == nil {
				namespaces[ns] = nil
			}
		}
	}
	for _, c := range crdObjs {
		if err := Create(ctx, dyn.Resource(crdGVR), c); err != nil {
			return nil, fmt.Errorf("create CRD %s: %w", c.GetName(), err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(namespaces)) {
		obj := namespaces[name]
		if obj == nil {
			obj = &manifest.Object{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
		}
		if err := Create(ctx, dyn.Resource(namespaceGVR), obj); err != nil {
			return nil, fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	for _, c := range crdObjs {
		if err := WaitEstablished(ctx, dyn, c.GetName()); err != nil {
			return nil, err
		}
	}
	groups, err := restmapper.GetAPIGroupResources(disc)
	if err != nil {
		return nil, fmt.Errorf("discover API resources: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)

	// Phase 2: dry-run everything else.
	if workers <= 0 {
		workers = 8
	}
	rejected := make([]*Rejection, len(others))
	var g errgroup.Group
	g.SetLimit(workers)
	for i := range others {
		if ctx.Err() != nil {
			break // an interrupt stops handing out objects
		}
		g.Go(func() error {
			rejected[i] = dryRun(ctx, dyn, mapper, others[i])
			return nil
		})
	}
	_ = g.Wait() // a rejection is a result, not an error
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Checked += len(others)
	for _, r := range rejected {
		if r != nil {
			res.Rejected = append(res.Rejected, *r)
		}
	}
	sort.Slice(res.Rejected, func(i, j int) bool { return res.Rejected[i].File < res.Rejected[j].File })
	if len(warned.seen) > 0 {
		res.Warnings = warned.seen
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// CRDResource is the API resource of CustomResourceDefinitions.
var CRDResource = crdGVR

// Create creates o for real (strict field validation); an object that
// exists already is left as it is.
func Create(ctx context.Context, r dynamic.ResourceInterface, o *manifest.Object) error {
	_, err := r.Create(ctx, o.DeepCopy(), metav1.CreateOptions{FieldValidation: "Strict"})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// WaitEstablished polls until the server serves the CRD: right after its
// creation it has no status yet.
func WaitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		crd, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not Established: %w", name, errors.Join(ctx.Err(), err))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func dryRun(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, in Input) *Rejection {
	o := in.Object
	reject := func(msg string) *Rejection {
		return &Rejection{File: in.File, Unit: in.Unit, Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Message: msg}
	}
	r, err := Resource(dyn, mapper, o)
	if err != nil {
		return reject(err.Error())
	}
	_, err = r.Create(ctx, o.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	if err != nil {
		return reject(err.Error())
	}
	return nil
}

// Resource is the dynamic client for o's kind, in o's namespace where the
// kind is namespaced.
func Resource(dyn dynamic.Interface, mapper meta.RESTMapper, o *manifest.Object) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("the server does not serve %s: %v", gvk, err)
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return dyn.Resource(mapping.Resource).Namespace(o.GetNamespace()), nil
	}
	return dyn.Resource(mapping.Resource), nil
}

// LoadCRDs decodes the CRD manifests of the platform (crds/, path to content).
func LoadCRDs(files map[string][]byte) ([]*manifest.Object, error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []*manifest.Object
	for _, p := range paths {
		objs, err := manifest.Decode(p, files[p])
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}
