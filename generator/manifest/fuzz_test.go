package manifest

import (
	"regexp"
	"testing"
)

var located = regexp.MustCompile(`^in\.yaml:\d+: `)

// FuzzDecodeInput: no manifest stream panics the decoder; every broken
// document is reported as file:line; every object has a kind and a name
// or generateName.
func FuzzDecodeInput(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: b-\n"))
	f.Add([]byte("---\n---\n# only comments\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("\tkind: x\n"))
	f.Add([]byte("{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"n\"}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, errs := DecodeInput("in.yaml", data)
		for _, err := range errs {
			if !located.MatchString(err.Error()) {
				t.Errorf("error without file:line: %v", err)
			}
		}
		for _, d := range docs {
			if d.Line < 1 || d.Object.GetKind() == "" || Name(d.Object) == "" {
				t.Errorf("document at line %d: kind %q, name %q", d.Line, d.Object.GetKind(), Name(d.Object))
			}
		}
	})
}
