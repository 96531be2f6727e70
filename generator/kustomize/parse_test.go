package kustomize

import (
	"bytes"
	"errors"
	"io"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// decodeAll is what checkDocuments did before it kept the parsed
// documents: decode every document of the stream into a Go value, up to
// the first error.
func decodeAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var parseSeeds = []string{
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
	"a: 1\n---\nb: 2\n---\n",
	"---\n---\n",
	"",
	"a: b: c\n",
	"a: [1, 2\n",
	"kind: A\nkind: B\n",
	"a:\n  b: 1\n  c: 2\n  b: 3\n",
	"a: 1\n---\nx: {y: 1, y: 2}\n",
	"a: !!int abc\n",
	"a: !!str 1\n",
	"a: &x {b: 1}\nc: *x\n",
	"a: *missing\n",
	"base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n",
	"1: a\n01: b\n",
	"? [a]\n: 1\n? [a]\n: 2\n",
	"a: |\n  text\n  more\n",
	"- a\n- a\n",
	"a: 1\n\tb: 2\n",
	"x: !custom value\n",
	"a: &a [*a]\n",
}

// TestParseDocumentsChecksAsDecoding: parsing once, and decoding only the
// documents that could fail to decode, accepts and refuses exactly what
// decoding every document accepts and refuses, with the same message.
func TestParseDocumentsChecksAsDecoding(t *testing.T) {
	for _, s := range parseSeeds {
		sameCheck(t, []byte(s))
	}
}

func FuzzParseDocuments(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameCheck(t, data) })
}

func sameCheck(t *testing.T, data []byte) {
	t.Helper()
	_, err := parseDocuments(data)
	want := decodeAll(data)
	if (err == nil) != (want == nil) || err != nil && err.Error() != want.Error() {
		t.Fatalf("%q: parseDocuments: %v, decoding: %v", data, err, want)
	}
}
