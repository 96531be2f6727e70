package manifest

import (
	"bufio"
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

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
	// The block style go-yaml writes, which parseBlock reads.
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app.kubernetes.io/name: api\n  name: api\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - args:\n        - --port=8080\n        - - nested\n        env:\n        - name: A\n          value: \"8080\"\n        image: api:1.0@sha256:00\n        name: api\n        resources:\n          requests:\n            cpu: 100m\n            memory: 128Mi\n      volumes: []\n  strategy: {}\n"))
	f.Add([]byte("data:\n  a.conf: |\n    line one\n\n      indented: x\n    # not a comment\n  b: |-\n    no newline\n  c: 'it''s'\n  d: \"tab\\there\"\n  e: yes\n  f: ~\n  g: 0x1F\n  h: 1e3\n  i: .5\n  j: 2001-12-14\n  k: -1\n  l:\n  m: -x\n\"quoted key\": 1\n'single': 2\n"))
	f.Add([]byte("a:\n- b: 1\n  c:\n  - 2\n-\n  d: 3\n- - x\n  - y\nz: [a]\nw: {}\n"))
	f.Add([]byte("a: b # c\nd: e:f\ng: h: i\nj: \"k\nl\"\nm: n\n  o\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, gotErr := decodeDocument(doc)
		var want map[string]any
		wantErr := yaml.UnmarshalStrict(doc, &want)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("error %v, the library's %v", gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			// Two keys the library converts to one JSON key (0 and
			// "0", 0 and 0.0) leave its answer to Go's map order: none
			// to hold the decoder to.
			if keysMeet(doc) {
				t.Skip("the library's own answer varies")
			}
			t.Fatalf("decoded\n%#v\nthe library decodes\n%#v", got, want)
		}
	})
}

// keysMeet reports whether two keys of one mapping of doc print alike, as
// the library's conversion to JSON keys makes them.
func keysMeet(doc []byte) bool {
	var v any
	if yamlv2.Unmarshal(doc, &v) != nil {
		return false
	}
	var meet func(v any) bool
	meet = func(v any) bool {
		switch t := v.(type) {
		case map[any]any:
			seen := map[string]bool{}
			for k, e := range t {
				if seen[fmt.Sprint(k)] || meet(e) {
					return true
				}
				seen[fmt.Sprint(k)] = true
			}
		case []any:
			for _, e := range t {
				if meet(e) {
					return true
				}
			}
		}
		return false
	}
	return meet(v)
}

// FuzzDocumentsAsTheLibrary: Decode's documents are k8s.io's YAMLReader's,
// chunk by chunk and error by error, and blank agrees with stripComments.
func FuzzDocumentsAsTheLibrary(f *testing.F) {
	for _, s := range []string{"", "a: 1\n", "a: 1", "---\na: 1\n", "a: 1\n---\nb: 2\n", "a: 1\n--- # c\nb: 2\n",
		"a: 1\n---x\n", "a: |\n  ---\n", "# only\n---\n", "a: 1\r\n---\r\nb: 2\r\n", " ---\n", "\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		got := documents(data)
		for i := 0; ; i++ {
			w, werr := want.Read()
			g, gerr := got()
			if !bytes.Equal(w, g) || fmt.Sprint(werr) != fmt.Sprint(gerr) {
				t.Fatalf("document %d: %q, %v; the library's %q, %v", i, g, gerr, w, werr)
			}
			if werr != nil {
				break
			}
			if blank(w) != (len(bytes.TrimSpace(stripComments(w))) == 0) {
				t.Fatalf("document %d %q: blank says %v", i, w, blank(w))
			}
		}
	})
}

// stripComments is blank's oracle: the document without its blank,
// comment and separator lines, which blank replaced (it copied the
// document to test for emptiness).
func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}
