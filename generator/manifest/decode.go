package manifest

import (
	"math"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/exact"
)

// decodeDocument decodes one YAML document into an object's map, giving
// what sigs.k8s.io/yaml.UnmarshalStrict gives: go-yaml v2 parses it
// strictly, the values are made JSON's (string keys, every number a
// float64) and encoded to JSON and decoded back. Reading back a rendered
// tree decodes every file, and the JSON round trip was a third of it, so
// go-yaml's values are converted directly where the conversion is exact by
// construction: maps whose keys are all strings, valid UTF-8 strings,
// booleans, nulls, lists and finite numbers of at most 53 bits. Anything
// else (and every error, so its message is the library's) is left to the
// library, as is every document with GITOPS_EXACT=1. Before go-yaml,
// parseBlock reads the block style go-yaml writes without its parser.
// FuzzDecodeIsTheLibrary holds the three to the same result.
func decodeDocument(doc []byte) (map[string]any, error) {
	if !exact.On() {
		if m, ok := parseBlock(doc); ok {
			return m, nil
		}
		if m, ok := convertDocument(doc); ok {
			return m, nil
		}
	}
	var m map[string]any
	err := yaml.UnmarshalStrict(doc, &m)
	return m, err
}

// convertDocument is decodeDocument's fast path; false leaves the
// document to the library.
func convertDocument(doc []byte) (map[string]any, bool) {
	var v any
	if yamlv2.UnmarshalStrict(doc, &v) != nil {
		return nil, false
	}
	return jsonMap(v)
}

// maxExact is the largest integer every float64 holds exactly.
const maxExact = 1 << 53

// jsonValue is go-yaml's v as JSON decodes it, and false for a value whose
// conversion might differ from the JSON round trip's.
func jsonValue(v any) (any, bool) {
	switch t := v.(type) {
	case nil, bool:
		return t, true
	case string:
		return t, utf8.ValidString(t)
	case int:
		return float64(t), t >= -maxExact && t <= maxExact
	case int64:
		return float64(t), t >= -maxExact && t <= maxExact
	case float64:
		return t, !math.IsInf(t, 0) && !math.IsNaN(t)
	case map[any]any:
		return jsonMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			var ok bool
			if out[i], ok = jsonValue(e); !ok {
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

// jsonMap is jsonValue for a map with string keys (the document's top
// level must be one).
func jsonMap(v any) (map[string]any, bool) {
	t, ok := v.(map[any]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]any, len(t))
	for k, e := range t {
		key, ok := k.(string)
		if !ok || !utf8.ValidString(key) {
			return nil, false
		}
		if out[key], ok = jsonValue(e); !ok {
			return nil, false
		}
	}
	return out, true
}
