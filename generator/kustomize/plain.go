package kustomize

import (
	"path"
	"reflect"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// buildPlain is Build for the most common kustomization, one that only
// lists resource files of its own directory: their objects, in the order
// listed, read with the YAML parser kustomize reads them with and
// converted as Build converts a build's objects. It skips what makes a
// build cost a millisecond or two whatever it holds: loading and
// validating the kustomization through krusty, configuring its builtin
// plugins, and kyaml copying every document to expand anchors it does not
// have.
//
// ok is false, and Build runs krusty, for anything else: other fields in
// the kustomization, resources that are directories, URLs or outside dir,
// documents with anchors, aliases, merge keys or tags kustomize resolves
// itself, lists, local-config or kustomize's own annotations, objects
// without a name, and two objects with one ID (krusty reports those).
// TestBuildPlainIsKrusty holds it to krusty.
//
// parsed holds documents already parsed, by file name (see checkDocuments);
// files not in it are parsed here.
func buildPlain(files Files, dir string, parsed map[string][]*kyaml.Node) (objs []*manifest.Object, ok bool) {
	k, ok := plainKustomization(files, dir)
	if !ok {
		return nil, false
	}
	seen := map[resID]bool{}
	for _, r := range k.Resources {
		name := path.Join(dir, r)
		data, isFile := files[name]
		if !isFile || !strings.HasPrefix(name, dir+"/") {
			return nil, false
		}
		nodes, isParsed := parsed[name]
		if !isParsed {
			var err error
			if nodes, err = parseDocuments(data); err != nil {
				return nil, false
			}
		}
		docs, ok := plainDocuments(nodes)
		if !ok {
			return nil, false
		}
		for _, o := range docs {
			k := idOf(o)
			if seen[k] {
				return nil, false
			}
			seen[k] = true
			objs = append(objs, o)
		}
	}
	return objs, true
}

// plainKustomization reads dir's kustomization if it sets nothing but its
// type and resources.
func plainKustomization(files Files, dir string) (types.Kustomization, bool) {
	var data []byte
	found := 0
	for name := range kustomizationNames {
		if b, ok := files[path.Join(dir, name)]; ok {
			data = b
			found++
		}
	}
	var k types.Kustomization
	if found != 1 || yaml.UnmarshalStrict(data, &k) != nil || len(k.Resources) == 0 {
		return k, false
	}
	if k.APIVersion != "" && k.APIVersion != types.KustomizationVersion || k.Kind != "" && k.Kind != types.KustomizationKind {
		return k, false
	}
	rest := k
	rest.TypeMeta, rest.Resources = types.TypeMeta{}, nil
	return k, reflect.ValueOf(rest).IsZero()
}

// plainDocuments reads a resource file's objects, skipping empty
// documents; ok is false for any document buildPlain leaves to krusty.
func plainDocuments(docs []*kyaml.Node) ([]*manifest.Object, bool) {
	var out []*manifest.Object
	for _, doc := range docs {
		if doc.Kind != kyaml.DocumentNode || len(doc.Content) != 1 {
			return nil, false
		}
		root := doc.Content[0]
		if root.Kind == kyaml.ScalarNode && root.ShortTag() == kyaml.NodeTagNull {
			continue // an empty document, as kustomize's reader skips it
		}
		if root.Kind != kyaml.MappingNode || !unadorned(root) {
			return nil, false
		}
		v, ok := fromNode(root)
		if !ok {
			return nil, false
		}
		o := &manifest.Object{Object: v.(map[string]any)}
		if !plainObject(o) {
			return nil, false
		}
		out = append(out, o)
	}
	return out, true
}

// unadorned: n has no anchor, alias or merge key, which kustomize's reader
// expands, and no explicit tag, which it may resolve otherwise.
func unadorned(n *kyaml.Node) bool {
	if n.Anchor != "" || n.Kind == kyaml.AliasNode || n.Style&kyaml.TaggedStyle != 0 {
		return false
	}
	for i, c := range n.Content {
		if n.Kind == kyaml.MappingNode && i%2 == 0 && c.Value == "<<" {
			return false
		}
		if !unadorned(c) {
			return false
		}
	}
	return true
}

// plainObject: o is one named object that kustomize takes as it is: not a
// list it would expand, with metadata Apply would also set directly
// (plainMeta), and no annotation of kustomize's or kyaml's at all (the
// reader's own are stripped by a build).
func plainObject(o *manifest.Object) bool {
	if o.GetName() == "" || o.GetKind() == "" || strings.HasSuffix(o.GetKind(), "List") || !plainMeta(o) {
		return false
	}
	annotations, _ := o.Object["metadata"].(map[string]any)["annotations"].(map[string]any)
	for a := range annotations {
		if strings.Contains(a, "config.kubernetes.io/") || strings.Contains(a, "kustomize") {
			return false
		}
	}
	return true
}
