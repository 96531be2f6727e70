// Package nginxconf tells what nginx does with a request, given the
// configuration snippets ingress-nginx inserts into its nginx.conf
// (http-snippet into http {}, server-snippet into every server {},
// location-snippet into every location {}): whether one of them ends the
// request with a status before it reaches the upstream.
//
// It reads the directives a snippet that refuses requests is written
// with — map, set, if, return, break, allow/deny all — the way nginx's
// rewrite, map and access modules run them (rewrite directives in order,
// first the server's then the location's; access after them), and ignores
// directives that only shape headers, buffers, timeouts and logs. Any
// other directive, or a condition it cannot evaluate, is an error: then
// nothing can be said of the behaviour, and a check built on it must fail
// rather than guess. Comments are comments: a snippet that merely names a
// header refuses nothing. The stamp in a box (make programs) runs the real
// nginx on the same snippets and holds this reading to it.
package nginxconf

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Request is what the snippets are asked about.
type Request struct {
	// Host is the request's host ($host: the Host header, lowercased,
	// without a port).
	Host string
	// Path is its normalised path ($uri), "/" when empty.
	Path string
	// Headers by name, any case.
	Headers map[string]string
}

// Result is what nginx does with a request.
type Result struct {
	// Status is the status nginx ends the request with, 0 when it goes
	// on to the upstream.
	Status int
	// By says which directive decides (file and line), empty when none does.
	By string
}

// Config is the snippets, parsed.
type Config struct {
	maps     map[string]*mapBlock // by the variable they set
	server   []stmt
	location []stmt
}

// mapBlock is map FROM $TO { key value; … }.
type mapBlock struct {
	from  string // the value looked up, such as $http_x_azure_fdid
	to    string // the variable set, without its $
	exact map[string]string
	regex []mapRegex
	def   string
	at    string
}

type mapRegex struct {
	re    *regexp.Regexp
	value string
}

// stmt is one directive: its words, and its block for if.
type stmt struct {
	words []string
	block []stmt
	at    string // snippet:line
}

// Parse reads the three snippets (any may be empty).
func Parse(httpSnippet, serverSnippet, locationSnippet string) (*Config, error) {
	c := &Config{maps: map[string]*mapBlock{}}
	top, err := parse("http-snippet", httpSnippet)
	if err != nil {
		return nil, err
	}
	for _, s := range top {
		switch {
		case s.words[0] == "map":
			m, err := readMap(s)
			if err != nil {
				return nil, err
			}
			c.maps[m.to] = m
		case s.block != nil:
			return nil, fmt.Errorf("%s: %s { … }: a block this reading does not know in http-snippet", s.at, s.words[0])
		}
	}
	if c.server, err = parse("server-snippet", serverSnippet); err != nil {
		return nil, err
	}
	if c.location, err = parse("location-snippet", locationSnippet); err != nil {
		return nil, err
	}
	return c, nil
}

// DefaultMapHashBucketSize is nginx's map_hash_bucket_size where nothing
// sets it: the processor's cache line, 64 bytes on x86-64.
const DefaultMapHashBucketSize = 64

// MapKeysFit reports a map whose exact keys nginx cannot hash with buckets
// of size bytes: it then refuses to start ("could not build map_hash, you
// should increase map_hash_bucket_size"). A key takes a pointer, its
// two-byte length and itself, aligned to a pointer, and a bucket ends with
// a null pointer (src/core/ngx_hash.c, NGX_HASH_ELT_SIZE).
func (c *Config) MapKeysFit(size int) error {
	const ptr = 8
	for _, n := range slices.Sorted(maps.Keys(c.maps)) {
		m := c.maps[n]
		for _, k := range slices.Sorted(maps.Keys(m.exact)) {
			if need := ptr + (len(k)+2+ptr-1)/ptr*ptr + ptr; need > size {
				return fmt.Errorf("%s: map key %q needs a %d-byte hash bucket, more than map_hash_bucket_size %d: nginx refuses to start (could not build map_hash)", m.at, k, need, size)
			}
		}
	}
	return nil
}

// Do runs the snippets for a request.
func (c *Config) Do(r Request) (Result, error) {
	run := &run{c: c, req: r, vars: map[string]string{}}
	for i, phase := range [][]stmt{c.server, c.location} {
		res, end, err := run.rewrite(phase, i == 0)
		if err != nil || end == ended {
			return res, err
		}
	}
	// The access module runs after the rewrite phases.
	for _, phase := range [][]stmt{c.server, c.location} {
		for _, s := range phase {
			if s.words[0] == "deny" && len(s.words) == 2 && s.words[1] == "all" {
				return Result{Status: 403, By: s.at}, nil
			}
		}
	}
	return Result{}, nil
}

type run struct {
	c    *Config
	req  Request
	vars map[string]string
	// looking are the maps being looked up: a map whose value needs
	// itself is an error, not a loop.
	looking map[string]bool
}

// harmless are directives that do not end a request.
var harmless = map[string]bool{
	"add_header": true, "more_set_headers": true, "more_clear_headers": true, "more_set_input_headers": true,
	"proxy_set_header": true, "proxy_hide_header": true, "proxy_pass_header": true, "proxy_read_timeout": true,
	"proxy_send_timeout": true, "proxy_connect_timeout": true, "proxy_buffering": true, "proxy_buffer_size": true,
	"proxy_buffers": true, "proxy_request_buffering": true, "proxy_http_version": true,
	"client_max_body_size": true, "client_body_buffer_size": true, "client_body_timeout": true, "client_header_timeout": true,
	"keepalive_timeout": true, "send_timeout": true, "gzip": true, "gzip_types": true, "gzip_min_length": true,
	"access_log": true, "error_log": true, "log_not_found": true, "server_tokens": true,
	"real_ip_header": true, "set_real_ip_from": true, "real_ip_recursive": true,
	"underscores_in_headers": true, "ignore_invalid_headers": true, "charset": true, "expires": true,
	"etag": true, "if_modified_since": true, "ssl_protocols": true, "ssl_ciphers": true, "ssl_prefer_server_ciphers": true,
}

// end says how a run of rewrite directives stopped.
type end int

const (
	// ran to the last directive
	ran end = iota
	// broke: break stops the context's rewrite directives
	broke
	// ended: return ended the request
	ended
)

// rewriteDirectives are the rewrite module's.
var rewriteDirectives = map[string]bool{"break": true, "if": true, "return": true, "rewrite": true, "set": true}

// rewrite runs one context's rewrite directives in order; inServer says
// the context is a server block's (or an if in one).
func (r *run) rewrite(stmts []stmt, inServer bool) (Result, end, error) {
	for _, s := range stmts {
		switch s.words[0] {
		case "set":
			if len(s.words) != 3 || !strings.HasPrefix(s.words[1], "$") {
				return Result{}, ran, fmt.Errorf("%s: set: want set $variable value", s.at)
			}
			v, err := r.expand(s.words[2], s.at)
			if err != nil {
				return Result{}, ran, err
			}
			r.vars[s.words[1][1:]] = v
		case "return":
			return r.ret(s)
		case "break":
			return Result{}, broke, nil
		case "if":
			ok, err := r.cond(s)
			if err != nil {
				return Result{}, ran, err
			}
			if !ok {
				continue
			}
			if inServer {
				// nginx loads no configuration with anything but the
				// rewrite module's directives in a server's if.
				for _, b := range s.block {
					if !rewriteDirectives[b.words[0]] {
						return Result{}, ran, fmt.Errorf("%s: %s is not allowed in an if of a server block: nginx refuses the configuration", b.at, b.words[0])
					}
				}
			}
			res, e, err := r.rewrite(s.block, inServer)
			if err != nil || e != ran {
				return res, e, err
			}
		case "allow", "deny":
			if len(s.words) != 2 || s.words[1] != "all" {
				return Result{}, ran, fmt.Errorf("%s: %s %s: which clients it applies to depends on their address, which this reading does not know", s.at, s.words[0], strings.Join(s.words[1:], " "))
			}
		default:
			if !harmless[s.words[0]] {
				return Result{}, ran, fmt.Errorf("%s: %s: a directive this reading cannot tell the effect of", s.at, s.words[0])
			}
		}
	}
	return Result{}, ran, nil
}

func (r *run) ret(s stmt) (Result, end, error) {
	if len(s.words) < 2 || len(s.words) > 3 {
		return Result{}, ran, fmt.Errorf("%s: return: want return code [text] or return URL", s.at)
	}
	code, err := strconv.Atoi(s.words[1])
	if err != nil {
		return Result{Status: 302, By: s.at}, ended, nil // return URL
	}
	if code < 100 || code > 999 {
		return Result{}, ran, fmt.Errorf("%s: return %d: not a status", s.at, code)
	}
	return Result{Status: code, By: s.at}, ended, nil
}

// cond evaluates an if's condition, given as the words between its
// parentheses.
func (r *run) cond(s stmt) (bool, error) {
	w := s.words[1:]
	if len(w) > 0 && (strings.HasPrefix(w[0], "-") || strings.HasPrefix(w[0], "!-")) {
		return false, fmt.Errorf("%s: if (%s): a file test this reading cannot evaluate", s.at, strings.Join(w, " "))
	}
	switch len(w) {
	case 1:
		v, err := r.expand(w[0], s.at)
		return v != "" && v != "0", err
	case 3:
		left, err := r.expand(w[0], s.at)
		if err != nil {
			return false, err
		}
		right := w[2]
		switch w[1] {
		case "=", "!=":
			rv, err := r.expand(right, s.at)
			if err != nil {
				return false, err
			}
			return (left == rv) == (w[1] == "="), nil
		case "~", "~*", "!~", "!~*":
			pattern := right
			if strings.Contains(w[1], "*") {
				pattern = "(?i)" + pattern
			}
			re, err := regexp.Compile(pattern)
			if err != nil {
				return false, fmt.Errorf("%s: if: regular expression %q: %v", s.at, right, err)
			}
			return re.MatchString(left) == !strings.HasPrefix(w[1], "!"), nil
		}
	}
	return false, fmt.Errorf("%s: if (%s): a condition this reading cannot evaluate", s.at, strings.Join(w, " "))
}

// expand resolves a value: literal text with $variables in it.
func (r *run) expand(v, at string) (string, error) {
	var out strings.Builder
	for i := 0; i < len(v); {
		if v[i] != '$' {
			out.WriteByte(v[i])
			i++
			continue
		}
		j := i + 1
		braced := j < len(v) && v[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(v) && (v[k] == '_' || v[k] >= 'a' && v[k] <= 'z' || v[k] >= 'A' && v[k] <= 'Z' || v[k] >= '0' && v[k] <= '9') {
			k++
		}
		name := v[j:k]
		if braced {
			if k >= len(v) || v[k] != '}' {
				return "", fmt.Errorf("%s: %q: unterminated ${", at, v)
			}
			k++
		}
		val, err := r.variable(name, at)
		if err != nil {
			return "", err
		}
		out.WriteString(val)
		i = k
	}
	return out.String(), nil
}

// variable is a variable's value for the request: one set earlier, a map's
// result, or a request header ($http_<name>).
func (r *run) variable(name, at string) (string, error) {
	if v, ok := r.vars[name]; ok {
		return v, nil
	}
	if m, ok := r.c.maps[name]; ok {
		if r.looking[name] {
			return "", fmt.Errorf("%s: $%s: the map needs its own value", m.at, name)
		}
		if r.looking == nil {
			r.looking = map[string]bool{}
		}
		r.looking[name] = true
		defer delete(r.looking, name)
		return r.lookup(m)
	}
	switch name {
	case "host":
		h := strings.ToLower(r.req.Host)
		if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
			h = h[:i]
		}
		return h, nil
	case "uri":
		if r.req.Path == "" {
			return "/", nil
		}
		return r.req.Path, nil
	}
	if h, ok := strings.CutPrefix(name, "http_"); ok {
		for k, v := range r.req.Headers {
			if strings.ReplaceAll(strings.ToLower(k), "-", "_") == h {
				return v, nil
			}
		}
		return "", nil
	}
	return "", fmt.Errorf("%s: $%s: a variable this reading does not know the value of", at, name)
}

// lookup is nginx's map: an exact match, else the first regular
// expression that matches, else the default.
func (r *run) lookup(m *mapBlock) (string, error) {
	src, err := r.expand(m.from, m.at)
	if err != nil {
		return "", err
	}
	if v, ok := m.exact[src]; ok {
		return r.expand(v, m.at)
	}
	for _, re := range m.regex {
		if re.re.MatchString(src) {
			return r.expand(re.value, m.at)
		}
	}
	return r.expand(m.def, m.at)
}
