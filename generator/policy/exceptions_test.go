package policy

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

const exceptionsHead = "apiVersion: policy.libertum.io/v1alpha1\nkind: ExceptionList\nexceptions:\n"

const oneException = exceptionsHead + `  - rule: podsecurity.host-path
    component: promtail
    kind: DaemonSet
    name: promtail
    reason: reads node logs
    owner: platform@libertum.io
    expires: "EXPIRES"
`

// TestParseExceptionsErrors: every problem names the file and, where one
// exists, the line.
func TestParseExceptionsErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"empty file", "", "policies/exceptions.yaml: the file is empty"},
		{"comments only", "# nothing yet\n", "policies/exceptions.yaml: the file is empty"},
		{"unknown field", strings.Replace(oneException, "    owner:", "    colour: blue\n    owner:", 1), "policies/exceptions.yaml:9: field colour not found"},
		{"impossible date", strings.Replace(oneException, "EXPIRES", "2027-02-30", 1), `policies/exceptions.yaml:4: expires "2027-02-30" is no date: day out of range`},
		{"not a date", strings.Replace(oneException, "EXPIRES", "next year", 1), `policies/exceptions.yaml:4: expires "next year": want YYYY-MM-DD`},
		{"missing fields", exceptionsHead + "  - rule: x.y\n", "policies/exceptions.yaml:4: exception needs"},
		{"wrong kind", "apiVersion: v1\nkind: List\n", "policies/exceptions.yaml:1: want apiVersion"},
		{"broken yaml", exceptionsHead + "  - rule: [\n", "policies/exceptions.yaml:"},
		{"tab breaking indentation", exceptionsHead + "  - rule: a.b\n    component: x\n\tkind: y\n", "policies/exceptions.yaml:6: found a tab character"},
	}
	for _, tc := range tests {
		_, err := ParseExceptions("policies/exceptions.yaml", []byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestExceptionsCheck: an exception for a rule or component that does not
// exist is an error at its line.
func TestExceptionsCheck(t *testing.T) {
	ex, err := ParseExceptions("policies/exceptions.yaml", []byte(strings.Replace(oneException, "EXPIRES", "2027-05-31", 1)))
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{"podsecurity.host-path": true}
	if err := ex.Check(rules, map[string]bool{"promtail": true}); err != nil {
		t.Errorf("known rule and component: %v", err)
	}
	err = ex.Check(map[string]bool{"podsecurity.non-root": true}, map[string]bool{"loki": true})
	for _, want := range []string{`policies/exceptions.yaml:4: rule "podsecurity.host-path" is no rule`, `policies/exceptions.yaml:4: component "promtail" is in no environment`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	if got := ex.Apply([]Finding{{Rule: "podsecurity.host-path", Level: Deny, Unit: layout.Unit{Component: "promtail"}, Kind: "DaemonSet", Name: "promtail"}}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); got[0].Level != Warn {
		t.Errorf("a current exception did not waive its finding: %+v", got)
	}
}

// TestRuleNames: the rule names come from the policy files, tests
// excluded.
func TestRuleNames(t *testing.T) {
	files := readDir(t, filepath.Join(platformtest.Repo(), "policies"))
	rules := RuleNames(files)
	if rules["libertum.lib"] {
		t.Error("a package name counted as a rule")
	}
	for _, want := range []string{"images.latest", "network.default-deny", "podsecurity.host-path", "resources.requests"} {
		if !rules[want] {
			t.Errorf("RuleNames lacks %s", want)
		}
	}
}

// FuzzParseExceptions: no input panics, and an accepted file's exceptions
// all carry a line.
func FuzzParseExceptions(f *testing.F) {
	f.Add([]byte(strings.Replace(oneException, "EXPIRES", "2027-05-31", 1)))
	f.Add([]byte(""))
	f.Add([]byte(exceptionsHead + "  - {rule: a.b}\n"))
	f.Add([]byte("kind: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := ParseExceptions("policies/exceptions.yaml", data)
		if err != nil {
			return
		}
		for _, e := range ex.Exceptions {
			if e.line == 0 {
				t.Errorf("exception %+v has no line", e)
			}
		}
	})
}
