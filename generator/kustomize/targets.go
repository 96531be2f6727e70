package kustomize

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
)

// kustomizationNames are the file names kustomize reads a kustomization from.
var kustomizationNames = func() map[string]bool {
	names := map[string]bool{}
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		names[n] = true
	}
	return names
}()

// IsKustomization reports whether a file's name is one kustomize reads a
// kustomization from.
func IsKustomization(file string) bool { return kustomizationNames[path.Base(file)] }

// checkKustomizations reads every kustomization once and reports, each at
// its file and line, what krusty would accept but must not run or would
// report without a location: an openapi field (it would swap kyaml's
// process-global schema under every other build), remote entries (krusty
// would clone them with the git binary), a missing patch file and a JSON
// patch without a target.
func checkKustomizations(files Files) error {
	var errs []error
	for _, name := range kustomizations(files) {
		var doc yaml.Node
		if err := yaml.Unmarshal(files[name], &doc); err != nil || len(doc.Content) == 0 {
			continue // krusty reports unreadable kustomizations
		}
		root := doc.Content[0]
		for j := 0; j+1 < len(root.Content); j += 2 {
			key, value := root.Content[j], root.Content[j+1]
			switch {
			case key.Value == "openapi":
				errs = append(errs, fmt.Errorf("%s:%d: openapi is not supported: the generator merges with the built-in Kubernetes schema", repoPath(name), key.Line))
			case value.Kind != yaml.SequenceNode:
			case remoteFields[key.Value]:
				for _, item := range value.Content {
					if remote(item.Value) {
						errs = append(errs, fmt.Errorf("%s:%d: %s entry %q is remote; vendor it into the repo (a render fetches nothing)", repoPath(name), item.Line, key.Value, item.Value))
					}
				}
			case key.Value == "patches":
				for _, item := range value.Content {
					if err := checkPatch(files, name, item); err != nil {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

// kustomizations returns the paths of the kustomization files among files, sorted.
func kustomizations(files Files) []string {
	var names []string
	for name := range files {
		if IsKustomization(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

type patchList struct {
	Patches []types.Patch `yaml:"patches"`
}

// checkPatchTargets rejects a patch whose target selects nothing: kustomize
// silently skips such a patch, which hides a typo or a renamed object.
func checkPatchTargets(files Files, rm resmap.ResMap) error {
	var errs []error
	for _, name := range kustomizations(files) {
		var doc yaml.Node
		if err := yaml.Unmarshal(files[name], &doc); err != nil || len(doc.Content) == 0 {
			continue // krusty has already reported unreadable kustomizations
		}
		var k patchList
		if err := doc.Content[0].Decode(&k); err != nil {
			continue
		}
		for i, p := range k.Patches {
			if p.Target == nil {
				continue
			}
			matched, err := rm.Select(*p.Target)
			if err != nil {
				return fmt.Errorf("%s: patch %d: target: %w", repoPath(name), i, err)
			}
			if len(matched) == 0 {
				errs = append(errs, fmt.Errorf("%s:%d: patch target %s matches no object", repoPath(name), patchLine(doc.Content[0], i), describe(p.Target)))
			}
		}
	}
	return errors.Join(errs...)
}

// patchLine finds the line of patches[i].target in a kustomization.
func patchLine(root *yaml.Node, i int) int {
	seq := valueOf(root, "patches")
	switch {
	case seq == nil:
		return root.Line
	case i >= len(seq.Content):
		return seq.Line
	}
	item := seq.Content[i]
	for k := 0; k+1 < len(item.Content); k += 2 {
		if item.Content[k].Value == "target" {
			return item.Content[k].Line
		}
	}
	return item.Line
}

func describe(s *types.Selector) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+strconv.Quote(v))
		}
	}
	add("group", s.Group)
	add("version", s.Version)
	add("kind", s.Kind)
	add("namespace", s.Namespace)
	add("name", s.Name)
	add("labelSelector", s.LabelSelector)
	add("annotationSelector", s.AnnotationSelector)
	return "{" + strings.Join(parts, ", ") + "}"
}

// repoPath turns an in-memory path (/overlays/prod/web/kustomization.yaml)
// back into the repo-relative one callers staged it from.
func repoPath(p string) string { return strings.TrimPrefix(p, "/") }

// remoteFields are the kustomization fields whose entries kustomize would
// fetch when they name a URL.
var remoteFields = map[string]bool{"resources": true, "components": true, "bases": true, "crds": true, "configurations": true}

// remote reports whether a kustomization entry names something outside
// the repo that kustomize would download.
func remote(entry string) bool {
	e := strings.TrimSpace(entry)
	if strings.Contains(e, "://") || strings.HasPrefix(e, "git@") || strings.HasPrefix(e, "git::") || strings.Contains(e, "?ref=") || strings.Contains(e, "?version=") {
		return true
	}
	first, _, _ := strings.Cut(e, "/")
	return strings.Contains(first, ".") && !strings.HasPrefix(first, ".") && !strings.HasSuffix(e, ".yaml") && !strings.HasSuffix(e, ".yml") && !strings.HasSuffix(e, ".json")
}

// checkPatch reports a patch whose file does not exist and a JSON patch (a
// list of operations) without a target, at the kustomization's line.
func checkPatch(files Files, kustomization string, item *yaml.Node) error {
	var p types.Patch
	if err := item.Decode(&p); err != nil {
		return nil // krusty reports malformed entries
	}
	where := fmt.Sprintf("%s:%d", repoPath(kustomization), item.Line)
	body := []byte(p.Patch)
	if p.Path != "" {
		file := path.Join(path.Dir(kustomization), p.Path)
		b, ok := files[file]
		if !ok {
			return fmt.Errorf("%s: patch file %s does not exist", where, repoPath(file))
		}
		body = b
	}
	var parsed yaml.Node
	if err := yaml.Unmarshal(body, &parsed); err == nil && len(parsed.Content) > 0 && parsed.Content[0].Kind == yaml.SequenceNode && p.Target == nil {
		return fmt.Errorf("%s: a JSON patch (a list of operations) needs a target: kind and name of the object it changes", where)
	}
	return nil
}

// checkDocuments reports, with file and line, a resource file that is not
// valid YAML or repeats a key: krusty gives the line but not the file.
// JSON streams (what the generator itself stages) are not people's files
// and are skipped.
//
// A document is checked as decoding it would check it: parsed, and, when
// it has anything decoding could refuse (a repeated key, an anchor, alias,
// merge key or tag), decoded. A plain tree decodes without error.
func checkDocuments(files Files) error {
	var errs []error
	for _, name := range sortedFileNames(files) {
		if IsKustomization(name) || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		if t := bytes.TrimSpace(files[name]); len(t) > 0 && t[0] == '{' {
			continue
		}
		if _, err := parseDocuments(files[name]); err != nil {
			msg := strings.TrimPrefix(strings.ReplaceAll(err.Error(), "yaml: unmarshal errors:\n  ", ""), "yaml: ")
			if m := lineMsg.FindStringSubmatch(msg); m != nil {
				errs = append(errs, fmt.Errorf("%s:%s: %s", repoPath(name), m[1], m[2]))
			} else {
				errs = append(errs, fmt.Errorf("%s: %s", repoPath(name), msg))
			}
		}
	}
	return errors.Join(errs...)
}

// parseDocuments parses a YAML stream into its documents, with the errors
// decoding each into a Go value would give; the first error ends it.
func parseDocuments(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		doc := new(yaml.Node)
		err := dec.Decode(doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err == nil && !(unadorned(doc) && plainKeys(doc)) {
			var v any
			err = doc.Decode(&v)
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
}

// unadorned: n has no anchor, alias or merge key, which kustomize's reader
// expands, and no explicit tag, which it may resolve otherwise.
func unadorned(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode || n.Style&yaml.TaggedStyle != 0 {
		return false
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 && c.Value == "<<" {
			return false
		}
		if !unadorned(c) {
			return false
		}
	}
	return true
}

// plainKeys: every key in n is a scalar (a Go map cannot hold a list or
// map as a key) and no mapping repeats one, as the YAML decoder compares
// keys (same kind, same text).
func plainKeys(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if n.Content[i].Kind != yaml.ScalarNode {
				return false
			}
			for j := i + 2; j < len(n.Content); j += 2 {
				if n.Content[i].Kind == n.Content[j].Kind && n.Content[i].Value == n.Content[j].Value {
					return false
				}
			}
		}
	}
	for _, c := range n.Content {
		if !plainKeys(c) {
			return false
		}
	}
	return true
}

var lineMsg = regexp.MustCompile(`^line (\d+): (.*)`)

func sortedFileNames(files Files) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// unmatchedSMP is krusty's error for a strategic-merge patch whose object
// is not in the build: it names the object's id, not the patch's file.
var unmatchedSMP = regexp.MustCompile(`no resource matches strategic merge patch \\?"([^"/\\]+)/([^"\\]+)\\?"`)

// locateUnmatchedPatch turns krusty's error for a strategic-merge patch
// without a target into the patch's file and line: the metadata.name of the
// patch document that names the missing object, in a patch file or inline
// in a kustomization's patches. It returns nil when err is another error
// or the patch cannot be found.
func locateUnmatchedPatch(files Files, err error) error {
	m := unmatchedSMP.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	kind, _, _ := strings.Cut(m[1], ".")
	name := m[2]
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[:i] // the namespace, or [noNs]; names may hold dots, namespaces not
	}
	for _, k := range kustomizations(files) {
		var doc yaml.Node
		if yaml.Unmarshal(files[k], &doc) != nil || len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		for j := 0; j+1 < len(root.Content); j += 2 {
			key, value := root.Content[j], root.Content[j+1]
			if value.Kind != yaml.SequenceNode || (key.Value != "patches" && key.Value != "patchesStrategicMerge") {
				continue
			}
			for _, item := range value.Content {
				var p types.Patch
				if item.Kind == yaml.ScalarNode {
					p.Path = item.Value // patchesStrategicMerge: a file name
				} else if item.Decode(&p) != nil || p.Target != nil {
					continue
				}
				file, body, line0 := k, []byte(p.Patch), item.Line
				if p.Path != "" {
					file, body, line0 = path.Join(path.Dir(k), p.Path), files[path.Join(path.Dir(k), p.Path)], 0
				}
				if line, ok := namedAt(body, kind, name); ok {
					if line0 > 0 {
						line = line0 // inline: the kustomization's entry
					}
					return fmt.Errorf("%s:%d: strategic-merge patch of %s %s matches no object of the build (%s:%d lists it)", repoPath(file), line, kind, name, repoPath(k), item.Line)
				}
			}
		}
	}
	return nil
}

// namedAt finds the line of metadata.name in the document of a YAML stream
// that is of kind and named name.
func namedAt(stream []byte, kind, name string) (int, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(stream))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return 0, false
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if valueOf(root, "kind") == nil || valueOf(root, "kind").Value != kind {
			continue
		}
		if meta := valueOf(root, "metadata"); meta != nil {
			if n := valueOf(meta, "name"); n != nil && n.Value == name {
				return n.Line, true
			}
		}
	}
}

func valueOf(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
