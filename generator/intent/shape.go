// Package intent turns what an environment declares into Kubernetes objects:
// it shapes the workloads a base or chart produces (resources, replicas, zone
// spread and affinity, Key Vault volumes) and generates the objects no
// environment should hand-copy (HPA, PodDisruptionBudget, NetworkPolicies,
// Ingress, SecretProviderClass, and selector-less Services with
// EndpointSlices for components that run outside the cluster).
package intent

import (
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Label keys every rendered object carries.
const (
	LabelName        = "app.kubernetes.io/name"
	LabelPartOf      = "app.kubernetes.io/part-of"
	LabelEnvironment = "libertum.io/environment"
	LabelStamp       = "libertum.io/stamp"
	PartOf           = "libertum"
	zoneKey          = "topology.kubernetes.io/zone"
	secretsVolume    = "secrets-store"
	secretsMountPath = "/mnt/secrets-store"
)

// Target is one component of one stamp of one environment.
type Target struct {
	Env       *spec.Environment
	Stamp     spec.Stamp
	Name      string
	Component spec.Component
}

// where locates a component field in the environment file.
func (t Target) where(field ...string) string {
	return t.Env.Where(append([]string{"spec", "components", t.Name}, field...)...)
}

// Zones returns the zone label values of the stamp's region, e.g.
// westeurope-1; empty for single-zone environments.
func (t Target) Zones() []string {
	out := make([]string, 0, len(t.Env.Spec.Cluster.Zones))
	for _, z := range t.Env.Spec.Cluster.Zones {
		out = append(out, t.Stamp.Region+"-"+z)
	}
	return out
}

// Replicas returns the replica count the component's main workload runs
// with (the HPA minimum when it scales), and whether the spec sets one.
func (t Target) Replicas() (int32, bool) {
	return t.Env.MinReplicas(t.Component, t.Stamp)
}

// workload is a typed pod-bearing object and the pod spec inside it.
type workload struct {
	src      *manifest.Object // the object decoded (and, once shaped, encoded back)
	obj      runtime.Object
	meta     *metav1.ObjectMeta
	pod      *corev1.PodTemplateSpec
	replicas **int32 // nil for kinds without replicas
	selector *metav1.LabelSelector
	kind     string
}

func decodeWorkload(o *manifest.Object) (*workload, error) {
	w := workload{src: o}
	w.kind = o.GetKind()
	switch w.kind {
	case "Deployment":
		d := &appsv1.Deployment{}
		w.obj, w.meta, w.pod, w.replicas = d, &d.ObjectMeta, &d.Spec.Template, &d.Spec.Replicas
	case "StatefulSet":
		s := &appsv1.StatefulSet{}
		w.obj, w.meta, w.pod, w.replicas = s, &s.ObjectMeta, &s.Spec.Template, &s.Spec.Replicas
	case "DaemonSet":
		d := &appsv1.DaemonSet{}
		w.obj, w.meta, w.pod = d, &d.ObjectMeta, &d.Spec.Template
	case "CronJob":
		c := &batchv1.CronJob{}
		w.obj, w.meta, w.pod = c, &c.ObjectMeta, &c.Spec.JobTemplate.Spec.Template
	case "Job":
		j := &batchv1.Job{}
		w.obj, w.meta, w.pod = j, &j.ObjectMeta, &j.Spec.Template
	default:
		return nil, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, w.obj, true); err != nil {
		return nil, fmt.Errorf("%s: %w", manifest.IDOf(o), err)
	}
	// Selectors are pointers filled in by decoding.
	switch t := w.obj.(type) {
	case *appsv1.Deployment:
		w.selector = t.Spec.Selector
	case *appsv1.StatefulSet:
		w.selector = t.Spec.Selector
	case *appsv1.DaemonSet:
		w.selector = t.Spec.Selector
	}
	return &w, nil
}

func (w *workload) encode(o *manifest.Object) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(w.obj)
	if err != nil {
		return fmt.Errorf("%s: %w", manifest.IDOf(o), err)
	}
	o.Object = m
	return nil
}

// shape applies the component's declared intent to the workloads its base
// or chart produced, in place: the main workload and container carry the
// component's name; the spec's resources and replicas apply to them. It
// returns the workloads as shaped: what decoding the shaped objects again
// gives.
func shape(t Target, objs []*manifest.Object) ([]*workload, error) {
	foundMain := false
	var ws []*workload
	for _, o := range objs {
		w, err := decodeWorkload(o)
		if err != nil {
			return nil, err
		}
		if w == nil {
			continue
		}
		main := w.meta.Name == t.Name && w.kind != "CronJob" && w.kind != "Job"
		if main {
			foundMain = true
			if err := t.shapeMain(w); err != nil {
				return nil, err
			}
		}
		if w.kind == "Deployment" || w.kind == "StatefulSet" {
			t.spreadOverZones(w)
			spreadOverNodes(w)
		}
		t.labelPods(w)
		t.serviceAccount(w)
		t.mountSecrets(w)
		if err := w.encode(o); err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	if !foundMain && t.Component.External == nil {
		return nil, fmt.Errorf("%s: base %s renders no Deployment, StatefulSet or DaemonSet named %q (the main workload carries the component's name)",
			t.where(), t.Component.BaseDir(t.Name), t.Name)
	}
	return ws, nil
}

func (t Target) shapeMain(w *workload) error {
	switch {
	case w.replicas == nil:
	case t.Component.Scaling != nil:
		// The HPA owns the count: a rendered replicas would be reset by
		// every sync (self-heal, or prod's manual sync) to the minimum.
		*w.replicas = nil
	default:
		if n, ok := t.Replicas(); ok {
			*w.replicas = &n
		}
	}
	i := slices.IndexFunc(w.pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == t.Name })
	if i < 0 {
		return fmt.Errorf("%s: %s %s has no container named %q to apply the component's resources to",
			t.where("resources"), w.kind, w.meta.Name, t.Name)
	}
	res, err := t.resources()
	if err != nil {
		return err
	}
	// CPU and memory are the spec's; what else the base asks for (the
	// ephemeral storage its emptyDirs need) stays.
	base := w.pod.Spec.Containers[i].Resources
	for _, from := range []struct{ base, spec corev1.ResourceList }{{base.Requests, res.Requests}, {base.Limits, res.Limits}} {
		for name, q := range from.base {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				from.spec[name] = q
			}
		}
	}
	w.pod.Spec.Containers[i].Resources = res
	return nil
}

func (t Target) resources() (corev1.ResourceRequirements, error) {
	r := t.Component.Resources
	out := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	set := func(l corev1.ResourceList, name corev1.ResourceName, v string, field ...string) error {
		if v == "" {
			return nil
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return fmt.Errorf("%s: %w", t.where(field...), err)
		}
		l[name] = q
		return nil
	}
	for _, e := range []error{
		set(out.Requests, corev1.ResourceCPU, r.Requests.CPU, "resources", "requests", "cpu"),
		set(out.Requests, corev1.ResourceMemory, r.Requests.Memory, "resources", "requests", "memory"),
		set(out.Limits, corev1.ResourceCPU, r.Limits.CPU, "resources", "limits", "cpu"),
		set(out.Limits, corev1.ResourceMemory, r.Limits.Memory, "resources", "limits", "memory"),
	} {
		if e != nil {
			return out, e
		}
	}
	return out, nil
}

// spreadOverZones adds a zone topology spread constraint and a node
// affinity limited to the environment's zones, in environments with zones.
func (t Target) spreadOverZones(w *workload) {
	zones := t.Zones()
	if len(zones) == 0 || w.selector == nil {
		return
	}
	ps := &w.pod.Spec
	has := slices.ContainsFunc(ps.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool { return c.TopologyKey == zoneKey })
	if !has {
		ps.TopologySpreadConstraints = append(ps.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew:           1,
			TopologyKey:       zoneKey,
			WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector:     w.selector.DeepCopy(),
		})
	}
	if ps.Affinity == nil {
		ps.Affinity = &corev1.Affinity{}
	}
	if ps.Affinity.NodeAffinity == nil {
		ps.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := ps.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	req := na.RequiredDuringSchedulingIgnoredDuringExecution
	zoneTerm := corev1.NodeSelectorRequirement{Key: zoneKey, Operator: corev1.NodeSelectorOpIn, Values: zones}
	if len(req.NodeSelectorTerms) == 0 {
		req.NodeSelectorTerms = []corev1.NodeSelectorTerm{{}}
	}
	// Terms are ORed: every term must carry the zone restriction.
	for i := range req.NodeSelectorTerms {
		term := &req.NodeSelectorTerms[i]
		if !slices.ContainsFunc(term.MatchExpressions, func(r corev1.NodeSelectorRequirement) bool { return r.Key == zoneKey }) {
			term.MatchExpressions = append(term.MatchExpressions, zoneTerm)
		}
	}
}

// nodeKey is the label every node carries with its name.
const nodeKey = "kubernetes.io/hostname"

// spreadOverNodes keeps a workload's pods on different nodes where it can
// (a node's loss takes one replica, not several): a hostname spread
// constraint, soft (ScheduleAnyway) so that a stamp at its HPA maximum with
// more pods than nodes still schedules them. Kubernetes' pod topology
// spread constraints; the zone constraint stays hard.
func spreadOverNodes(w *workload) {
	if w.selector == nil {
		return
	}
	ps := &w.pod.Spec
	if slices.ContainsFunc(ps.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool { return c.TopologyKey == nodeKey }) {
		return
	}
	ps.TopologySpreadConstraints = append(ps.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
		MaxSkew:           1,
		TopologyKey:       nodeKey,
		WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector:     w.selector.DeepCopy(),
	})
}

// labelPods makes every pod of the component carry its name, so its
// NetworkPolicies select it, and a job's pods the job's name, so they are
// told apart from the main pods.
func (t Target) labelPods(w *workload) {
	if w.pod.Labels == nil {
		w.pod.Labels = map[string]string{}
	}
	if _, ok := w.pod.Labels[LabelName]; !ok {
		w.pod.Labels[LabelName] = t.Name
	}
	if w.kind == "CronJob" || w.kind == "Job" {
		w.pod.Labels[flow.LabelJob] = w.meta.Name
	}
}

// mountSecrets mounts the component's SecretProviderClass read-only into
// every container of the workload, init containers included.
func (t Target) mountSecrets(w *workload) {
	if len(t.Component.KeyVaultObjects(t.Stamp)) == 0 {
		return
	}
	ps := &w.pod.Spec
	if slices.ContainsFunc(ps.Volumes, func(v corev1.Volume) bool { return v.Name == secretsVolume }) {
		return
	}
	readOnly := true
	ps.Volumes = append(ps.Volumes, corev1.Volume{
		Name: secretsVolume,
		VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{
			Driver:           "secrets-store.csi.k8s.io",
			ReadOnly:         &readOnly,
			VolumeAttributes: map[string]string{"secretProviderClass": t.secretProviderClassName()},
		}},
	})
	for _, cs := range [][]corev1.Container{ps.InitContainers, ps.Containers} {
		for i := range cs {
			cs[i].VolumeMounts = append(cs[i].VolumeMounts,
				corev1.VolumeMount{Name: secretsVolume, MountPath: secretsMountPath, ReadOnly: true})
		}
	}
}
