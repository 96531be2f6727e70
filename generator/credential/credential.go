// Package credential decides, by meaning, what in a rendered object is a
// credential: a Secret's data, an environment variable whose name's words
// say it holds one, the password of a URL. Every output that shows values
// (verify's drift, diff, publish) masks through it, and render refuses to
// write a credential in the clear.
package credential

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Masked stands in for a hidden value.
const Masked = "********"

// credentialWords are the words of a name that mark its value secret.
var credentialWords = map[string]bool{
	"PASSWORD": true, "PASSWD": true, "PASSPHRASE": true, "SECRET": true, "SECRETS": true,
	"TOKEN": true, "TOKENS": true, "KEY": true, "KEYS": true, "APIKEY": true,
	"CREDENTIAL": true, "CREDENTIALS": true, "CREDS": true, "PRIVATE": true,
	"SAS": true, "CERT": false, "DSN": true,
}

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
		case (word == "CONNECTION" || word == "CONN") && (next == "STRING" || next == "STR"):
			return true
		case word == "CONNECTIONSTRING":
			return true
		}
	}
	return false
}

// URLPassword returns the password of a URL-shaped value
// (scheme://user:password@host…), and whether it has one.
func URLPassword(s string) (string, bool) {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return "", false
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.User == nil {
		return "", false
	}
	p, ok := u.User.Password()
	return p, ok && p != ""
}

// MaskURL hides the password of a URL-shaped value, keeping the rest
// readable; other values come back unchanged.
func MaskURL(s string) string {
	p, ok := URLPassword(s)
	if !ok {
		return s
	}
	return strings.Replace(s, ":"+p+"@", ":"+Masked+"@", 1)
}

// what kinds of credential a value can be.
type what int

const (
	none       what = iota
	secretData      // a Secret's data or stringData
	namedValue      // a value under a name that means a credential
	urlPass         // a URL with a password
)

// classify is the one decision every masked report and every refused
// render makes. Paths are field paths as diff names them:
// spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value.
func classify(kind, path string, v any) what {
	if kind == "Secret" && (under(path, "data") || under(path, "stringData")) && v != nil {
		return secretData
	}
	s, ok := v.(string)
	switch {
	case !ok || setting(s):
		return none
	case named(kind, path) && IsName(NameAt(path)):
		return namedValue
	}
	if _, ok := URLPassword(s); ok {
		return urlPass
	}
	return none
}

// Why says why the value v, found at path in an object of kind, is a
// credential, or "" when it is not: a Secret's data, an environment
// variable's value or a ConfigMap's entry under a name whose words mean a
// credential (not a switch such as "false" or a number), a URL with a
// password.
func Why(kind, path string, v any) string {
	switch classify(kind, path, v) {
	case secretData:
		return "a Secret's data is plaintext in Git (base64 is no encryption); mount it from Key Vault through the CSI driver"
	case namedValue:
		return NameAt(path) + " is named like a credential and holds a literal; reference it (valueFrom.secretKeyRef, the Key Vault CSI driver) instead"
	case urlPass:
		return "a URL with a password in the clear"
	}
	return ""
}

// Hide returns v as a report may show it, and the secret it hid ("" when v
// is no credential): a URL keeps all but its password.
func Hide(kind, path string, v any) (shown any, secret string) {
	switch classify(kind, path, v) {
	case none:
		return v, ""
	case urlPass:
		s := v.(string)
		p, _ := URLPassword(s)
		return MaskURL(s), p
	}
	return Masked, fmt.Sprint(v)
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
	slices.SortFunc(out, func(a, b Literal) int { return strings.Compare(a.Path, b.Path) })
	return out
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
