package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/policy"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes one suite per environment, one case per checked object (its
// denied findings as the failure) and one failing case per drifted file.
func JUnit(w io.Writer, r *action.Report) error {
	byFile := map[string][]policy.Finding{}
	var loose []policy.Finding
	for _, f := range r.Findings {
		if f.Level != policy.Deny {
			continue
		}
		if f.File == "" {
			loose = append(loose, f)
			continue
		}
		byFile[f.File] = append(byFile[f.File], f)
	}
	suites := map[string]*junitSuite{}
	var order []string
	suite := func(env string) *junitSuite {
		if s, ok := suites[env]; ok {
			return s
		}
		s := &junitSuite{Name: env}
		suites[env] = s
		order = append(order, env)
		return s
	}
	for _, env := range r.Envs {
		suite(env)
	}
	for _, o := range r.Objects {
		s := suite(o.Env)
		c := junitCase{Name: o.File, Classname: o.Env + "." + o.Stamp + "." + o.Component}
		if fs := byFile[o.File]; len(fs) > 0 {
			var lines []string
			for _, f := range fs {
				lines = append(lines, f.String())
			}
			c.Failure = &junitFailure{Message: fmt.Sprintf("%d violations", len(fs)), Text: strings.Join(lines, "\n")}
			s.Failures++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	for _, f := range loose {
		s := suite(f.Env)
		s.Tests++
		s.Failures++
		s.Cases = append(s.Cases, junitCase{Name: f.Rule + " " + f.Object(), Classname: f.Env, Failure: &junitFailure{Message: f.Rule, Text: f.String()}})
	}
	for _, d := range r.Drift {
		rel, _ := layout.FromRepoPath(d.Path)
		env := layout.Env(rel)
		s := suite(env)
		s.Tests++
		s.Failures++
		s.Cases = append(s.Cases, junitCase{Name: "drift " + d.Path, Classname: env + ".drift",
			Failure: &junitFailure{Message: string(d.Status), Text: d.Resource() + " differs from a fresh render"}})
	}
	out := junitSuites{}
	for _, env := range order {
		s := suites[env]
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Suites = append(out.Suites, *s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
