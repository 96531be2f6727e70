package diff

import (
	"fmt"
	"strings"

	"github.com/libertum/platform-gitops/generator/credential"
)

// Masked replaces a credential in a report.
const Masked = credential.Masked

// masker hides credentials in the changes of a whole comparison: what
// credential calls one (Secret data, values under credential names, URL
// passwords) and then any other value equal to one already hidden, so a
// password repeated in a ConfigMap does not leak either.
type masker struct {
	hidden map[string]bool
}

// mask hides the credentials in files' changes in place.
func mask(files []File) {
	m := &masker{hidden: map[string]bool{}}
	for i := range files {
		f := &files[i]
		for j := range f.Changes {
			c := &f.Changes[j]
			if f.Kind == "Secret" && (c.Path == "data" || c.Path == "stringData" || strings.HasPrefix(c.Path, "data.") || strings.HasPrefix(c.Path, "stringData.")) {
				c.Old, c.New = m.hideAll(c.Old), m.hideAll(c.New)
				continue
			}
			c.Old, c.New = m.value(c.Path, c.Old), m.value(c.Path, c.New)
		}
	}
	if len(m.hidden) == 0 {
		return
	}
	for i := range files {
		for j := range files[i].Changes {
			c := &files[i].Changes[j]
			c.Old, c.New = m.repeats(c.Old), m.repeats(c.New)
		}
	}
}

// hideAll hides a whole value, remembering every string in it.
func (m *masker) hideAll(v any) any {
	if v == nil {
		return nil
	}
	m.remember(v)
	return Masked
}

func (m *masker) remember(v any) {
	switch t := v.(type) {
	case string:
		if t != "" {
			m.hidden[t] = true
		}
	case map[string]any:
		for _, x := range t {
			m.remember(x)
		}
	case []any:
		for _, x := range t {
			m.remember(x)
		}
	case nil:
	default:
		m.hidden[fmt.Sprint(t)] = true
	}
}

// value hides what is a credential in v, found at path.
func (m *masker) value(path string, v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = m.value(join(path, k), x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			sub := fmt.Sprintf("%s[%d]", path, i)
			if item, ok := x.(map[string]any); ok {
				if name, ok := item["name"].(string); ok {
					sub = fmt.Sprintf("%s[name=%s]", path, name)
				}
			}
			out[i] = m.value(sub, x)
		}
		return out
	}
	if credential.IsName(nameAt(path)) {
		return m.hideAll(v)
	}
	if s, ok := v.(string); ok {
		if p, ok := credential.URLPassword(s); ok {
			m.hidden[p] = true
			return credential.MaskURL(s)
		}
	}
	return v
}

// repeats hides values equal to a hidden one.
func (m *masker) repeats(v any) any {
	switch t := v.(type) {
	case string:
		if m.hidden[t] {
			return Masked
		}
	case map[string]any:
		for k, x := range t {
			t[k] = m.repeats(x)
		}
	case []any:
		for i, x := range t {
			t[i] = m.repeats(x)
		}
	}
	return v
}

// nameAt is the name a value at path is known by: the last key, or for the
// value of a named item (env[name=DB_PASSWORD].value) the item's name.
func nameAt(path string) string {
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

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
