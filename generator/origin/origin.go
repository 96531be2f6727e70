// Package origin finds where in the repo a rendered object's field was
// set: the line of an overlay patch, of the environment file, of a base's
// manifest or of a chart's values, so that a finding can point at the line
// a pull request changed rather than at the rendered file.
package origin

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Field is a path into an object; "*" matches every item of a list.
type Field []string

// ParseField splits "spec.template.spec.containers.*.resources".
func ParseField(s string) Field { return strings.Split(s, ".") }

// Finder reads the repo's YAML files once each; it is safe for concurrent
// use.
type Finder struct {
	root  string
	mu    sync.Mutex
	files map[string][]*yaml.Node // repo-relative path -> documents; nil: not YAML
	dirs  map[string][]string
}

// New returns a Finder over the repo at root.
func New(root string) *Finder {
	return &Finder{root: root, files: map[string][]*yaml.Node{}, dirs: map[string][]string{}}
}

// Object names a rendered object.
type Object struct {
	Kind, Name string
}

// InManifests returns where, in the YAML files under dirs (repo-relative,
// searched in order), a document for the object sets one of fields: the
// file and line of the deepest node of the field it reaches. With exact,
// only a document that sets a whole field counts (an overlay's patch
// that touches the field); otherwise the document of the object itself,
// at the deepest node reached (a base's manifest). It reports false when
// no file holds the object.
func (f *Finder) InManifests(dirs []string, obj Object, fields []Field, exact bool) (string, int, bool) {
	for _, dir := range dirs {
		for _, file := range f.yamlFiles(dir) {
			for _, doc := range f.documents(file) {
				if !describes(doc, obj) {
					continue
				}
				best, depth := doc, 0
				for _, field := range fields {
					n, d := reach(doc, field)
					if d > depth {
						best, depth = n, d
					}
					if exact && d == len(field) {
						return file, n.Line, true
					}
				}
				if !exact {
					line := best.Line
					if depth == 0 {
						line = keyLine(doc, "kind")
					}
					return file, line, true
				}
			}
		}
	}
	return "", 0, false
}

// InValues returns the line of a chart's values file that sets a key named
// one of keys (at any depth, first in file order), for the fields a chart
// template fills from its values.
func (f *Finder) InValues(file string, keys []string) (int, bool) {
	docs := f.documents(file)
	best := 0
	for _, doc := range docs {
		walk(doc, func(k *yaml.Node) {
			for _, want := range keys {
				if k.Value == want && (best == 0 || k.Line < best) {
					best = k.Line
				}
			}
		})
	}
	return best, best > 0
}

// InTemplates returns the first line of a chart's templates (sorted by
// name; Go templates, not YAML) that sets a key named one of keys, tried
// in order: for fields a template writes itself.
func (f *Finder) InTemplates(dir string, keys []string) (string, int, bool) {
	files := f.yamlFiles(dir)
	for _, key := range keys {
		for _, file := range files {
			for i, l := range f.lines(file) {
				if t := strings.TrimLeft(strings.TrimSpace(l), "- "); strings.HasPrefix(t, key+":") {
					return file, i + 1, true
				}
			}
		}
	}
	return "", 0, false
}

// lines reads a file's lines.
func (f *Finder) lines(file string) []string {
	b, err := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(file)))
	if err != nil {
		return nil
	}
	return strings.Split(string(b), "\n")
}

// describes reports whether a document is the object (kind and name).
func describes(doc *yaml.Node, obj Object) bool {
	if doc.Kind != yaml.MappingNode {
		return false
	}
	kind := value(doc, "kind")
	meta := child(doc, "metadata")
	return kind != nil && kind.Value == obj.Kind && meta != nil && value(meta, "name") != nil && value(meta, "name").Value == obj.Name
}

// reach follows a field as far as the document sets it: the deepest node
// and how many of the field's steps it took.
func reach(doc *yaml.Node, field Field) (*yaml.Node, int) {
	cur, depth := doc, 0
	for _, step := range field {
		var next *yaml.Node
		switch {
		case step == "*" && cur.Kind == yaml.SequenceNode && len(cur.Content) > 0:
			// The first item that goes on further wins; else the first.
			next = cur.Content[0]
		case cur.Kind == yaml.MappingNode:
			next = child(cur, step)
		}
		if next == nil {
			return cur, depth
		}
		cur, depth = next, depth+1
	}
	return cur, depth
}

// child returns a mapping's value node for key, with the key's line.
func child(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := *m.Content[i+1]
			v.Line = m.Content[i].Line
			return &v
		}
	}
	return nil
}

func value(m *yaml.Node, key string) *yaml.Node {
	c := child(m, key)
	if c == nil || c.Kind != yaml.ScalarNode {
		return nil
	}
	return c
}

func keyLine(m *yaml.Node, key string) int {
	if c := child(m, key); c != nil {
		return c.Line
	}
	return m.Line
}

// walk calls fn on every mapping key under n.
func walk(n *yaml.Node, fn func(key *yaml.Node)) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			fn(n.Content[i])
			walk(n.Content[i+1], fn)
		}
		return
	}
	for _, c := range n.Content {
		walk(c, fn)
	}
}

// yamlFiles lists a directory's YAML files (not its kustomization, not
// its subdirectories), sorted.
func (f *Finder) yamlFiles(dir string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if files, ok := f.dirs[dir]; ok {
		return files
	}
	var files []string
	entries, _ := os.ReadDir(filepath.Join(f.root, filepath.FromSlash(dir)))
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) && name != "kustomization.yaml" {
			files = append(files, path.Join(dir, name))
		}
	}
	sort.Strings(files)
	f.dirs[dir] = files
	return files
}

// documents parses a file's YAML documents once; a file that is not YAML
// (a chart template) has none.
func (f *Finder) documents(file string) []*yaml.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	if docs, ok := f.files[file]; ok {
		return docs
	}
	var docs []*yaml.Node
	b, err := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(file)))
	if err == nil {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); err != nil {
				if !errors.Is(err, io.EOF) {
					docs = nil // not YAML: no documents to point into
				}
				break
			}
			if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
				docs = append(docs, n.Content[0])
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		docs = nil
	}
	f.files[file] = docs
	return docs
}

// At formats a location as file:line.
func At(file string, line int) string {
	if line <= 0 {
		return file
	}
	return file + ":" + strconv.Itoa(line)
}
