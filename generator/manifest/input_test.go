package manifest

import (
	"errors"
	"testing"
)

// TestDecodeInputTellsDataFromBrokenObjects: a document naming no
// apiVersion or kind is data (NotObjectError); an object without a name
// and a duplicate key are broken objects.
func TestDecodeInputTellsDataFromBrokenObjects(t *testing.T) {
	tests := []struct {
		name, in string
		data     bool
	}{
		{"json data", `{"originGroup": "prod", "origins": []}`, true},
		{"values file", "replicas: 2\nimage: {tag: x}\n", true},
		{"object without a name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", false},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1', x: '2'}\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, broken := DecodeInput("f.yaml", []byte(tc.in))
			if len(docs) != 0 || len(broken) != 1 {
				t.Fatalf("docs %d, broken %v; want one broken document", len(docs), broken)
			}
			var notObject *NotObjectError
			if errors.As(broken[0], &notObject) != tc.data {
				t.Errorf("%v: data = %v, want %v", broken[0], !tc.data, tc.data)
			}
		})
	}
}
