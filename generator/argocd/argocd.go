// Package argocd builds the Argo CD objects that deploy the rendered tree,
// from argo-cd's own v1alpha1 types: one Application per (environment,
// stamp, component), one root app-of-apps Application per stamp, and one
// AppProject per environment that fences what those Applications may touch.
package argocd

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/libertum/platform-gitops/generator/intent"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/spec"
)

// InCluster is the API server URL Argo CD uses for the cluster it runs in.
const InCluster = "https://kubernetes.default.svc"

// Sync waves of what the generator renders itself; components take theirs
// from the spec.
const (
	NamespacesWave = -10
	waveAnnotation = "argocd.argoproj.io/sync-wave"
	// finalizer deletes an Application's resources, foreground, when the
	// Application goes (the path-qualified form the API server prefers).
	finalizer = argov1.ForegroundPropagationPolicyFinalizer
)

// Stamp returns the Applications of one stamp: the generated namespaces
// and every component, each reading its rendered folder.
func Stamp(e *spec.Environment, st spec.Stamp) ([]*manifest.Object, error) {
	var out []*manifest.Object
	ns, err := encode(app(e, st, spec.NamespacesComponent, "", NamespacesWave))
	if err != nil {
		return nil, err
	}
	out = append(out, ns)
	for _, name := range e.ComponentNames() {
		c := e.Spec.Components[name]
		o, err := encode(app(e, st, name, c.Namespace, c.SyncWave))
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// AppName is the Application name of a component in a stamp.
func AppName(env, stamp, component string) string {
	return env + "-" + stamp + "-" + component
}

func labels(e *spec.Environment, stamp, name string) map[string]string {
	l := map[string]string{
		intent.LabelName:        name,
		intent.LabelPartOf:      intent.PartOf,
		intent.LabelEnvironment: e.Name(),
	}
	if stamp != "" {
		l[intent.LabelStamp] = stamp
	}
	return l
}

func syncPolicy(e *spec.Environment) *argov1.SyncPolicy {
	s := e.Spec.ArgoCD.Sync
	factor := int64(2)
	p := &argov1.SyncPolicy{
		SyncOptions: argov1.SyncOptions{"CreateNamespace=true", "PruneLast=true"},
		Retry: &argov1.RetryStrategy{
			Limit:   5,
			Backoff: &argov1.Backoff{Duration: "10s", Factor: &factor, MaxDuration: "3m"},
		},
	}
	if s.Automated {
		p.Automated = &argov1.SyncPolicyAutomated{Prune: s.Prune, SelfHeal: s.SelfHeal}
	}
	return p
}

func app(e *spec.Environment, st spec.Stamp, component, namespace string, wave int) *argov1.Application {
	a := application(e, AppName(e.Name(), st.Name, component), labels(e, st.Name, component), e.StampRef(st.Name),
		path.Join(e.Name(), st.Name, component), argov1.ApplicationDestination{Server: st.Server, Namespace: namespace})
	a.Annotations = map[string]string{waveAnnotation: strconv.Itoa(wave)}
	return a
}

// application is an Application of the environment's project that syncs
// one folder of a rendered branch (revision: the stamp's own, see
// spec.StampRef) to dest.
func application(e *spec.Environment, name string, labels map[string]string, revision, folder string, dest argov1.ApplicationDestination) *argov1.Application {
	return &argov1.Application{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{
			Name:       name,
			Namespace:  e.Spec.ArgoCD.Namespace,
			Labels:     labels,
			Finalizers: []string{finalizer},
		},
		Spec: argov1.ApplicationSpec{
			Project: e.Name(),
			Source: &argov1.ApplicationSource{
				RepoURL:        e.Spec.RepoURL,
				TargetRevision: revision,
				Path:           folder,
				Directory:      &argov1.ApplicationSourceDirectory{Include: "*.yaml"},
			},
			Destination: dest,
			SyncPolicy:  syncPolicy(e),
		},
	}
}

// Bootstrap returns an environment's AppProject and one root
// app-of-apps Application per stamp. clusterKinds are the cluster-scoped
// kinds the environment renders: the only ones its project may create.
func Bootstrap(e *spec.Environment, clusterKinds []metav1.GroupKind) ([]*manifest.Object, error) {
	var out []*manifest.Object
	proj, err := encode(project(e, clusterKinds))
	if err != nil {
		return nil, err
	}
	out = append(out, proj)
	for _, st := range e.Spec.Stamps {
		root := application(e, e.Name()+"-"+st.Name, labels(e, st.Name, spec.AppsComponent), e.StampRef(st.Name),
			path.Join(e.Name(), st.Name, spec.AppsComponent), argov1.ApplicationDestination{Server: InCluster, Namespace: e.Spec.ArgoCD.Namespace})
		o, err := encode(root)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func project(e *spec.Environment, clusterKinds []metav1.GroupKind) *argov1.AppProject {
	namespaces := map[string]bool{}
	for _, c := range e.Spec.Components {
		namespaces[c.Namespace] = true
	}
	nsList := make([]string, 0, len(namespaces))
	for ns := range namespaces {
		nsList = append(nsList, ns)
	}
	sort.Strings(nsList)
	dests := []argov1.ApplicationDestination{{Server: InCluster, Namespace: e.Spec.ArgoCD.Namespace}}
	for _, st := range e.Spec.Stamps {
		for _, ns := range nsList {
			dests = append(dests, argov1.ApplicationDestination{Server: st.Server, Namespace: ns})
		}
		// The namespaces Application creates Namespaces, which have none.
		dests = append(dests, argov1.ApplicationDestination{Server: st.Server, Namespace: ""})
	}
	kinds := append([]metav1.GroupKind(nil), clusterKinds...)
	sort.Slice(kinds, func(i, j int) bool {
		if kinds[i].Group != kinds[j].Group {
			return kinds[i].Group < kinds[j].Group
		}
		return kinds[i].Kind < kinds[j].Kind
	})
	return &argov1.AppProject{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "AppProject"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      e.Name(),
			Namespace: e.Spec.ArgoCD.Namespace,
			Labels:    labels(e, "", spec.AppsComponent),
		},
		Spec: argov1.AppProjectSpec{
			Description:              fmt.Sprintf("Libertum platform, %s: the rendered branch of %s, deployed to the environment's stamps only", e.Name(), e.Spec.RepoURL),
			SourceRepos:              []string{e.Spec.RepoURL},
			Destinations:             dests,
			ClusterResourceWhitelist: kinds,
			// Argo CD syncs only commits signed with these keys
			// (publish and rollout sign every commit they create).
			SignatureKeys: signatureKeys(e),
			// ResourceQuota and LimitRange are permitted: the namespaces
			// Application syncs the ones the render sizes (package quota),
			// and resources.quota-size judges any quota against the pods
			// of its namespace.
		},
	}
}

func signatureKeys(e *spec.Environment) []argov1.SignatureKey {
	var out []argov1.SignatureKey
	for _, k := range e.Spec.ArgoCD.SignatureKeys {
		out = append(out, argov1.SignatureKey{KeyID: k})
	}
	return out
}

// ClusterKinds returns the distinct group/kinds of cluster-scoped objects.
func ClusterKinds(objs []*manifest.Object) []metav1.GroupKind {
	seen := map[metav1.GroupKind]bool{}
	var out []metav1.GroupKind
	for _, o := range objs {
		if o.GetNamespace() != "" {
			continue
		}
		gk := metav1.GroupKind{Group: o.GroupVersionKind().Group, Kind: o.GetKind()}
		if !seen[gk] {
			seen[gk] = true
			out = append(out, gk)
		}
	}
	return out
}

// encode turns an argo-cd object into a manifest object, dropping the
// empty status and jsonnet stubs its types always marshal.
func encode(v any) (*manifest.Object, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode Argo CD object: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode Argo CD object: %w", err)
	}
	delete(m, "status")
	if spec, ok := m["spec"].(map[string]any); ok {
		if src, ok := spec["source"].(map[string]any); ok {
			if dir, ok := src["directory"].(map[string]any); ok {
				if j, ok := dir["jsonnet"].(map[string]any); ok && len(j) == 0 {
					delete(dir, "jsonnet")
				}
			}
		}
	}
	// Decoded from JSON, m is already what Normalize would make of it.
	return &manifest.Object{Object: m}, nil
}
