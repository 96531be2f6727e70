package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Dir is the repo-relative folder holding environment files.
const Dir = "environments"

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

// Names lists the environments under root/environments, sorted.
func Names(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, Dir))
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".yaml" {
			continue
		}
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names, nil
}

// Load reads, strictly decodes and validates root/environments/<name>.yaml.
func Load(root, name string) (*Environment, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	rel := filepath.ToSlash(filepath.Join(Dir, name+".yaml"))
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return nil, fmt.Errorf("read environment %s: %w", name, err)
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
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil, &Error{File: file, Msg: "empty environment file"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	env := &Environment{File: file}
	if err := dec.Decode(env); err != nil {
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{File: file, Line: extra.Line, Msg: "more than one YAML document; an environment file holds exactly one"}
	}
	env.pos = positions{root: root.Content[0]}
	if err := env.Validate(); err != nil {
		return nil, err
	}
	return env, nil
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns the YAML library's messages ("yaml: unmarshal errors:\n
// line 12: field x not found") into one file:line error per problem.
func yamlError(file string, err error) error {
	var errs []error
	for _, line := range strings.Split(err.Error(), "\n") {
		m := yamlLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		errs = append(errs, &Error{File: file, Line: n, Msg: m[2]})
	}
	if len(errs) == 0 {
		return &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	return errors.Join(errs...)
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
