package kustomize

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/filters/namespace"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// Final is what a kustomization with no patches or components sets on
// every object it is given: a namespace, labels on metadata and pod
// templates (a labels entry with includeTemplates), and image pins.
type Final struct {
	Namespace string
	Labels    map[string]string
	Images    []types.Image
}

// Kustomization is the kustomization.yaml that states f over the resources
// in files: what Apply does without a build, and what Build does with one.
func (f Final) Kustomization(resources ...string) types.Kustomization {
	return types.Kustomization{
		TypeMeta:  types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
		Resources: resources,
		Namespace: f.Namespace,
		Labels:    []types.Label{{Pairs: f.Labels, IncludeTemplates: true}},
		Images:    f.Images,
	}
}

// Apply sets f on objs with kustomize's own builtin transformers, in the
// order a kustomization runs them (namespace, labels, images), then drops
// local-config objects as a build does. When CanApply(objs), it gives the
// objects Build gives for f.Kustomization over objs written as a stream
// (manifest.EncodeJSONStream), without what makes a build expensive for one
// small kustomization: staging files, parsing them back, and configuring
// every builtin plugin through a YAML round trip of kustomize's default
// field specs.
//
// Objects of the kinds a build only gives a namespace and metadata labels
// (labelledKinds: services, autoscalers, network policies, ...) take those
// directly, without kyaml's nodes: the label transformer parses every
// value it sets with a YAML parser of its own, and these kinds were most
// of a large render's objects and most of its kustomize time. The
// objects still come out in the order given, and two objects with one ID
// are refused as in a build.
//
// objs are not modified.
func Apply(objs []*manifest.Object, f Final) ([]*manifest.Object, error) {
	out := make([]*manifest.Object, len(objs))
	var transformed []int
	p := pinning{images: f.Images, key: fmt.Sprintf("%+v", f.Images)}
	for i, o := range objs {
		var c *manifest.Object
		var err error
		switch {
		case labelledOnly(o, f):
			c, err = applyDirect(o, f, workload{}, p)
		case podTemplated(o):
			c, err = applyDirect(o, f, templated[[2]string{o.GetAPIVersion(), o.GetKind()}], p)
		default:
			transformed = append(transformed, i)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kustomize: %s: %w", manifest.IDOf(o), err)
		}
		out[i] = c
	}
	if len(transformed) > 0 {
		picked := make([]*manifest.Object, len(transformed))
		for j, i := range transformed {
			picked[j] = objs[i]
		}
		res, err := transform(picked, f)
		if err != nil {
			return nil, err
		}
		for j, i := range transformed {
			out[i] = res[j]
		}
		if len(transformed) < len(objs) {
			if err := uniqueIDs(out); err != nil {
				return nil, err
			}
		}
	}
	return slices.DeleteFunc(out, func(o *manifest.Object) bool { return o == nil }), nil
}

// labelledKinds are namespaced kinds a kustomization's namespace, labels
// with includeTemplates and images set nothing in but metadata.namespace
// and metadata.labels: no pod template, no reference by namespace, no
// field spec naming them. TestApplyIsBuild builds one of each.
var labelledKinds = map[string]bool{
	"ConfigMap":               true,
	"Service":                 true,
	"ServiceAccount":          true,
	"HorizontalPodAutoscaler": true,
	"PodDisruptionBudget":     true,
	"NetworkPolicy":           true,
	"Ingress":                 true,
	"SecretProviderClass":     true,
	"PrometheusRule":          true,
	"ServiceMonitor":          true,
	"PodMonitor":              true,
	"Role":                    true,
	"PersistentVolumeClaim":   true,
}

// labelledOnly reports whether Final sets nothing on o but its namespace
// and labels: a labelled kind, with labels (if any) a map, no field the
// image transformer looks into, and no annotation a build reads or
// removes.
func labelledOnly(o *manifest.Object, f Final) bool {
	return labelledKinds[o.GetKind()] && plainMeta(o) && (len(f.Images) == 0 || !holdsImages(o.Object))
}

// holdsImages is mayHoldImages for plain values.
func holdsImages(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			switch k {
			case "containers", "initContainers", "volumes":
				return true
			}
			if holdsImages(c) {
				return true
			}
		}
	case []any:
		for _, c := range v {
			if holdsImages(c) {
				return true
			}
		}
	}
	return false
}

// templated are the workloads Apply sets directly, by API version and
// kind: where their pod template is, and where a labels entry with
// includeTemplates sets labels besides metadata (templateLabelSpecs).
var templated = map[[2]string]workload{
	{"apps/v1", "Deployment"}:  {podSpec: templateSpec, labels: [][]string{templateLabels}},
	{"apps/v1", "StatefulSet"}: {podSpec: templateSpec, labels: [][]string{templateLabels}},
	{"apps/v1", "DaemonSet"}:   {podSpec: templateSpec, labels: [][]string{templateLabels}},
	{"apps/v1", "ReplicaSet"}:  {podSpec: templateSpec, labels: [][]string{templateLabels}},
	{"batch/v1", "Job"}:        {podSpec: templateSpec, labels: [][]string{templateLabels}},
	{"batch/v1", "CronJob"}: {
		podSpec: []string{"spec", "jobTemplate", "spec", "template", "spec"},
		labels:  [][]string{{"spec", "jobTemplate", "metadata", "labels"}, {"spec", "jobTemplate", "spec", "template", "metadata", "labels"}},
	},
}

// workload says where a kind's pod spec is and where, besides metadata, a
// labels entry with includeTemplates sets labels.
type workload struct {
	podSpec []string
	labels  [][]string
}

var (
	templateSpec   = []string{"spec", "template", "spec"}
	templateLabels = []string{"spec", "template", "metadata", "labels"}
)

// podTemplated reports whether Apply can set Final on o without kustomize's
// transformers: a templated workload whose label maps are maps, whose
// images are all strings in its pod template's containers and init
// containers, with no container field elsewhere and no image volume (the
// image transformer looks into both), and no annotation a build reads.
// Its images are still pinned by kustomize's image transformer (pinned).
func podTemplated(o *manifest.Object) bool {
	t, ok := templated[[2]string{o.GetAPIVersion(), o.GetKind()}]
	if !ok || !plainMeta(o) {
		return false
	}
	for _, path := range t.labels {
		if !mapsAlong(o.Object, path) {
			return false
		}
	}
	pod, ok := nestedMap(o.Object, t.podSpec)
	if !ok {
		return false
	}
	// Containers anywhere else in the object, or image volumes, are the
	// transformer's to find.
	if holdsImages(manifest.Without(o.Object, t.podSpec...)) {
		return false
	}
	for k, v := range pod {
		switch k {
		case "containers", "initContainers":
			list, ok := v.([]any)
			if !ok {
				return false
			}
			for _, c := range list {
				cm, ok := c.(map[string]any)
				if !ok || holdsImages(cm) {
					return false
				}
				if img, has := cm["image"]; has {
					if _, isString := img.(string); !isString {
						return false
					}
				}
			}
		case "volumes":
			list, _ := v.([]any)
			for _, vol := range list {
				if vm, ok := vol.(map[string]any); !ok || vm["image"] != nil {
					return false
				}
			}
		default:
			if holdsImages(v) {
				return false
			}
		}
	}
	return true
}

// plainMeta: o's metadata is a map whose labels are a map (or absent) and
// whose annotations carry nothing a build reads or removes.
func plainMeta(o *manifest.Object) bool {
	meta, ok := o.Object["metadata"].(map[string]any)
	if !ok {
		return false
	}
	if l, ok := meta["labels"]; ok && l != nil {
		if _, isMap := l.(map[string]any); !isMap {
			return false
		}
	}
	if a, ok := meta["annotations"]; ok && a != nil {
		am, isMap := a.(map[string]any)
		if !isMap {
			return false
		}
		if _, ok := am[konfig.IgnoredByKustomizeAnnotation]; ok {
			return false
		}
		for _, b := range resource.BuildAnnotations {
			if _, ok := am[b]; ok {
				return false
			}
		}
	}
	return true
}

// mapsAlong: every value along path in v that exists is a map (a build
// creates the missing ones).
func mapsAlong(v map[string]any, path []string) bool {
	for _, k := range path {
		next, ok := v[k]
		if !ok || next == nil {
			return true
		}
		m, isMap := next.(map[string]any)
		if !isMap {
			return false
		}
		v = m
	}
	return true
}

func nestedMap(v map[string]any, path []string) (map[string]any, bool) {
	for _, k := range path {
		m, ok := v[k].(map[string]any)
		if !ok {
			return nil, false
		}
		v = m
	}
	return v, true
}

// applyDirect is what a build gives for a labelledOnly object (w is
// zero) or a podTemplated one: its clean, normalized copy with f's
// namespace, its labels on metadata and w's template paths, and the images
// of w's pod spec pinned.
func applyDirect(o *manifest.Object, f Final, w workload, p pinning) (*manifest.Object, error) {
	c, err := manifest.CleanNormal(o)
	if err != nil {
		return nil, err
	}
	if f.Namespace != "" {
		c.Object["metadata"].(map[string]any)["namespace"] = f.Namespace
	}
	if len(f.Labels) > 0 {
		for _, path := range append([][]string{{"metadata", "labels"}}, w.labels...) {
			labels := createMaps(c.Object, path)
			for k, v := range f.Labels {
				labels[k] = v
			}
		}
	}
	if len(f.Images) == 0 || w.podSpec == nil {
		return c, nil
	}
	pod, _ := nestedMap(c.Object, w.podSpec)
	for _, field := range []string{"initContainers", "containers"} {
		list, _ := pod[field].([]any)
		for _, ct := range list {
			cm := ct.(map[string]any)
			img, ok := cm["image"].(string)
			if !ok {
				continue
			}
			pinnedImage, err := p.pinned(o.GetAPIVersion(), o.GetKind(), w.podSpec, field, img)
			if err != nil {
				return nil, err
			}
			cm["image"] = pinnedImage
		}
	}
	return c, nil
}

// createMaps returns the map at path in v, creating the missing maps on
// the way (mapsAlong has checked the existing ones are maps).
func createMaps(v map[string]any, path []string) map[string]any {
	for _, k := range path {
		m, ok := v[k].(map[string]any)
		if !ok {
			m = map[string]any{}
			v[k] = m
		}
		v = m
	}
	return v
}

// pins caches what kustomize's image transformer makes of one image at one
// place of one kind of workload, for one list of pins.
var pins sync.Map // pinKey -> string

type pinKey struct{ apiVersion, kind, path, field, image, images string }

// pinning is a Final's image pins, with the key they are cached under.
type pinning struct {
	images []types.Image
	key    string
}

// pinned is the image kustomize's image transformer leaves at field of the
// pod spec at path of a workload of this kind, for the pins in order:
// found by running the transformers on a workload holding only that
// container, once per image and list of pins.
func (p pinning) pinned(apiVersion, kind string, path []string, field, image string) (string, error) {
	k := pinKey{apiVersion, kind, strings.Join(path, "/"), field, image, p.key}
	if v, ok := pins.Load(k); ok {
		return v.(string), nil
	}
	probe := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": "probe"}}
	createMaps(probe, path)[field] = []any{map[string]any{"name": "c", "image": image}}
	out, err := transform([]*manifest.Object{{Object: probe}}, Final{Images: p.images})
	if err != nil {
		return "", err
	}
	pod, _ := nestedMap(out[0].Object, path)
	list, _ := pod[field].([]any)
	if len(list) != 1 {
		return "", fmt.Errorf("image %s: the image transformer's probe came back without its container", image)
	}
	got, _ := list[0].(map[string]any)["image"].(string)
	pins.Store(k, got)
	return got, nil
}

// resID is what a resource map tells objects apart by.
type resID struct{ apiVersion, kind, namespace, name string }

func idOf(o *manifest.Object) resID {
	return resID{o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName()}
}

// uniqueIDs refuses two objects with one ID (API version, kind, namespace
// and name), as a build's resource map does, across objects that took
// different paths through Apply.
func uniqueIDs(objs []*manifest.Object) error {
	seen := make(map[resID]bool, len(objs))
	for _, o := range objs {
		if o == nil {
			continue
		}
		k := idOf(o)
		if seen[k] {
			return fmt.Errorf("kustomize: may not add resource with an already registered id: %s", manifest.IDOf(o))
		}
		seen[k] = true
	}
	return nil
}

// transform runs kustomize's builtin transformers for f on objs; the
// result is aligned with objs, nil where a build drops the object
// (local config).
func transform(objs []*manifest.Object, f Final) ([]*manifest.Object, error) {
	nodes := make([]*kyaml.RNode, len(objs))
	for i, o := range objs {
		n, err := toRNode(manifest.Clean(o))
		if err != nil {
			return nil, fmt.Errorf("kustomize: %s: %w", manifest.IDOf(o), err)
		}
		nodes[i] = n
	}
	m, err := resmap.NewFactory(resourceFactory()).NewResMapFromRNodeSlice(nodes)
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	ns := &builtins.NamespaceTransformerPlugin{
		ObjectMeta:             types.ObjectMeta{Namespace: f.Namespace},
		FieldSpecs:             namespaceSpecs,
		SetRoleBindingSubjects: namespace.DefaultSubjectsOnly,
	}
	if err := ns.Transform(m); err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	// The label transformer does nothing without labels.
	labels := &builtins.LabelTransformerPlugin{Labels: f.Labels, FieldSpecs: templateLabelSpecs}
	if err := labels.Transform(m); err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	if len(f.Images) > 0 {
		// The image transformer looks for containers in every field of
		// every object; it only ever changes containers, init containers
		// and image volumes, so it is handed the objects that have any.
		// They are the same resources: what it sets, m holds.
		pinned := resmap.New()
		for _, res := range m.Resources() {
			if mayHoldImages(res.YNode()) {
				if err := pinned.Append(res); err != nil {
					return nil, fmt.Errorf("kustomize: %w", err)
				}
			}
		}
		for _, im := range f.Images {
			if err := (&builtins.ImageTagTransformerPlugin{ImageTag: im, FieldSpecs: imageSpecs}).Transform(pinned); err != nil {
				return nil, fmt.Errorf("kustomize: %w", err)
			}
		}
	}
	// What the transformers noted for a build's later steps (the IDs
	// objects had before) is not output, as a build removes it too.
	m.RemoveBuildAnnotations()
	out := make([]*manifest.Object, len(objs))
	for i, res := range m.Resources() {
		// A build drops local-config objects (resource.Factory's
		// DropLocalNodes, which copies every object to read one annotation).
		if v, ok := res.GetAnnotations()[konfig.IgnoredByKustomizeAnnotation]; ok && v != "false" {
			continue
		}
		if v, ok := fromNode(res.YNode()); ok {
			if obj, isMap := v.(map[string]any); isMap {
				out[i] = &manifest.Object{Object: obj}
				continue
			}
		}
		mp, err := res.Map()
		if err != nil {
			return nil, fmt.Errorf("kustomize: %s: %w", res.CurId(), err)
		}
		o, err := manifest.Normalize(&manifest.Object{Object: mp})
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

// mayHoldImages reports whether n has a field the image transformer sets
// images in (its legacy filter: containers and initContainers anywhere; its
// field specs: those and volumes).
func mayHoldImages(n *kyaml.Node) bool {
	switch n.Kind {
	case kyaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch n.Content[i].Value {
			case "containers", "initContainers", "volumes":
				return true
			}
			if mayHoldImages(n.Content[i+1]) {
				return true
			}
		}
	case kyaml.SequenceNode, kyaml.DocumentNode:
		for _, c := range n.Content {
			if mayHoldImages(c) {
				return true
			}
		}
	case kyaml.AliasNode:
		return true
	}
	return false
}

// CanApply reports whether Apply gives what a build gives for objs. A build
// also rewrites references to objects whose name or namespace changed;
// Final renames nothing, but it moves objects to its namespace, and some
// kinds refer to others by name and namespace: role binding subjects,
// webhook and API services, a node's config source, a storage class's
// secret. With none of those, a build has nothing to rewrite.
func CanApply(objs []*manifest.Object) bool {
	for _, o := range objs {
		if refersByNamespace[o.GetKind()] {
			return false
		}
	}
	return true
}

var refersByNamespace = map[string]bool{
	"RoleBinding":                    true,
	"ClusterRoleBinding":             true,
	"ValidatingWebhookConfiguration": true,
	"MutatingWebhookConfiguration":   true,
	"APIService":                     true,
	"CustomResourceDefinition":       true,
	"Node":                           true,
	"StorageClass":                   true,
}

var resourceFactory = sync.OnceValue(func() *resource.Factory {
	return provider.NewDefaultDepProvider().GetResourceFactory()
})

// The field specs a default kustomization uses for namespace, labels with
// includeTemplates, and images (TestApplyIsBuild holds them to a build's).
var (
	namespaceSpecs = types.FsSlice{
		{Gvk: resid.Gvk{Kind: "Namespace"}, Path: "metadata/name", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Group: "apiregistration.k8s.io", Kind: "APIService"}, Path: "spec/service/namespace", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}, Path: "spec/conversion/webhook/clientConfig/service/namespace"},
	}
	templateLabelSpecs = types.FsSlice{
		{Path: "metadata/labels", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Version: "v1", Kind: "ReplicationController"}, Path: "spec/template/metadata/labels", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Kind: "Deployment"}, Path: "spec/template/metadata/labels", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Kind: "ReplicaSet"}, Path: "spec/template/metadata/labels", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Kind: "DaemonSet"}, Path: "spec/template/metadata/labels", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Group: "apps", Kind: "StatefulSet"}, Path: "spec/template/metadata/labels", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Group: "batch", Kind: "Job"}, Path: "spec/template/metadata/labels", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Group: "batch", Kind: "CronJob"}, Path: "spec/jobTemplate/metadata/labels", CreateIfNotPresent: true},
		{Gvk: resid.Gvk{Group: "batch", Kind: "CronJob"}, Path: "spec/jobTemplate/spec/template/metadata/labels", CreateIfNotPresent: true},
	}
	imageSpecs = types.FsSlice{
		{Path: "spec/containers[]/image", CreateIfNotPresent: true},
		{Path: "spec/initContainers[]/image", CreateIfNotPresent: true},
		{Path: "spec/volumes[]/image/reference", CreateIfNotPresent: true},
		{Path: "spec/template/spec/containers[]/image", CreateIfNotPresent: true},
		{Path: "spec/template/spec/initContainers[]/image", CreateIfNotPresent: true},
		{Path: "spec/template/spec/volumes[]/image/reference", CreateIfNotPresent: true},
		{Path: "spec/jobTemplate/spec/template/spec/volumes[]/image/reference", CreateIfNotPresent: true},
	}
)

// toRNode builds the YAML node kustomize would parse from o's JSON, without
// printing and parsing it. Values of other types than JSON's take that
// round trip.
func toRNode(o map[string]any) (*kyaml.RNode, error) {
	if n, ok := toNode(o); ok {
		return kyaml.NewRNode(n), nil
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	return kyaml.Parse(string(b))
}

func toNode(v any) (*kyaml.Node, bool) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n := &kyaml.Node{Kind: kyaml.MappingNode, Tag: kyaml.NodeTagMap, Style: kyaml.FlowStyle, Content: make([]*kyaml.Node, 0, 2*len(keys))}
		for _, k := range keys {
			c, ok := toNode(v[k])
			if !ok {
				return nil, false
			}
			n.Content = append(n.Content, str(k), c)
		}
		return n, true
	case []any:
		n := &kyaml.Node{Kind: kyaml.SequenceNode, Tag: kyaml.NodeTagSeq, Style: kyaml.FlowStyle, Content: make([]*kyaml.Node, 0, len(v))}
		for _, e := range v {
			c, ok := toNode(e)
			if !ok {
				return nil, false
			}
			n.Content = append(n.Content, c)
		}
		return n, true
	case string:
		return str(v), true
	case bool:
		return scalar(kyaml.NodeTagBool, strconv.FormatBool(v)), true
	case nil:
		return scalar(kyaml.NodeTagNull, "null"), true
	case int64:
		return scalar(kyaml.NodeTagInt, strconv.FormatInt(v, 10)), true
	case int:
		return scalar(kyaml.NodeTagInt, strconv.Itoa(v)), true
	case float64:
		// JSON prints an integral float as an integer, which reads back
		// as one; other floats take the round trip.
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return scalar(kyaml.NodeTagInt, strconv.FormatInt(int64(v), 10)), true
		}
	}
	return nil, false
}

func str(s string) *kyaml.Node {
	return &kyaml.Node{Kind: kyaml.ScalarNode, Tag: kyaml.NodeTagString, Style: kyaml.DoubleQuotedStyle, Value: s}
}

func scalar(tag, value string) *kyaml.Node {
	return &kyaml.Node{Kind: kyaml.ScalarNode, Tag: tag, Value: value}
}

// fromNode reads a node back as manifest.Normalize gives it (every number
// a float64), without decoding it to Go values and copying those. ok is
// false for anything but a mapping of string keys to JSON-like values with
// decimal numbers below 2^53; the caller then decodes it.
func fromNode(n *kyaml.Node) (any, bool) {
	switch n.Kind {
	case kyaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != kyaml.ScalarNode || k.ShortTag() != kyaml.NodeTagString {
				return nil, false
			}
			v, ok := fromNode(n.Content[i+1])
			if !ok {
				return nil, false
			}
			m[k.Value] = v
		}
		return m, true
	case kyaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, ok := fromNode(c)
			if !ok {
				return nil, false
			}
			l[i] = v
		}
		return l, true
	case kyaml.ScalarNode:
		switch n.ShortTag() {
		case kyaml.NodeTagString:
			return n.Value, true
		case kyaml.NodeTagBool:
			b, err := strconv.ParseBool(n.Value)
			return b, err == nil && (n.Value == "true" || n.Value == "false")
		case kyaml.NodeTagNull:
			return nil, true
		case kyaml.NodeTagInt:
			// Decimal as JSON writes it: YAML reads 0777 as octal, +7 as 7.
			v := strings.TrimPrefix(n.Value, "-")
			if v == "" || v[0] == '+' || len(v) > 1 && v[0] == '0' {
				return nil, false
			}
			i, err := strconv.ParseInt(n.Value, 10, 64)
			return float64(i), err == nil && i < 1<<53 && i > -(1<<53)
		case kyaml.NodeTagFloat:
			f, err := strconv.ParseFloat(n.Value, 64)
			return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
		}
	}
	return nil, false
}
