package diff

import (
	"encoding/base64"
	"sort"
	"strings"

	"github.com/libertum/platform-gitops/generator/credential"
)

// Masked replaces a credential in a report.
const Masked = credential.Masked

// minRepeated is the shortest credential masked where it is repeated: a
// shorter one would mask every "true" and port number.
const minRepeated = 6

// mask hides the credentials in files' changes in place, as credential.Hide
// shows them; then every credential found anywhere in the report (a Secret's
// data decoded too) wherever else it appears, whole or inside another
// value, so a password repeated in a ConfigMap, an ini blob or a Secret
// added in the same change does not leak either.
func mask(files []File) {
	hidden := map[string]bool{}
	keep := func(secret string) {
		if len(secret) >= minRepeated {
			hidden[secret] = true
		}
	}
	for i := range files {
		f := &files[i]
		hide := func(path string, leaf any) any {
			shown, secrets := credential.Hide(f.Kind, path, leaf)
			for _, s := range secrets {
				keep(s)
				if f.Kind == "Secret" {
					if b, err := base64.StdEncoding.DecodeString(s); err == nil {
						keep(string(b))
					}
				}
			}
			return shown
		}
		for j := range f.Changes {
			c := &f.Changes[j]
			c.Old, c.New = credential.Map(c.Path, c.Old, hide), credential.Map(c.Path, c.New, hide)
		}
		if f.Object != nil {
			f.Object, _ = credential.Map("", f.Object, hide).(map[string]any)
		}
	}
	if len(hidden) == 0 {
		return
	}
	// Longest first: a secret that contains another is masked whole.
	secrets := make([]string, 0, len(hidden))
	for s := range hidden {
		secrets = append(secrets, s)
	}
	sort.Slice(secrets, func(i, j int) bool {
		if len(secrets[i]) != len(secrets[j]) {
			return len(secrets[i]) > len(secrets[j])
		}
		return secrets[i] < secrets[j]
	})
	repeat := func(_ string, leaf any) any {
		s, ok := leaf.(string)
		if !ok {
			return leaf
		}
		for _, secret := range secrets {
			if s == secret {
				return Masked
			}
			s = strings.ReplaceAll(s, secret, Masked)
		}
		return s
	}
	for i := range files {
		for j := range files[i].Changes {
			c := &files[i].Changes[j]
			c.Old, c.New = credential.Map("", c.Old, repeat), credential.Map("", c.New, repeat)
		}
		if files[i].Object != nil {
			files[i].Object, _ = credential.Map("", files[i].Object, repeat).(map[string]any)
		}
	}
}
