package manifest

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
)

// emit writes the canonical YAML of an object's content straight from the
// object: what Encode's prune, number conversion and go-yaml v2 give, byte
// for byte, without copying the object twice and without go-yaml's emitter,
// whose event queue allocated a third of a large render's memory. ok is
// false for anything it does not reproduce exactly (keys too long to be
// simple, strings go-yaml quotes over several lines, values JSON would not
// hold); Encode then takes go-yaml. Scalars other than plain words are still go-yaml's:
// each is marshalled alone once (scalarToken) and its bytes reused.
//
// go-yaml v2's block style, as reproduced here: mappings indent by two,
// keys sorted in its natural order (keyLess); a sequence in a mapping is
// not indented; a collection in a sequence item starts on the item's line;
// empty collections are written {} and []; a scalar follows its key or
// dash on the same line; go-yaml folds a scalar only at a space past
// column 80, so a scalar with a space that would reach past it gives up.
func emit(content map[string]any) ([]byte, bool) {
	e := emitter{buf: make([]byte, 0, 2048)}
	if !e.mapping(content, 0, false, true) {
		return nil, false
	}
	return e.buf, true
}

type emitter struct {
	buf []byte
}

// bestWidth is go-yaml's line width: it folds scalars at spaces past it.
const bestWidth = 80

// lineBreaks are the characters go-yaml counts as line breaks; a key
// holding one is written as a complex "? key" entry.
const lineBreaks = "\r\n\u0085\u2028\u2029"

// maxSimpleKey is the longest key go-yaml writes as "key:" rather than as
// a complex "? key" entry.
const maxSimpleKey = 128

func (e *emitter) indent(n int) {
	for range n {
		e.buf = append(e.buf, ' ')
	}
}

// mapping writes m's entries at column indent; inline: the first entry
// goes on the current line (after a sequence's dash). top: the document,
// whose status is dropped.
func (e *emitter) mapping(m map[string]any, indent int, inline, top bool) bool {
	var stack [32]string
	keys := liveKeys(stack[:0], m, top)
	if len(keys) == 0 {
		e.buf = append(e.buf, "{}\n"...)
		return true
	}
	slices.SortFunc(keys, keyCompare)
	for i, k := range keys {
		if i > 0 || !inline {
			e.indent(indent)
		}
		if len(k) > maxSimpleKey || strings.ContainsAny(k, lineBreaks) {
			return false
		}
		col := len(e.buf) - lineStart(e.buf)
		tok, ok := scalarToken(k, col)
		if !ok {
			return false
		}
		e.buf = append(e.buf, tok...)
		e.buf = append(e.buf, ':')
		if !e.value(m[k], indent, col+len(tok)+1, true) {
			return false
		}
	}
	return true
}

// sequence writes s's items at column indent; inline as for mapping.
func (e *emitter) sequence(s []any, indent int, inline bool) bool {
	for i, v := range s {
		if i > 0 || !inline {
			e.indent(indent)
		}
		e.buf = append(e.buf, '-')
		if !e.value(v, indent, indent+1, false) {
			return false
		}
	}
	return true
}

// value writes v after a key's colon (inMapping) or a sequence's dash, col
// being the column just past it and indent the column of that key or dash.
func (e *emitter) value(v any, indent, col int, inMapping bool) bool {
	switch t := v.(type) {
	case map[string]any:
		if !anyKept(t) {
			e.buf = append(e.buf, " {}\n"...)
			return true
		}
		if inMapping {
			e.buf = append(e.buf, '\n')
			return e.mapping(t, indent+2, false, false)
		}
		e.buf = append(e.buf, ' ')
		return e.mapping(t, indent+2, true, false)
	case []any:
		if len(t) == 0 {
			e.buf = append(e.buf, " []\n"...)
			return true
		}
		if inMapping {
			e.buf = append(e.buf, '\n')
			return e.sequence(t, indent, false)
		}
		e.buf = append(e.buf, ' ')
		return e.sequence(t, indent+2, true)
	}
	if s, isString := v.(string); isString && strings.IndexByte(s, '\n') >= 0 {
		return e.block(s, indent)
	}
	e.buf = append(e.buf, ' ')
	ok := false
	switch t := v.(type) {
	case string:
		var tok string
		if tok, ok = scalarToken(t, col+1); ok {
			e.buf = append(e.buf, tok...)
		}
	case nil:
		e.buf, ok = append(e.buf, "null"...), true
	case bool:
		e.buf, ok = strconv.AppendBool(e.buf, t), true
	case int:
		e.buf, ok = appendNumber(e.buf, float64(t), int64(t))
	case int32:
		e.buf, ok = appendNumber(e.buf, float64(t), int64(t))
	case int64:
		e.buf, ok = appendNumber(e.buf, float64(t), t)
	case float64:
		e.buf, ok = appendNumber(e.buf, t, int64(t))
	}
	e.buf = append(e.buf, '\n')
	return ok
}

// block writes a string holding line breaks as go-yaml v2 writes it in
// block context: a literal block scalar ("|", "|-", "|2+", ...) after the
// key or dash, its lines two columns right of them. The bytes are
// go-yaml's for the string alone (header, then lines two columns in),
// each line that has any moved right by indent; a blank line stays empty,
// as go-yaml indents only before text. ok is false when go-yaml would
// quote the string instead, and for line breaks other than "\n", after
// which go-yaml indents too.
func (e *emitter) block(s string, indent int) bool {
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\u0085\u2028\u2029") {
		return false
	}
	b, err := yamlv2.Marshal(s)
	if err != nil || len(b) == 0 || b[0] != '|' {
		return false
	}
	header, body, _ := strings.Cut(string(b), "\n")
	e.buf = append(e.buf, ' ')
	e.buf = append(e.buf, header...)
	e.buf = append(e.buf, '\n')
	for body != "" {
		line, rest, _ := strings.Cut(body, "\n")
		if line != "" {
			e.indent(indent)
			e.buf = append(e.buf, line...)
		}
		e.buf = append(e.buf, '\n')
		body = rest
	}
	return true
}

// appendNumber writes a number as Encode's conversion and go-yaml do:
// integral values below 2^53 as integers, others as Go's shortest float.
// NaN, infinities and larger integers are not JSON numbers: not ok.
func appendNumber(buf []byte, f float64, i int64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 1<<53 {
		return buf, false
	}
	if f == math.Trunc(f) {
		return strconv.AppendInt(buf, i, 10), true
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64), true
}

// liveKeys appends the keys of m that prune keeps to keys; top: m is the
// document, whose status is dropped.
func liveKeys(keys []string, m map[string]any, top bool) []string {
	for k, v := range m {
		if kept(k, v) && !(top && k == "status") {
			keys = append(keys, k)
		}
	}
	return keys
}

func lineStart(buf []byte) int {
	for i := len(buf) - 1; i >= 0; i-- {
		if buf[i] == '\n' {
			return i + 1
		}
	}
	return 0
}

// scalarToken is how go-yaml v2 writes the string s starting at column
// col: s itself for a plain word, otherwise what go-yaml writes for s alone
// (quoted, escaped). ok is false for what go-yaml would write over several
// lines here: a string with a line break, or with a space that would reach
// past bestWidth.
func scalarToken(s string, col int) (string, bool) {
	if plainWord(s) {
		return s, true
	}
	tok, ok := marshalledScalar(s)
	if !ok || strings.IndexByte(tok, ' ') >= 0 && col+len(tok) > bestWidth {
		return "", false
	}
	return tok, true
}

// plainWord: s is written as it is by go-yaml wherever it stands. It
// starts with a letter, '/' or '_', so go-yaml does not read it as a
// number, a null or a boolean (a short word starting with one of
// yYnNtTfFoO may be one, and is left to go-yaml), and holds only letters,
// digits and ".-_/", and ':' where no space or end follows (": " makes a
// mapping).
func plainWord(s string) bool {
	if s == "" {
		return false
	}
	switch c := s[0]; {
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		if len(s) <= 5 && strings.IndexByte("yYnNtTfFoO", c) >= 0 {
			return false
		}
	case c == '/' || c == '_':
	default:
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == '_', c == '/':
		case c == ':' && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

// scalars caches go-yaml's bytes for strings that are not plain words:
// the same values (ports as strings, quantities, sentences in annotations)
// recur across every stamp.
var scalars sync.Map // string -> string ("" when go-yaml needs lines)

// maxCachedScalar bounds what the cache keeps; longer strings are
// marshalled each time.
const maxCachedScalar = 256

func marshalledScalar(s string) (string, bool) {
	if strings.IndexByte(s, '\n') >= 0 || !utf8.ValidString(s) {
		return "", false
	}
	if tok, ok := scalars.Load(s); ok {
		return tok.(string), tok != ""
	}
	b, err := yamlv2.Marshal(s)
	tok := ""
	if err == nil && len(b) > 0 && b[len(b)-1] == '\n' && strings.IndexByte(string(b[:len(b)-1]), '\n') < 0 {
		tok = string(b[:len(b)-1])
	}
	if len(s) <= maxCachedScalar {
		scalars.Store(s, tok)
	}
	return tok, tok != ""
}

// keyCompare orders keys as go-yaml v2 sorts a map's keys: letters by code
// point and before anything else, runs of digits by their value; equal
// keys in its order are left in byte order (go-yaml's own order between
// them depends on the map's).
func keyCompare(a, b string) int {
	if keyLess(a, b) {
		return -1
	}
	if keyLess(b, a) {
		return 1
	}
	return strings.Compare(a, b)
}

// keyLess is go-yaml v2's order of two string keys.
func keyLess(a, b string) bool {
	var abuf, bbuf [64]rune
	ar, br := appendRunes(abuf[:0], a), appendRunes(bbuf[:0], b)
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al, bl := unicode.IsLetter(ar[i]), unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			return bl
		}
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		ai, bi := i, i
		for ; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for ; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}

func appendRunes(buf []rune, s string) []rune {
	for _, r := range s {
		buf = append(buf, r)
	}
	return buf
}
