package diff

import (
	"github.com/libertum/platform-gitops/generator/credential"
)

// Masked replaces a credential in a report.
const Masked = credential.Masked

// mask hides the credentials in files' changes in place, as
// credential.Hide shows them, then any other value equal to one already
// hidden, so a password repeated in a ConfigMap does not leak either.
func mask(files []File) {
	hidden := map[string]bool{}
	for i := range files {
		f := &files[i]
		hide := func(path string, leaf any) any {
			shown, secret := credential.Hide(f.Kind, path, leaf)
			if secret != "" {
				hidden[secret] = true
			}
			return shown
		}
		for j := range f.Changes {
			c := &f.Changes[j]
			c.Old, c.New = credential.Map(c.Path, c.Old, hide), credential.Map(c.Path, c.New, hide)
		}
	}
	if len(hidden) == 0 {
		return
	}
	repeat := func(_ string, leaf any) any {
		if s, ok := leaf.(string); ok && hidden[s] {
			return Masked
		}
		return leaf
	}
	for i := range files {
		for j := range files[i].Changes {
			c := &files[i].Changes[j]
			c.Old, c.New = credential.Map("", c.Old, repeat), credential.Map("", c.New, repeat)
		}
	}
}
