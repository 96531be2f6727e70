// Package credential decides, by meaning, what in a rendered object is a
// credential: a Secret's data, an environment variable whose name's words
// say it holds one, the password of a URL. Every output that shows values
// (verify's drift, diff, publish) masks through it, and render refuses to
// write a credential in the clear.
package credential

import (
	"net/url"
	"sort"
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

// Literal is a credential written in the clear in an object.
type Literal struct {
	// Path is the field, as diff names fields:
	// spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value.
	Path string
	// Why says what makes it a credential.
	Why string
}

// Literals finds the credentials an object carries in the clear: a
// Secret's data or stringData, a ConfigMap key or an environment variable
// whose name means a credential with a literal value, and any string value
// that is a URL with a password. References (valueFrom, secretKeyRef, the
// CSI driver) are not literals.
func Literals(obj map[string]any) []Literal {
	var out []Literal
	kind, _ := obj["kind"].(string)
	switch kind {
	case "Secret":
		for _, field := range []string{"data", "stringData"} {
			if m, ok := obj[field].(map[string]any); ok && len(m) > 0 {
				for _, k := range sortedKeys(m) {
					out = append(out, Literal{Path: field + "." + k, Why: "a Secret's " + field + " is plaintext in Git (base64 is no encryption); mount it from Key Vault through the CSI driver"})
				}
			}
		}
	case "ConfigMap":
		if m, ok := obj["data"].(map[string]any); ok {
			for _, k := range sortedKeys(m) {
				if s, _ := m[k].(string); !setting(s) && IsName(k) {
					out = append(out, Literal{Path: "data." + k, Why: "a ConfigMap key named like a credential holds a literal value"})
				}
			}
		}
	}
	walk("", obj, func(path string, v any, parentItem map[string]any) {
		s, ok := v.(string)
		if !ok || s == "" {
			return
		}
		if _, has := URLPassword(s); has {
			out = append(out, Literal{Path: path, Why: "a URL with a password in the clear"})
			return
		}
		if parentItem != nil && strings.HasSuffix(path, "].value") && strings.Contains(path, "env[name=") {
			if name, _ := parentItem["name"].(string); !setting(s) && IsName(name) {
				out = append(out, Literal{Path: path, Why: "environment variable " + name + " is named like a credential and set to a literal; use valueFrom.secretKeyRef"})
			}
		}
	})
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

// walk calls f for every leaf of v with its path; parentItem is the map
// holding the leaf when that map is a named list item.
func walk(path string, v any, f func(path string, v any, parentItem map[string]any)) {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if child, ok := t[k].(map[string]any); ok {
				walk(p, child, f)
				continue
			}
			if list, ok := t[k].([]any); ok {
				walk(p, list, f)
				continue
			}
			var item map[string]any
			if _, named := t["name"].(string); named {
				item = t
			}
			f(p, t[k], item)
		}
	case []any:
		for i, x := range t {
			p := path + "[" + strconv.Itoa(i) + "]"
			if m, ok := x.(map[string]any); ok {
				if name, ok := m["name"].(string); ok {
					p = path + "[name=" + name + "]"
				}
			}
			walk(p, x, f)
		}
	default:
		f(path, v, nil)
	}
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
