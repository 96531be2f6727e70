package nginxconf

import (
	"fmt"
	"regexp"
	"strings"
)

// token is a word, or one of { } ; — with the line it starts on.
type token struct {
	text   string
	quoted bool
	line   int
}

// tokenize splits nginx configuration text into tokens: words (quoted
// strings unquoted), braces and semicolons; comments run from # to the end
// of the line outside quotes.
func tokenize(name, text string) ([]token, error) {
	var out []token
	line := 1
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '{' || c == '}' || c == ';':
			out = append(out, token{text: string(c), line: line})
			i++
		case c == '"' || c == '\'':
			start := line
			var b strings.Builder
			i++
			for {
				if i >= len(text) {
					return nil, fmt.Errorf("%s:%d: unterminated %c", name, start, c)
				}
				if text[i] == '\\' && i+1 < len(text) {
					b.WriteByte(text[i+1])
					i += 2
					continue
				}
				if text[i] == c {
					i++
					break
				}
				if text[i] == '\n' {
					line++
				}
				b.WriteByte(text[i])
				i++
			}
			out = append(out, token{text: b.String(), quoted: true, line: start})
		default:
			start := i
			for i < len(text) && !strings.ContainsRune(" \t\r\n;{}#\"'", rune(text[i])) {
				if text[i] == '\\' && i+1 < len(text) {
					i++
				}
				i++
			}
			out = append(out, token{text: text[start:i], line: line})
		}
	}
	return out, nil
}

// parse reads a snippet's statements.
func parse(name, text string) ([]stmt, error) {
	toks, err := tokenize(name, text)
	if err != nil {
		return nil, err
	}
	p := &parser{name: name, toks: toks}
	stmts, err := p.block(false)
	if err != nil {
		return nil, err
	}
	return stmts, nil
}

type parser struct {
	name string
	toks []token
	i    int
}

func (p *parser) block(nested bool) ([]stmt, error) {
	var out []stmt
	for {
		if p.i >= len(p.toks) {
			if nested {
				return nil, fmt.Errorf("%s: a block is not closed with }", p.name)
			}
			return out, nil
		}
		t := p.toks[p.i]
		if t.text == "}" && !t.quoted {
			if !nested {
				return nil, fmt.Errorf("%s:%d: } closes no block", p.name, t.line)
			}
			p.i++
			return out, nil
		}
		s := stmt{at: fmt.Sprintf("%s:%d", p.name, t.line)}
		for {
			if p.i >= len(p.toks) {
				return nil, fmt.Errorf("%s: %s ends without ; or {", s.at, strings.Join(s.words, " "))
			}
			t := p.toks[p.i]
			p.i++
			if !t.quoted && t.text == ";" {
				break
			}
			if !t.quoted && t.text == "{" {
				body, err := p.block(true)
				if err != nil {
					return nil, err
				}
				s.block = body
				if s.block == nil {
					s.block = []stmt{}
				}
				break
			}
			if !t.quoted && t.text == "}" {
				return nil, fmt.Errorf("%s:%d: unexpected }", p.name, t.line)
			}
			s.words = append(s.words, t.text)
		}
		if len(s.words) == 0 {
			return nil, fmt.Errorf("%s: an empty statement", s.at)
		}
		if s.words[0] == "if" {
			if err := ifCondition(&s); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
}

// ifCondition strips the parentheses around an if's condition, as nginx
// does: from the first word's start and the last word's end.
func ifCondition(s *stmt) error {
	w := s.words[1:]
	if s.block == nil || len(w) == 0 || !strings.HasPrefix(w[0], "(") || !strings.HasSuffix(w[len(w)-1], ")") {
		return fmt.Errorf("%s: if: want if (condition) { … }", s.at)
	}
	w[0] = strings.TrimPrefix(w[0], "(")
	w[len(w)-1] = strings.TrimSuffix(w[len(w)-1], ")")
	var cond []string
	for _, x := range w {
		if x != "" {
			cond = append(cond, x)
		}
	}
	s.words = append([]string{"if"}, cond...)
	return nil
}

// readMap reads map FROM $TO { … }.
func readMap(s stmt) (*mapBlock, error) {
	if len(s.words) != 3 || s.block == nil || !strings.HasPrefix(s.words[2], "$") {
		return nil, fmt.Errorf("%s: map: want map value $variable { … }", s.at)
	}
	m := &mapBlock{from: s.words[1], to: s.words[2][1:], exact: map[string]string{}, at: s.at}
	for _, e := range s.block {
		switch {
		case e.block != nil:
			return nil, fmt.Errorf("%s: map: a block inside a map", e.at)
		case len(e.words) == 1 && (e.words[0] == "hostnames" || e.words[0] == "volatile"):
			if e.words[0] == "hostnames" {
				return nil, fmt.Errorf("%s: map: hostnames matching is not read here", e.at)
			}
		case len(e.words) != 2:
			return nil, fmt.Errorf("%s: map: want key value", e.at)
		case e.words[0] == "default":
			m.def = e.words[1]
		case e.words[0] == "include":
			return nil, fmt.Errorf("%s: map: include is not read here", e.at)
		case strings.HasPrefix(e.words[0], "~"):
			pattern := strings.TrimPrefix(e.words[0], "~")
			if strings.HasPrefix(pattern, "*") {
				pattern = "(?i)" + pattern[1:]
			}
			re, err := regexp.Compile(pattern)
			if err != nil {
				return nil, fmt.Errorf("%s: map: regular expression %q: %v", e.at, e.words[0], err)
			}
			m.regex = append(m.regex, mapRegex{re: re, value: e.words[1]})
		default:
			m.exact[strings.TrimPrefix(e.words[0], "\\")] = e.words[1]
		}
	}
	return m, nil
}
