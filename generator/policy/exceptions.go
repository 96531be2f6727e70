package policy

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/libertum/platform-gitops/generator/spec"
)

// Exceptions is the exceptions file.
type Exceptions struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Exceptions []Exception `yaml:"exceptions"`

	file string
}

// Exception waives one rule for one object, for a while.
type Exception struct {
	Rule string `yaml:"rule"`
	// Environments limits the exception; empty means every environment.
	Environments []string `yaml:"environments,omitempty"`
	Component    string   `yaml:"component"`
	Kind         string   `yaml:"kind"`
	Name         string   `yaml:"name"`
	Reason       string   `yaml:"reason"`
	Owner        string   `yaml:"owner"`
	// Expires is the last day (YYYY-MM-DD) the exception holds.
	Expires string `yaml:"expires"`

	line    int
	expires time.Time
}

// LoadExceptions reads and checks the exceptions file; a missing file means none.
func LoadExceptions(path string) (*Exceptions, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Exceptions{file: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read exceptions: %w", err)
	}
	return ParseExceptions(path, data)
}

// ParseExceptions strictly decodes and checks an exceptions file; path
// names it in errors, each with its line.
func ParseExceptions(path string, data []byte) (*Exceptions, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, spec.YAMLError(path, data, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty; want apiVersion policy.libertum.io/v1alpha1, kind ExceptionList and a list of exceptions (or delete the file)", path)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	ex := &Exceptions{file: path}
	if err := dec.Decode(ex); err != nil {
		return nil, spec.YAMLError(path, data, err)
	}
	if ex.APIVersion != "policy.libertum.io/v1alpha1" || ex.Kind != "ExceptionList" {
		return nil, fmt.Errorf("%s:%d: want apiVersion policy.libertum.io/v1alpha1, kind ExceptionList", path, doc.Content[0].Line)
	}
	items := exceptionNodes(&doc)
	var errs []error
	for i := range ex.Exceptions {
		e := &ex.Exceptions[i]
		if i < len(items) {
			e.line = items[i].Line
		}
		var missing []string
		for field, v := range map[string]string{"rule": e.Rule, "component": e.Component, "kind": e.Kind, "name": e.Name, "reason": e.Reason, "owner": e.Owner, "expires": e.Expires} {
			if v == "" {
				missing = append(missing, field)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("%s:%d: exception needs %v", path, e.line, sortedStrings(missing)))
			continue
		}
		t, err := time.Parse(time.DateOnly, e.Expires)
		var perr *time.ParseError
		switch {
		case errors.As(err, &perr) && perr.Message != "":
			errs = append(errs, fmt.Errorf("%s:%d: expires %q is no date%s", path, e.line, e.Expires, perr.Message))
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("%s:%d: expires %q: want YYYY-MM-DD", path, e.line, e.Expires))
			continue
		}
		e.expires = t
	}
	return ex, errors.Join(errs...)
}

func exceptionNodes(doc *yaml.Node) []*yaml.Node {
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "exceptions" {
			return root.Content[i+1].Content
		}
	}
	return nil
}

func (e *Exception) matches(f Finding) bool {
	if e.Rule != f.Rule || e.Component != f.Component || e.Kind != f.Kind || e.Name != f.Name {
		return false
	}
	if len(e.Environments) == 0 {
		return true
	}
	for _, env := range e.Environments {
		if env == f.Env {
			return true
		}
	}
	return false
}

// Apply waives the findings a current exception covers (they stay in the
// result, marked, at level warn) and adds a violation for every expired
// exception. today is the date exceptions are judged on.
func (x *Exceptions) Apply(fs []Finding, today time.Time) []Finding {
	out := make([]Finding, 0, len(fs))
	day := today.UTC().Truncate(24 * time.Hour)
	for _, f := range fs {
		for i := range x.Exceptions {
			e := &x.Exceptions[i]
			if f.Level == Deny && e.matches(f) && !day.After(e.expires) {
				f.Level = Warn
				f.Exception = fmt.Sprintf("%s (owner %s, until %s)", e.Reason, e.Owner, e.Expires)
				break
			}
		}
		out = append(out, f)
	}
	for _, e := range x.Exceptions {
		if day.After(e.expires) {
			out = append(out, Finding{
				Rule:    "exceptions.expired",
				Level:   Deny,
				Kind:    e.Kind,
				Name:    e.Name,
				Source:  fmt.Sprintf("%s:%d", x.file, e.line),
				Message: fmt.Sprintf("the exception to %s for %s %s (owner %s) expired on %s", e.Rule, e.Kind, e.Name, e.Owner, e.Expires),
				Fix:     "fix the finding and remove the exception, or renew it after review",
			})
		}
	}
	return out
}

// Check reports every exception that names a rule or a component nobody
// knows: such an exception waives nothing, so its typo would go unseen.
func (x *Exceptions) Check(rules, components map[string]bool) error {
	var errs []error
	for _, e := range x.Exceptions {
		if e.Rule != "" && !rules[e.Rule] {
			errs = append(errs, fmt.Errorf("%s:%d: rule %q is no rule of the policies (known: %s)", x.file, e.line, e.Rule, strings.Join(slices.Sorted(maps.Keys(rules)), ", ")))
		}
		if e.Component != "" && !components[e.Component] {
			errs = append(errs, fmt.Errorf("%s:%d: component %q is in no environment", x.file, e.line, e.Component))
		}
	}
	return errors.Join(errs...)
}

var ruleLiteral = regexp.MustCompile(`"([a-z][a-z0-9]*\.[a-z0-9][a-z0-9.-]*)"`)

// RuleNames lists the rule names policy files (path to source) can
// report: the "concern.rule" string literals of their modules (tests
// excluded).
func RuleNames(files map[string][]byte) map[string]bool {
	out := map[string]bool{}
	for p, b := range files {
		if strings.HasSuffix(p, "_test.rego") {
			continue
		}
		for _, m := range ruleLiteral.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
	}
	return out
}
