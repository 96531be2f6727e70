package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Error is one problem in an environment file.
type Error struct {
	File string
	Line int // 0 when the problem has no single line
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

var namePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// CheckName rejects environment names that are not DNS labels, which also
// keeps path separators and ".." out of file paths built from them.
func CheckName(name string) error {
	if !namePattern.MatchString(name) || len(name) > 63 {
		return fmt.Errorf("environment name %q: must be a lowercase DNS label (a-z, 0-9, '-'), no path separators", name)
	}
	return nil
}

// ParseNamed parses the environment file rel (repo-relative, for errors)
// of the environment called name: the name must be a DNS label and match
// metadata.name.
func ParseNamed(rel, name string, data []byte) (*Environment, error) {
	if err := CheckName(name); err != nil {
		return nil, &Error{File: rel, Msg: err.Error()}
	}
	env, err := Parse(rel, data)
	if err != nil {
		return nil, err
	}
	if env.Metadata.Name != name {
		return nil, &Error{File: rel, Line: env.Line("metadata", "name"),
			Msg: fmt.Sprintf("metadata.name %q must match the file name %q", env.Metadata.Name, name)}
	}
	return env, nil
}

// Parse strictly decodes one environment file and validates it. file names
// the source in errors.
func Parse(file string, data []byte) (*Environment, error) {
	// One parse: the strict decoder hands the document's node to
	// UnmarshalYAML, which keeps it for line lookups and decodes the
	// fields from it with the same strict decoder.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	env := &Environment{File: file}
	if err := dec.Decode(env); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Msg: "empty environment file"}
		}
		return nil, YAMLError(file, data, err)
	}
	if env.pos.root == nil {
		return nil, &Error{File: file, Msg: "empty environment file"}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{File: file, Line: extra.Line, Msg: "more than one YAML document; an environment file holds exactly one"}
	}
	if err := env.Validate(); err != nil {
		return nil, err
	}
	return env, nil
}

// UnmarshalYAML keeps the document's node for Line and decodes the fields
// through the calling decoder, so strict decoding (KnownFields) applies.
func (e *Environment) UnmarshalYAML(unmarshal func(any) error) error {
	var n nodeOf
	if err := unmarshal(&n); err != nil {
		return err
	}
	type fields Environment // no UnmarshalYAML: no recursion
	if err := unmarshal((*fields)(e)); err != nil {
		return err
	}
	e.pos = positions{root: n.node}
	return nil
}

// nodeOf catches the node it is decoded from.
type nodeOf struct{ node *yaml.Node }

func (c *nodeOf) UnmarshalYAML(n *yaml.Node) error {
	c.node = n
	return nil
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// YAMLError turns the YAML library's messages ("yaml: unmarshal errors:\n
// line 12: field x not found") about data into one file:line error per
// problem, with a tab that breaks indentation put on its own line.
func YAMLError(file string, data []byte, err error) error {
	var errs []error
	for _, line := range strings.Split(err.Error(), "\n") {
		m := yamlLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		msg := m[2]
		switch {
		case strings.Contains(msg, "tab character"):
			n = tabLine(data, n)
		case strings.Contains(msg, "cannot start any token") && tabLine(data, n) == n:
			// After a flow collection the scanner names the tab this way.
			msg = "found a tab character where indentation was expected (YAML indents with spaces)"
		}
		errs = append(errs, &Error{File: file, Line: n, Msg: msg})
	}
	if len(errs) == 0 {
		return &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	return errors.Join(errs...)
}

// tabLine returns the first line from line on whose indentation holds a
// tab: the YAML scanner reports a tab that breaks indentation on the line
// before it.
func tabLine(data []byte, line int) int {
	lines := strings.Split(string(data), "\n")
	for i := max(line-1, 0); i < len(lines); i++ {
		indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
		if strings.Contains(indent, "\t") {
			return i + 1
		}
	}
	return line
}

// Line returns the line of the node at path (mapping keys and sequence
// indexes), or of its nearest existing ancestor.
func (e *Environment) Line(path ...string) int { return e.pos.line(path) }

// Where returns "file:line" for the node at path.
func (e *Environment) Where(path ...string) string {
	if l := e.Line(path...); l > 0 {
		return fmt.Sprintf("%s:%d", e.File, l)
	}
	return e.File
}

// Errorf returns an error located at path in the environment file.
func (e *Environment) Errorf(path []string, format string, args ...any) error {
	return &Error{File: e.File, Line: e.Line(path...), Msg: fmt.Sprintf(format, args...)}
}

type positions struct{ root *yaml.Node }

func (p positions) line(path []string) int {
	n := p.root
	if n == nil {
		return 0
	}
	best := n.Line
	for _, key := range path {
		next := child(n, key)
		if next == nil {
			return best
		}
		n = next
		best = n.Line
	}
	return best
}

func child(n *yaml.Node, key string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				v := n.Content[i+1]
				if v.Kind == yaml.ScalarNode {
					return v
				}
				// Point at the key for nested blocks: it is the line a reader looks for.
				c := *v
				c.Line = n.Content[i].Line
				return &c
			}
		}
	case yaml.SequenceNode:
		i, err := strconv.Atoi(key)
		if err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}
