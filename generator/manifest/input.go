package manifest

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"

	"sigs.k8s.io/yaml"
)

// Document is one document of a YAML stream given as input, with the line
// it starts on.
type Document struct {
	Line   int
	Object *Object
}

var yamlErrLine = regexp.MustCompile(`line (\d+): `)

// DecodeInput splits a user's manifest stream (as kubectl or conftest take
// it) into objects, one document at a time: a broken document is reported
// as source:line and the others are still returned. Unlike Decode, an
// object may be named by metadata.generateName, as the API server allows.
func DecodeInput(source string, data []byte) ([]Document, []error) {
	var docs []Document
	var errs []error
	for _, chunk := range splitDocuments(data) {
		if blank(chunk.data) {
			continue
		}
		var m map[string]any
		if err := yaml.UnmarshalStrict(chunk.data, &m); err != nil {
			line, msg := chunk.line, err.Error()
			if sub := yamlErrLine.FindStringSubmatchIndex(msg); sub != nil {
				n, _ := strconv.Atoi(msg[sub[2]:sub[3]])
				line += n - 1
				msg = msg[sub[1]:]
			}
			errs = append(errs, fmt.Errorf("%s:%d: %s", source, line, msg))
			continue
		}
		if m == nil {
			continue
		}
		o := &Object{Object: m}
		if o.GetAPIVersion() == "" || o.GetKind() == "" {
			errs = append(errs, &NotObjectError{fmt.Errorf("%s:%d: an object needs apiVersion, kind and metadata.name or metadata.generateName", source, chunk.line)})
			continue
		}
		if o.GetName() == "" && o.GetGenerateName() == "" {
			errs = append(errs, fmt.Errorf("%s:%d: an object needs apiVersion, kind and metadata.name or metadata.generateName", source, chunk.line))
			continue
		}
		docs = append(docs, Document{Line: chunk.line, Object: o})
	}
	return docs, errs
}

// NotObjectError is DecodeInput's error for a document that is YAML but
// names no apiVersion or kind: data (a JSON file, a values file) rather
// than a Kubernetes object.
type NotObjectError struct{ Err error }

func (e *NotObjectError) Error() string { return e.Err.Error() }
func (e *NotObjectError) Unwrap() error { return e.Err }

type chunk struct {
	line int // first line of the document's content
	data []byte
}

// splitDocuments cuts a stream at its "---" separator lines.
func splitDocuments(data []byte) []chunk {
	var out []chunk
	cur := chunk{line: 1}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, l := range lines {
		t := bytes.TrimRight(l, " \t\r\n")
		if bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			out = append(out, cur)
			cur = chunk{line: i + 2}
			continue
		}
		cur.data = append(cur.data, l...)
	}
	return append(out, cur)
}

// Name is the object's name, or its generateName prefix when the API server
// is to name it.
func Name(o *Object) string {
	if n := o.GetName(); n != "" {
		return n
	}
	return o.GetGenerateName()
}
