package kustomize

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
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
// objs are not modified.
func Apply(objs []*manifest.Object, f Final) ([]*manifest.Object, error) {
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
	out := make([]*manifest.Object, 0, m.Size())
	for _, res := range m.Resources() {
		// A build drops local-config objects (resource.Factory's
		// DropLocalNodes, which copies every object to read one annotation).
		if v, ok := res.GetAnnotations()[konfig.IgnoredByKustomizeAnnotation]; ok && v != "false" {
			continue
		}
		if v, ok := fromNode(res.YNode()); ok {
			if obj, isMap := v.(map[string]any); isMap {
				out = append(out, &manifest.Object{Object: obj})
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
		out = append(out, o)
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
			i, err := strconv.ParseInt(n.Value, 10, 64)
			return float64(i), err == nil && i < 1<<53 && i > -(1<<53)
		case kyaml.NodeTagFloat:
			f, err := strconv.ParseFloat(n.Value, 64)
			return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
		}
	}
	return nil, false
}
