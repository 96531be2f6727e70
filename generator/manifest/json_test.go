package manifest

import (
	"encoding/json"
	"math"
	"testing"
)

// sameAsEncodingJSON fails t when MarshalJSON differs from encoding/json.
func sameAsEncodingJSON(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := MarshalJSON(v)
	if (err != nil) != (wantErr != nil) || string(got) != string(want) {
		t.Errorf("MarshalJSON(%#v) = %s, %v; encoding/json: %s, %v", v, got, err, want, wantErr)
	}
}

// TestMarshalJSONIsEncodingJSON: the bytes encoding/json writes, for the
// numbers and strings it treats specially and for every object of the
// repo's rendered tree.
func TestMarshalJSONIsEncodingJSON(t *testing.T) {
	floats := []any{0.0, math.Copysign(0, -1), 1.0, -2.5, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 5e-324, 1e20, 1e21, 1.2345e21,
		math.MaxFloat64, 123456789.125, 1.0 / 3, float64(1<<53 + 1)}
	for _, f := range floats {
		sameAsEncodingJSON(t, f)
	}
	for _, v := range []any{math.NaN(), math.Inf(1)} {
		if _, err := MarshalJSON(v); err == nil {
			t.Errorf("MarshalJSON(%v) gave no error", v)
		}
	}
	for _, v := range []any{
		"", "plain", "with space", `quote"`, `back\slash`, "<html>&", "tab\t", "new\nline", "ünïcødé", "\x7f", "\xff",
		int64(-7), 42, int32(3), true, false, nil, []any(nil), map[string]any(nil), []any{}, map[string]any{},
		map[string]any{"b": 1.5, "a": []any{"x", nil, map[string]any{"z": true, "<": "k"}}, "": "empty key"},
		map[string]any{"typed": []string{"a"}, "n": json.Number("12")},
	} {
		sameAsEncodingJSON(t, v)
	}

	objects := 0
	forRenderedFiles(t, func(_ string, _ []byte, objs []*Object) {
		for _, o := range objs {
			objects++
			sameAsEncodingJSON(t, o.Object)
		}
	})
	if objects < 500 {
		t.Errorf("compared %d objects of rendered/", objects)
	}
}

// FuzzMarshalJSON: for values built from arbitrary bytes, MarshalJSON
// writes what encoding/json writes.
func FuzzMarshalJSON(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06"), "a <b> & \"c\"")
	f.Add([]byte(strings20), "1e21")
	f.Fuzz(func(t *testing.T, shape []byte, text string) {
		g := docGen{shape: shape, text: text}
		sameAsEncodingJSON(t, g.value(0))
	})
}

const strings20 = "\x00\x03\x11\x00\x03\x11\x00\x03\x11\x00\x03\x11\x00\x03\x11\x00\x03\x11\x00\x03"
