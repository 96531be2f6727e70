package manifest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestParseBlock: the block reader reads go-yaml's block style to the
// library's value, and leaves go-yaml everything else.
func TestParseBlock(t *testing.T) {
	read := map[string]string{
		"workload": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app.kubernetes.io/name: api\n  name: api\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - args:\n        - --port=8080\n        env:\n        - name: A\n          value: \"8080\"\n        image: api:1.0\n        resources:\n          requests:\n            cpu: 100m\n      volumes: []\n  strategy: {}\n",
		"literal":  "data:\n  a.conf: |\n    one\n\n      two: x\n    # three\n  b: |-\n    no newline\n  c:\n  - |\n    in a list\n",
		"scalars":  "a: 'it''s'\nb: \"tab\\there\"\nc: yes\nd: ~\ne: 0x1F\nf: 1e3\ng: .5\nh: -1\ni:\nj: -x\nk: off-peak\nl: /etc/x\nm: a#b\np: 2001-12-14\n\"quoted key\": 1\n'single': 2\n",
		"nesting":  "a:\n- b: 1\n  c:\n  - 2\n-\n  d: 3\n- - x\n  - y\nz:\n  - 1\n",
	}
	for name, doc := range read {
		t.Run(name, func(t *testing.T) {
			got, ok := parseBlock([]byte(doc))
			if !ok {
				t.Fatal("left to go-yaml")
			}
			var want map[string]any
			if err := yaml.UnmarshalStrict([]byte(doc), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("read differently from the library (-library +read):\n%s", diff)
			}
		})
	}
	left := map[string]string{
		"comment":          "a: 1\n# note\n",
		"comment after":    "a: b # c\n",
		"blank line":       "a: 1\n\nb: 2\n",
		"tab":              "a:\n\tb: 1\n",
		"anchor":           "a: &x 1\nb: *x\n",
		"tag":              "a: !!str 1\n",
		"merge":            "a: {b: 1}\n<<: {c: 2}\n",
		"flow":             "a: {b: 1}\n",
		"folded":           "a: >\n  b\n",
		"keep":             "a: |+\n  b\n\n",
		"indicator":        "a: |2\n    b\n",
		"over lines":       "a: b\n  c\n",
		"quoted over":      "a: \"b\n  c\"\n",
		"duplicate":        "a: 1\na: 2\n",
		"number key":       "1: a\n",
		"bool key":         "on: a\n",
		"marker":           "---\na: 1\n",
		"big number":       "a: 9007199254740993\n",
		"crlf":             "a: 1\r\n",
		"control":          "a: \"\x01\"\n",
		"top sequence":     "- a\n",
		"no newline":       "a: 1",
		"invalid UTF-8":    "a: \xff\n",
		"key and value":    "a: b: c\n",
		"indented top":     " a: 1\n",
		"deeper line next": "a: 1\n  b: 2\n",
	}
	for name, doc := range left {
		t.Run(name, func(t *testing.T) {
			if got, ok := parseBlock([]byte(doc)); ok {
				var want map[string]any
				err := yaml.UnmarshalStrict([]byte(doc), &want)
				t.Errorf("read %v; want it left to go-yaml (which gives %v, %v)", got, want, err)
			}
		})
	}
}
