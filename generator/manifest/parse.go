package manifest

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
)

// parseBlock is decodeDocument's fastest path: it reads the block style
// go-yaml v2 writes (what emit and Encode write, so every rendered file)
// line by line, without go-yaml's parser, whose tokens and events were
// most of reading a large rendered tree back. It gives up (false) on
// anything outside that style, and the document goes to go-yaml then:
// comments, blank lines, tabs outside literal text, trailing spaces,
// flow collections other than {} and [], anchors, aliases, tags, merge
// keys, scalars over several lines, literal text other than | and |-,
// folded text, duplicate keys, keys that are not strings, and values JSON
// would not hold exactly. What it accepts it gives as go-yaml and the JSON
// round trip would: a plain scalar that is a word go-yaml cannot read as
// anything but a string (it starts with none of the characters go-yaml
// resolves by, +-.~<, a digit, or y n t f o, or is no special word) is
// that string, and every other scalar is resolved by go-yaml alone
// (resolve), then converted as jsonValue converts. FuzzDecodeIsTheLibrary
// holds it to the library.
func parseBlock(doc []byte) (map[string]any, bool) {
	if !plainText(doc) {
		return nil, false
	}
	text := string(doc)
	text, ok := strings.CutSuffix(text, "\n")
	if !ok || text == "" {
		return nil, false
	}
	p := &blockParser{lines: strings.Split(text, "\n")}
	p.indent = make([]int, len(p.lines))
	p.start = make([]int, len(p.lines))
	for i, l := range p.lines {
		n := 0
		for n < len(l) && l[n] == ' ' {
			n++
		}
		if n == 0 && (strings.HasPrefix(l, "---") || strings.HasPrefix(l, "...")) {
			return nil, false // a document marker, perhaps
		}
		p.indent[i], p.start[i] = n, n
	}
	if p.indent[0] != 0 {
		return nil, false
	}
	m, ok := p.mapping(0)
	if !ok || p.i != len(p.lines) {
		return nil, false
	}
	return m, true
}

// plainText reports whether doc is valid UTF-8 of characters YAML
// allows, with no line break but \n and no byte order mark: go-yaml
// refuses control characters, and reads \r, NEL and the Unicode line and
// paragraph separators as line breaks.
func plainText(doc []byte) bool {
	for i := 0; i < len(doc); {
		c := doc[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError || r <= 0x9f || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff {
			return false
		}
		i += size
	}
	return true
}

// blockParser reads lines; a sequence item's content is read as if its
// dash were indentation (start and indent moved past it).
type blockParser struct {
	lines         []string
	indent, start []int
	i             int
}

// text is line i without its indentation.
func (p *blockParser) text(i int) string { return p.lines[i][p.start[i]:] }

// mapping reads the entries at indent n.
func (p *blockParser) mapping(n int) (map[string]any, bool) {
	out := map[string]any{}
	for p.i < len(p.lines) && p.indent[p.i] >= n {
		if p.indent[p.i] > n {
			return nil, false
		}
		key, rest, ok := splitKey(p.text(p.i))
		if !ok {
			return nil, false
		}
		if _, dup := out[key]; dup {
			return nil, false
		}
		v, ok := p.value(n, rest)
		if !ok {
			return nil, false
		}
		out[key] = v
	}
	return out, true
}

// value reads what follows a key at indent n (rest: the key line's
// remainder) and consumes the key line and the value's lines.
func (p *blockParser) value(n int, rest string) (any, bool) {
	p.i++
	if rest != "" {
		return p.inline(n, rest)
	}
	if p.i < len(p.lines) {
		ind, text := p.indent[p.i], p.text(p.i)
		switch {
		case ind >= n && seqEntry(text):
			return p.sequence(ind)
		case ind > n:
			return p.mapping(ind)
		}
	}
	return nil, true // "key:" alone is null
}

// sequence reads the items at indent n.
func (p *blockParser) sequence(n int) ([]any, bool) {
	out := []any{}
	for p.i < len(p.lines) && p.indent[p.i] >= n {
		text := p.text(p.i)
		if p.indent[p.i] > n {
			return nil, false
		}
		if !seqEntry(text) {
			break // the next key of the mapping holding the sequence
		}
		v, ok := p.item(n, text)
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// item reads one sequence item at indent n, its line's text starting with
// its dash.
func (p *blockParser) item(n int, text string) (any, bool) {
	if text == "-" {
		// The item's node is on the next lines, deeper than its dash (a
		// sequence at the dash's indentation is the next item).
		p.i++
		if p.i < len(p.lines) && p.indent[p.i] > n {
			if seqEntry(p.text(p.i)) {
				return p.sequence(p.indent[p.i])
			}
			return p.mapping(p.indent[p.i])
		}
		return nil, true
	}
	j := 1
	for j < len(text) && text[j] == ' ' {
		j++
	}
	rest := text[j:]
	if rest == "" {
		return nil, false // a dash and trailing spaces
	}
	if seqEntry(rest) || entryLike(rest) {
		// The item's collection starts on its line: read it as if the
		// dash were indentation.
		p.indent[p.i], p.start[p.i] = n+j, p.start[p.i]+j
		if seqEntry(rest) {
			return p.sequence(n + j)
		}
		return p.mapping(n + j)
	}
	p.i++
	return p.inline(n, rest)
}

// inline reads a value on its key's or dash's line, whose node is at
// indent n; the line is consumed.
func (p *blockParser) inline(n int, s string) (any, bool) {
	var v any
	switch {
	case s == "|" || s == "|-":
		return p.literal(n, s == "|-")
	case s == "{}":
		v = map[string]any{}
	case s == "[]":
		v = []any{}
	case s[0] == '"' || s[0] == '\'':
		end, ok := quotedEnd(s)
		if !ok || end != len(s) {
			return nil, false
		}
		r, ok := resolve(s)
		if _, str := r.(string); !ok || !str {
			return nil, false
		}
		v = r
	default:
		if !plainScalar(s) || strings.Contains(s, ": ") || strings.HasSuffix(s, ":") {
			return nil, false
		}
		var ok bool
		if v, ok = plainValue(s); !ok {
			return nil, false
		}
	}
	// A deeper line next would continue the scalar (or be an error).
	if p.i < len(p.lines) && p.indent[p.i] > n {
		return nil, false
	}
	return v, true
}

// literal reads a literal block scalar's text, its header consumed, for a
// node at indent n: kept with its last line break (|) or without (|-).
func (p *blockParser) literal(n int, strip bool) (any, bool) {
	m := -1 // the text's indentation: its first non-empty line's
	var lines []string
	for ; p.i < len(p.lines); p.i++ {
		l := p.lines[p.i]
		if strings.TrimLeft(l, " ") == "" {
			if m >= 0 && len(l) > m || m < 0 && len(l) > 0 {
				return nil, false // spaces beyond the indentation, or before it is known
			}
			lines = append(lines, "")
			continue
		}
		if m < 0 {
			if p.indent[p.i] <= n {
				return nil, false // no text
			}
			m = p.indent[p.i]
		}
		if p.indent[p.i] < m {
			break
		}
		lines = append(lines, l[m:])
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if m < 0 || len(lines) == 0 {
		return nil, false
	}
	s := strings.Join(lines, "\n")
	if !strip {
		s += "\n"
	}
	return s, true
}

// seqEntry reports whether a line's text is a sequence item.
func seqEntry(text string) bool {
	return text == "-" || strings.HasPrefix(text, "- ")
}

// entryLike reports whether a sequence item's text may start a mapping:
// it is read as one, or given up.
func entryLike(s string) bool {
	return strings.Contains(s, ": ") || strings.HasSuffix(s, ":")
}

// splitKey splits a mapping entry's text into its key and the rest of the
// line after "key:" and its spaces.
func splitKey(text string) (key, rest string, ok bool) {
	var tok string
	if text != "" && (text[0] == '"' || text[0] == '\'') {
		end, ok := quotedEnd(text)
		if !ok {
			return "", "", false
		}
		tok, text = text[:end], text[end:]
		if text != ":" && !strings.HasPrefix(text, ": ") {
			return "", "", false
		}
		rest = text[1:]
	} else {
		i := strings.Index(text, ": ")
		switch {
		case i >= 0:
			tok, rest = text[:i], text[i+1:]
		case strings.HasSuffix(text, ":"):
			tok = text[:len(text)-1]
		default:
			return "", "", false
		}
		if !plainScalar(tok) || tok == "<<" {
			return "", "", false
		}
	}
	if len(tok) > maxSimpleKey {
		return "", "", false // go-yaml looks at most 1,024 bytes ahead for a key's colon
	}
	rest = strings.TrimLeft(rest, " ")
	var k any
	if tok[0] == '"' || tok[0] == '\'' {
		k, ok = resolve(tok)
	} else {
		k, ok = plainValue(tok)
	}
	key, str := k.(string)
	return key, rest, ok && str
}

// quotedEnd returns the end of the quoted scalar s starts with, if it
// closes on this line.
func quotedEnd(s string) (int, bool) {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i + 1, true
		}
	}
	return 0, false
}

// plainScalar reports whether s is read as a plain scalar on one line:
// it starts with no indicator (a dash only before a non-space), holds no
// comment and no tab, and has no space at either end.
func plainScalar(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || strings.Contains(s, " #") || strings.IndexByte(s, '\t') >= 0 {
		return false
	}
	switch s[0] {
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '-':
		return len(s) > 1 && s[1] != ' '
	}
	return true
}

// plainValue is the value of a plain scalar: go-yaml resolves by its
// first character and a few special words; every other word is a string.
func plainValue(s string) (any, bool) {
	switch s[0] {
	case '+', '-', '.', '~', '<', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return resolve(s)
	case 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O':
		if specialWords[s] {
			return resolve(s)
		}
	}
	return s, true
}

// specialWords are the words starting with a letter that go-yaml v2 reads
// as booleans or null.
var specialWords = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
	"n": true, "N": true, "no": true, "No": true, "NO": true,
	"true": true, "True": true, "TRUE": true, "false": true, "False": true, "FALSE": true,
	"on": true, "On": true, "ON": true, "off": true, "Off": true, "OFF": true,
	"null": true, "Null": true, "NULL": true,
}

// resolved is a scalar as go-yaml and the JSON round trip give it; ok is
// false when the document must go to the library.
type resolved struct {
	v  any
	ok bool
}

// resolvedScalars memoizes resolve for short scalars (the same numbers and
// quantities fill every rendered file), up to maxScalars of them.
var (
	resolvedScalars sync.Map
	scalarsCount    atomic.Int64
)

const maxScalars = 1 << 16

// resolve reads one scalar token alone with go-yaml, as it would read it
// in a document, and converts it as jsonValue does.
func resolve(tok string) (any, bool) {
	if r, ok := resolvedScalars.Load(tok); ok {
		return r.(resolved).v, r.(resolved).ok
	}
	var r resolved
	var v any
	if yamlv2.Unmarshal([]byte(tok), &v) == nil {
		switch v.(type) {
		case map[any]any, []any:
		default:
			r.v, r.ok = jsonValue(v)
		}
	}
	if len(tok) <= 64 && scalarsCount.Load() < maxScalars {
		if _, loaded := resolvedScalars.LoadOrStore(tok, r); !loaded {
			scalarsCount.Add(1)
		}
	}
	return r.v, r.ok
}
