package manifest

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/libertum/platform-gitops/generator/exact"
)

// MarshalJSON returns what encoding/json.Marshal returns for v, byte for
// byte, writing the JSON-shaped values an object holds (maps with string
// keys, slices, strings, numbers, booleans, null) without reflection;
// anything else, and a string it would escape, is left to encoding/json.
// The schema check encodes every object to decode it strictly into its Go
// type, and encoding/json's reflection was a third of that check.
func MarshalJSON(v any) ([]byte, error) {
	if exact.On() {
		return json.Marshal(v)
	}
	if b, ok := appendJSON(make([]byte, 0, 1024), v); ok {
		return b, nil
	}
	return json.Marshal(v)
}

func appendJSON(b []byte, v any) ([]byte, bool) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		return strconv.AppendBool(b, t), true
	case string:
		return appendJSONString(b, t)
	case int64:
		return strconv.AppendInt(b, t, 10), true
	case int:
		return strconv.AppendInt(b, int64(t), 10), true
	case int32:
		return strconv.AppendInt(b, int64(t), 10), true
	case float64:
		return appendJSONFloat(b, t)
	case []any:
		if t == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSON(b, e); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		if t == nil {
			return append(b, "null"...), true
		}
		var stack [32]string
		keys := stack[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSONString(b, k); !ok {
				return b, false
			}
			b = append(b, ':')
			if b, ok = appendJSON(b, t[k]); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	return b, false
}

// appendJSONString writes s quoted when encoding/json would write it as it
// is: printable ASCII without the characters it escapes (quote, backslash,
// and <, > and & for HTML).
func appendJSONString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// appendJSONFloat writes f as encoding/json does: the shortest decimal,
// exponent form below 1e-6 and from 1e21, with a one-digit exponent where
// Go writes two. NaN and infinities are not JSON: left to encoding/json,
// which refuses them.
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
