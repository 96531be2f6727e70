package manifest

import (
	"reflect"
	"regexp"
	"testing"

	"sigs.k8s.io/yaml"
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

// FuzzDecodeIsTheLibrary: a document decodes to what
// sigs.k8s.io/yaml.UnmarshalStrict gives (the same map, the same error),
// whether the fast conversion or the library decoded it.
func FuzzDecodeIsTheLibrary(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: X\nmetadata: {name: a}\nspec: {i: 3, f: 3.5, big: 12345678901234567890, e: 1e3, s: '3', l: [1, a, null, true]}\n"))
	f.Add([]byte("y: yes\nn: null\n1: x\n"))
	f.Add([]byte("a: .inf\nb: -.nan\nc: 9007199254740993\nd: -0.0\n"))
	f.Add([]byte("a: \"\\xff\"\nb: 2001-12-14t21:59:43.10-05:00\n"))
	f.Add([]byte("a: 1\na: 2\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\nd: {<<: *x, e: 2}\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, gotErr := decodeDocument(doc)
		var want map[string]any
		wantErr := yaml.UnmarshalStrict(doc, &want)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("error %v, the library's %v", gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded\n%#v\nthe library decodes\n%#v", got, want)
		}
	})
}
