// Package credential decides, by meaning, what in a rendered object is a
// credential: a Secret's data; a value under a name whose words say it
// holds one (DB_PASSWORD, PGPASSWORD, DB_PASS, JWT, the key of a
// properties line or a query parameter, a --db-password= argument); the
// password of a URL; an Authorization value (Basic …, Bearer …); a
// webhook URL's token; a storage account key or SAS signature in a
// connection string. It is the one classifier: render refuses to write
// what it finds, the check step (verify, diff, policy check, publish)
// denies it, and every output that shows values masks it.
package credential

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Masked stands in for a hidden value.
const Masked = "********"

// credentialWords are the words of a name that mark its value secret.
var credentialWords = map[string]bool{
	"PASSWORD": true, "PASSWD": true, "PASSPHRASE": true, "PASS": true, "PW": true, "PWD": true,
	"SECRET": true, "SECRETS": true, "TOKEN": true, "TOKENS": true, "KEY": true, "KEYS": true, "APIKEY": true,
	"CREDENTIAL": true, "CREDENTIALS": true, "CREDS": true, "PRIVATE": true, "JWT": true, "BEARER": true,
	"HMAC": true, "SAS": true, "SIG": true, "SIGNATURE": true, "AUTHORIZATION": true, "DSN": true, "CONN": true,
	"ACCOUNTKEY": true, "SHAREDACCESSSIGNATURE": true, "CERT": false,
}

// strongWords say a value is a credential even when it looks like a
// setting (a numeric DB_PASSWORD); KEY or TOKENS with a number are sizes.
var strongWords = map[string]bool{"PASSWORD": true, "PASSWD": true, "PASSPHRASE": true, "PASS": true, "PW": true, "PWD": true, "SECRET": true}

// joinedSuffixes end a word that joins a credential word to another
// (PGPASSWORD, ACCESSTOKEN, CLIENTSECRET); shorter words (KEY, PASS) are
// too often the end of another word (MONKEY, BYPASS) to count joined.
var joinedSuffixes = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "ACCESSKEY", "PRIVATEKEY", "ACCOUNTKEY"}

// pointerWords, last in a name, say the value says where a credential is
// (REDIS_PASSWORD_FILE, TOKEN_URL), or something about it, not the
// credential itself.
var pointerWords = map[string]bool{
	"FILE": true, "PATH": true, "DIR": true, "NAME": true, "REF": true, "ID": true, "URL": true, "URI": true,
	"ENDPOINT": true, "TTL": true, "EXPIRY": true, "LENGTH": true, "TYPE": true, "MODE": true, "ENABLED": true,
}

// notAfterKey are words that, following KEY, name something public: a Key
// Vault's name, a key's identifier.
var notAfterKey = map[string]bool{"VAULT": true, "ID": true, "NAME": true, "URI": true, "URL": true}

// Words splits a name into upper-case words at '_', '-', '.', spaces and
// lower-to-upper case changes: "dbPassword" and "DB_PASSWORD" both give
// DB, PASSWORD.
func Words(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	runes := []rune(name)
	for i, r := range runes {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ' || r == '/':
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(runes[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return words
}

// IsName reports whether a key or variable name says its value is a
// credential: one of its whole words is PASSWORD, SECRET, TOKEN, KEY (not
// KEY_VAULT or KEY_ID), CREDENTIAL(S), …, or it says CONNECTION STRING,
// and its last word does not say the value only points at one
// (REDIS_PASSWORD_FILE). Letters inside another word do not count:
// "tokenization" is no token.
func IsName(name string) bool {
	w := Words(name)
	if len(w) > 1 && pointerWords[w[len(w)-1]] {
		return false
	}
	for i, word := range w {
		next := ""
		if i+1 < len(w) {
			next = w[i+1]
		}
		switch {
		case word == "KEY" && notAfterKey[next]:
		case credentialWords[word]:
			return true
		case word == "CONNECTION" && (next == "STRING" || next == "STR"):
			return true
		case word == "CONNECTIONSTRING":
			return true
		case joined(word):
			return true
		}
	}
	return false
}

// joined reports whether a word ends with a credential word it joins to
// another (PGPASSWORD), not being that word alone.
func joined(word string) bool {
	for _, s := range joinedSuffixes {
		if len(word) > len(s) && strings.HasSuffix(word, s) {
			return true
		}
	}
	return false
}

// strong reports whether a name's words say its value is a credential
// whatever it looks like.
func strong(name string) bool {
	for _, w := range Words(name) {
		if strongWords[w] {
			return true
		}
		for _, s := range []string{"PASSWORD", "PASSWD", "SECRET"} {
			if strings.HasSuffix(w, s) {
				return true
			}
		}
	}
	return false
}

// URLPassword returns the password of a URL-shaped value
// (scheme://user:password@host…), and whether it has one. A password with
// characters a URL would have escaped (postgres://u:p#ss@host) is one too.
func URLPassword(s string) (string, bool) {
	i := strings.Index(s, "://")
	if i < 0 || !strings.Contains(s[i:], "@") {
		return "", false
	}
	if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			return p, true
		}
	}
	// The user information ends at the last @ (the host has none).
	rest := s[i+3:]
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return "", false
	}
	user := rest[:at]
	if strings.ContainsAny(user, "/ ") {
		return "", false
	}
	_, pass, ok := strings.Cut(user, ":")
	return pass, ok && pass != ""
}

// Hit is a credential found in a value: the whole value, or a part of it
// (a URL's password, a connection string's key).
type Hit struct {
	// Secret is the credential itself.
	Secret string
	// Why says what makes it one.
	Why string
	// Whole: the whole value is the credential.
	Whole bool
}

// Reasons findings give.
const (
	whySecretData = "a Secret's data is plaintext in Git (base64 is no encryption); mount it from Key Vault through the CSI driver"
	whyURL        = "a URL with a password in the clear"
	whyAuth       = "an Authorization credential (Basic, Bearer, Digest) in the clear"
	whyWebhook    = "a webhook URL carries its token in its path"
)

var (
	// authValue is an HTTP Authorization value.
	authValue = regexp.MustCompile(`(?i)\b(?:basic|bearer|digest)\s+([A-Za-z0-9._~+/=-]{8,})`)
	// webhookToken are webhook URLs whose path is the credential.
	webhookToken = regexp.MustCompile(`https://(?:hooks\.slack\.com/services|(?:discord|discordapp)\.com/api/webhooks|outlook\.office\.com/webhook|[\w-]+\.webhook\.office\.com/webhookb2|api\.telegram\.org/bot|events\.pagerduty\.com/integration)/([^\s"'?#]+)`)
	// pair is a key and its value: a query parameter, a connection
	// string's part, a properties or ini line, a --flag=value argument, a
	// JSON or YAML member.
	pairs = []*regexp.Regexp{
		regexp.MustCompile(`(?:^|[\s?&;,"'{(\[])-{0,2}([A-Za-z_][A-Za-z0-9_.\-]*)"?[ \t]*=[ \t]*"?([^\s&;,"'}\]?]+)`),
		regexp.MustCompile(`(?:^|[\s,"'{(\[])([A-Za-z_][A-Za-z0-9_.\-]*)"?[ \t]*:[ \t]*"?([^\s&;,"'}\]]+)`),
	}
)

// Find returns the credentials a value holds, found at path in an object
// of kind. Paths are field paths as diff names them:
// spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value.
func Find(kind, path string, v any) []Hit {
	if kind == "Secret" && (under(path, "data") || under(path, "stringData")) && v != nil {
		return []Hit{{Secret: fmt.Sprint(v), Why: whySecretData, Whole: true}}
	}
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case int64, float64, int:
		s = fmt.Sprint(t)
	default:
		return nil
	}
	if named(kind, path) {
		name := NameAt(path)
		if IsName(name) && !reference(s) && !(setting(s) && !(strong(name) && s != "")) && !(pwdPath(name, s)) {
			// What it holds is secret too, wherever else it shows (the
			// password of a connection string under CONN).
			return append([]Hit{{Secret: s, Why: name + " is named like a credential and holds a literal; reference it (valueFrom.secretKeyRef, the Key Vault CSI driver) instead", Whole: true}}, Scan(s)...)
		}
	}
	if _, ok := v.(string); !ok {
		return nil
	}
	if kind == "ConfigMap" && code(strings.TrimPrefix(path, "data.")) {
		// A script's names are its variables, not settings: only what
		// is a credential wherever it is written counts.
		return scan(s, false)
	}
	return Scan(s)
}

// code reports whether a file name is a program's source (replicaset.js),
// not a configuration.
func code(name string) bool {
	for _, ext := range []string{".js", ".mjs", ".ts", ".py", ".sh", ".bash", ".lua", ".rb", ".go"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// Scan finds the credentials inside a string whatever holds it: a URL's
// password, an Authorization value, a webhook's token, the value of a key
// named like a credential (password=…, AccountKey=…, sig=…,
// --db-password=…, "password": "…").
func Scan(s string) []Hit { return scan(s, true) }

func scan(s string, withPairs bool) []Hit {
	var out []Hit
	seen := map[string]bool{}
	add := func(secret, why string) {
		if !seen[secret] {
			seen[secret] = true
			out = append(out, Hit{Secret: secret, Why: why, Whole: secret == s})
		}
	}
	if p, ok := URLPassword(s); ok && !reference(p) {
		add(p, whyURL)
	}
	for _, m := range authValue.FindAllStringSubmatch(s, -1) {
		add(m[1], whyAuth)
	}
	for _, m := range webhookToken.FindAllStringSubmatch(s, -1) {
		add(m[1], whyWebhook)
	}
	if !withPairs || !strings.ContainsAny(s, "=:") {
		return out
	}
	lines := namedLines(s)
	for _, pair := range pairs {
		for _, line := range lines {
			for _, m := range pair.FindAllStringSubmatch(line, -1) {
				key, val := m[1], m[2]
				if strings.HasSuffix(val, ":") || strings.HasPrefix(val, "//") {
					continue // a key of its own (YAML), a URL's scheme
				}
				if IsName(key) && !reference(val) && !(setting(val) && !strong(key)) && !pwdPath(key, val) {
					add(val, key+" is named like a credential and holds a literal")
				}
			}
		}
	}
	return out
}

// nameFragments: every name IsName accepts has one of these in it (each
// credential word, joined suffix and CONNECTION holds one), in any case.
// TestNameFragmentsCoverEveryWord holds the list to the words.
var nameFragments = []string{"PASS", "PW", "SECRET", "TOKEN", "KEY", "CRED", "PRIVATE", "JWT", "BEARER", "HMAC", "SAS", "SIG", "AUTHORIZATION", "DSN", "CONN"}

// namedLines are the lines of s, in order, that could hold a pair whose
// key IsName accepts: those with a name fragment. A pair never spans a
// line (neither key nor value holds a space), so the pair expressions
// find on these lines what they find on all of s, without reading the
// long values (dashboards, rule files) line by line in vain.
func namedLines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if mayHoldName(line) {
			out = append(out, line)
		}
	}
	return out
}

// mayHoldName reports whether s holds a name fragment, in any case.
func mayHoldName(s string) bool {
	upper := strings.ToUpper(s)
	for _, f := range nameFragments {
		if strings.Contains(upper, f) {
			return true
		}
	}
	return false
}

// reference reports whether a value refers to a credential kept
// elsewhere: a variable ($X, ${X}, $(X), {{ … }}), a file path.
func reference(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "$") || strings.HasPrefix(s, "{{") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "file:") ||
		// an expression of a script a ConfigMap carries: secret(name),
		// (name) => …, a template literal
		strings.ContainsAny(s[:min(len(s), 1)], "([{<`") || strings.Contains(s, "(")
}

// pwdPath: PWD holding a path is the working directory, not a password.
func pwdPath(name, s string) bool {
	w := Words(name)
	return len(w) > 0 && w[len(w)-1] == "PWD" && (strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~"))
}

// Why says why the value v, found at path in an object of kind, is (or
// holds) a credential, or "" when it is not.
func Why(kind, path string, v any) string {
	if hits := Find(kind, path, v); len(hits) > 0 {
		return hits[0].Why
	}
	return ""
}

// Hide returns v as a report may show it, and the credentials it hid: a
// credential value as Masked, a value holding one with each masked (a URL
// keeps all but its password).
func Hide(kind, path string, v any) (shown any, secrets []string) {
	hits := Find(kind, path, v)
	if len(hits) == 0 {
		return v, nil
	}
	s, isString := v.(string)
	whole := !isString
	for _, h := range hits {
		secrets = append(secrets, h.Secret)
		whole = whole || h.Whole
	}
	if whole {
		return Masked, secrets
	}
	// One pass, longest first, however many there are.
	byLength := slices.Clone(secrets)
	slices.SortFunc(byLength, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(byLength))
	for _, sec := range byLength {
		pairs = append(pairs, sec, Masked)
	}
	return strings.NewReplacer(pairs...).Replace(s), secrets
}

// named reports whether the value at path is known by a name that says
// what it holds: an environment variable's value, or a ConfigMap entry.
// It reads the path's segments split at every '.', as strings.Split
// would, without making the list: it runs for every string in every
// rendered object.
func named(kind, path string) bool {
	dot := strings.LastIndexByte(path, '.')
	last := path[dot+1:]
	if strings.HasPrefix(last, "env[name=") {
		return true // a whole variable
	}
	if dot < 0 {
		return false
	}
	before := path[:dot]
	if last == "value" && strings.HasPrefix(before[strings.LastIndexByte(before, '.')+1:], "env[name=") {
		return true
	}
	return kind == "ConfigMap" && before == "data"
}

func under(path, field string) bool {
	return path == field || strings.HasPrefix(path, field+".")
}

// NameAt is the name a value at path is known by: the last key, or for the
// value of a named item (env[name=DB_PASSWORD].value) the item's name.
func NameAt(path string) string {
	segs := strings.Split(path, ".")
	last := segs[len(segs)-1]
	if (last == "value" || last == "data") && len(segs) > 1 {
		if name, ok := itemName(segs[len(segs)-2]); ok {
			return name
		}
	}
	if name, ok := itemName(last); ok && !strings.HasPrefix(last, "[") {
		return name // a whole named item, such as env[name=TOKEN]
	}
	if i := strings.IndexByte(last, '['); i >= 0 {
		last = last[:i]
	}
	return last
}

// itemName returns X of a segment ending in [name=X].
func itemName(seg string) (string, bool) {
	i := strings.LastIndex(seg, "[name=")
	if i < 0 || !strings.HasSuffix(seg, "]") {
		return "", false
	}
	return seg[i+len("[name=") : len(seg)-1], true
}

// Map copies v, found at path, replacing every leaf (string, number, bool,
// nil) with f(its path, it). Map keys extend the path with ".key", list
// items with "[name=X]" when they are named maps and "[i]" otherwise.
func Map(path string, v any, f func(path string, leaf any) any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			out[k] = Map(keyPath(path, k), t[k], f)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = Map(itemPath(path, i, x), x, f)
		}
		return out
	}
	return f(path, v)
}

// walk calls f with every leaf of v, found at path, and the leaf's path as
// Map names it, in no particular order; it copies nothing.
func walk(path string, v any, f func(path string, leaf any)) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			walk(keyPath(path, k), x, f)
		}
	case []any:
		for i, x := range t {
			walk(itemPath(path, i, x), x, f)
		}
	default:
		f(path, v)
	}
}

// keyPath is the path of a map's key k, the map found at path.
func keyPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// itemPath is the path of a list's item x at i, the list found at path.
func itemPath(path string, i int, x any) string {
	if m, ok := x.(map[string]any); ok {
		if name, ok := m["name"].(string); ok {
			return path + "[name=" + name + "]"
		}
	}
	return path + "[" + strconv.Itoa(i) + "]"
}

// Literal is a credential written in the clear in an object.
type Literal struct {
	// Path is the field, as diff names fields.
	Path string
	// Why says what makes it a credential.
	Why string
}

// Literals finds the credentials an object carries in the clear (see Why),
// sorted by path; references (valueFrom, secretKeyRef, the CSI driver) are
// not literals.
func Literals(obj map[string]any) []Literal {
	var out []Literal
	kind, _ := obj["kind"].(string)
	walk("", obj, func(path string, leaf any) {
		if why := Why(kind, path, leaf); why != "" {
			out = append(out, Literal{Path: path, Why: why})
		}
	})
	flagValues("", obj, func(path, flag string) {
		out = append(out, Literal{Path: path, Why: "the value of " + flag + ", an argument named like a credential"})
	})
	slices.SortFunc(out, func(a, b Literal) int { return strings.Compare(a.Path, b.Path) })
	return slices.CompactFunc(out, func(a, b Literal) bool { return a.Path == b.Path })
}

// flagArg is a command-line flag with no value of its own.
var flagArg = regexp.MustCompile(`^--?([A-Za-z][A-Za-z0-9_.-]*)$`)

// flagValues calls f for every argument of a command or args list that
// follows a flag named like a credential (--db-password SECRET).
func flagValues(path string, v any, f func(path, flag string)) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			flagValues(keyPath(path, k), x, f)
		}
	case []any:
		last := path[strings.LastIndexByte(path, '.')+1:]
		for i, x := range t {
			flagValues(itemPath(path, i, x), x, f)
			if last != "args" && last != "command" || i+1 >= len(t) {
				continue
			}
			a, _ := x.(string)
			next, ok := t[i+1].(string)
			if m := flagArg.FindStringSubmatch(a); m != nil && ok && IsName(m[1]) && !strings.HasPrefix(next, "-") && !reference(next) && !(setting(next) && !strong(m[1])) {
				f(itemPath(path, i+1, t[i+1]), a)
			}
		}
	}
}

// setting reports whether a value is empty, a boolean or a number: a
// switch such as server-tokens: "false", never a credential.
func setting(s string) bool {
	if s == "" || s == "true" || s == "false" {
		return true
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
