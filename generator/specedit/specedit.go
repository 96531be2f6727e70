// Package specedit changes environment files in place the way a person
// would: only the bytes of the values that change are rewritten, so
// comments, key order, quoting and formatting all stay as they were.
package specedit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/libertum/platform-gitops/generator/spec"
)

// ImageTag sets one image of one component to a tag.
type ImageTag struct {
	Component string
	// Image is the image name as the spec lists it; empty means the
	// component's only image.
	Image string
	Tag   string
}

// ParseImageTag parses COMPONENT=TAG or COMPONENT/IMAGE=TAG.
func ParseImageTag(arg string) (ImageTag, error) {
	lhs, tag, ok := strings.Cut(arg, "=")
	if !ok || lhs == "" || tag == "" {
		return ImageTag{}, fmt.Errorf("%q: want COMPONENT=TAG or COMPONENT/IMAGE=TAG", arg)
	}
	comp, image, _ := strings.Cut(lhs, "/")
	if !spec.ValidTag(tag) {
		return ImageTag{}, fmt.Errorf("%q: malformed tag or digest %q", arg, tag)
	}
	return ImageTag{Component: comp, Image: image, Tag: tag}, nil
}

// Edit is one value changed in a file.
type Edit struct {
	Component, Image string
	Old, New         string
	Line             int
}

// SetImages applies changes to one environment file's bytes and returns
// the new bytes and the edits made (none when every tag is already set).
// Unknown components or images are errors; the result is parsed and
// validated before it is returned.
func SetImages(file string, data []byte, changes []ImageTag) ([]byte, []Edit, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil, fmt.Errorf("%s: empty file", file)
	}
	components := lookup(doc.Content[0], "spec", "components")
	if components == nil || components.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s: no spec.components", file)
	}
	lines := bytes.Split(data, []byte("\n"))
	var edits []Edit
	var errs []error
	for _, ch := range changes {
		node, image, err := tagNode(components, ch)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		if why := spec.ImmutableTag(image, ch.Tag); why != "" {
			errs = append(errs, fmt.Errorf("%s:%d: component %s: %s", file, node.Line, ch.Component, why))
			continue
		}
		if node.Value == ch.Tag {
			continue
		}
		if err := replaceScalar(lines, node, ch.Tag); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", file, node.Line, err))
			continue
		}
		edits = append(edits, Edit{Component: ch.Component, Image: image, Old: node.Value, New: ch.Tag, Line: node.Line})
		node.Value = ch.Tag
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	out := bytes.Join(lines, []byte("\n"))
	if _, err := spec.Parse(file, out); err != nil {
		return nil, nil, fmt.Errorf("the edited file would be invalid: %w", err)
	}
	return out, edits, nil
}

func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// tagNode finds the scalar holding the tag a change targets.
func tagNode(components *yaml.Node, ch ImageTag) (*yaml.Node, string, error) {
	comp := lookup(components, ch.Component)
	if comp == nil {
		var names []string
		for i := 0; i < len(components.Content); i += 2 {
			names = append(names, components.Content[i].Value)
		}
		sort.Strings(names)
		return nil, "", fmt.Errorf("unknown component %q (components: %s)", ch.Component, strings.Join(names, ", "))
	}
	images := lookup(comp, "images")
	if images == nil || images.Kind != yaml.SequenceNode || len(images.Content) == 0 {
		return nil, "", fmt.Errorf("component %s pins no images", ch.Component)
	}
	var names []string
	for _, item := range images.Content {
		name := lookup(item, "name")
		if name == nil {
			continue
		}
		names = append(names, name.Value)
		if ch.Image == name.Value || (ch.Image == "" && len(images.Content) == 1) {
			tag := lookup(item, "tag")
			if tag == nil || tag.Kind != yaml.ScalarNode {
				return nil, "", fmt.Errorf("component %s image %s has no tag to set", ch.Component, name.Value)
			}
			return tag, name.Value, nil
		}
	}
	if ch.Image == "" {
		return nil, "", fmt.Errorf("component %s runs several images; name one: %s/IMAGE=TAG with IMAGE one of %s", ch.Component, ch.Component, strings.Join(names, ", "))
	}
	return nil, "", fmt.Errorf("component %s has no image %q (images: %s)", ch.Component, ch.Image, strings.Join(names, ", "))
}

// replaceScalar rewrites the scalar's characters on its line, keeping its
// quoting style and everything around it.
func replaceScalar(lines [][]byte, n *yaml.Node, value string) error {
	if n.Line < 1 || n.Line > len(lines) {
		return fmt.Errorf("tag out of range")
	}
	line := lines[n.Line-1]
	start := n.Column - 1
	if start < 0 || start >= len(line) {
		return fmt.Errorf("tag column out of range")
	}
	end, err := scalarEnd(line, start, n)
	if err != nil {
		return err
	}
	var repl string
	switch n.Style {
	case yaml.DoubleQuotedStyle:
		repl = `"` + value + `"`
	case yaml.SingleQuotedStyle:
		repl = `'` + value + `'`
	default:
		repl = value
	}
	out := make([]byte, 0, len(line)-(end-start)+len(repl))
	out = append(out, line[:start]...)
	out = append(out, repl...)
	out = append(out, line[end:]...)
	lines[n.Line-1] = out
	return nil
}

func scalarEnd(line []byte, start int, n *yaml.Node) (int, error) {
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := line[start]
		for i := start + 1; i < len(line); i++ {
			if line[i] == q {
				return i + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated quoted tag")
	case 0:
		if !bytes.HasPrefix(line[start:], []byte(n.Value)) {
			return 0, fmt.Errorf("tag %q is not written where the parser says", n.Value)
		}
		return start + len(n.Value), nil
	}
	return 0, fmt.Errorf("tag written in an unsupported YAML style; write it as a plain or quoted scalar")
}

// Promotions returns the changes that give env `to` the image tags env
// `from` runs, for the named components (all components both run when
// none are named).
func Promotions(from, to *spec.Environment, components []string) ([]ImageTag, error) {
	if len(components) == 0 {
		for _, name := range to.ComponentNames() {
			if _, ok := from.Spec.Components[name]; ok {
				components = append(components, name)
			}
		}
	}
	var out []ImageTag
	var errs []error
	for _, name := range components {
		src, ok1 := from.Spec.Components[name]
		dst, ok2 := to.Spec.Components[name]
		if !ok1 || !ok2 {
			errs = append(errs, fmt.Errorf("component %q is not in both %s and %s", name, from.Name(), to.Name()))
			continue
		}
		tags := map[string]string{}
		for _, im := range src.Images {
			tags[im.Name] = im.Tag
		}
		for _, im := range dst.Images {
			if tag, ok := tags[im.Name]; ok {
				out = append(out, ImageTag{Component: name, Image: im.Name, Tag: tag})
			}
		}
	}
	return out, errors.Join(errs...)
}

// Apply sets images in the environment file at path (rel names it in
// errors), writing the file atomically, and returns the edits (none when
// already set).
func Apply(path, rel string, changes []ImageTag) ([]Edit, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	out, edits, err := SetImages(rel, data, changes)
	if err != nil || len(edits) == 0 {
		return edits, err
	}
	return edits, writeAtomic(path, out)
}

func writeAtomic(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), info.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
