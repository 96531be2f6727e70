package diff

import (
	"regexp"
	"strings"
)

// Masked replaces a secret-like value in a report.
const Masked = "********"

var secretLike = regexp.MustCompile(`(?i)(password|passwd|secret|token|api[_-]?key|private[_-]?key|credential|connection[_-]?string|\.pem|\.key$|sas)`)

// Mask hides the values of changes that look secret: fields of a Secret's
// data, and any field or env var whose name says it holds a credential.
func Mask(kind string, changes []Change) []Change {
	out := make([]Change, len(changes))
	for i, c := range changes {
		if secretPath(kind, c.Path) {
			if c.Old != nil {
				c.Old = Masked
			}
			if c.New != nil {
				c.New = Masked
			}
		}
		out[i] = c
	}
	return out
}

func secretPath(kind, path string) bool {
	if kind == "Secret" && (strings.HasPrefix(path, "data") || strings.HasPrefix(path, "stringData")) {
		return true
	}
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '.' || r == '[' || r == ']' }) {
		part = strings.TrimPrefix(part, "name=")
		if secretLike.MatchString(part) {
			return true
		}
	}
	return false
}
