package spec

import (
	"strings"
	"testing"
)

// FuzzParse: no environment file panics the decoder; every error names the
// file; an accepted file answers line lookups.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(""))
	f.Add([]byte("apiVersion: [\n"))
	f.Add([]byte(strings.Replace(valid, "spec:\n", "spec:\n  colour: blue\n", 1)))
	f.Add([]byte(valid + "---\n" + valid))
	f.Add([]byte("\tapiVersion: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse("environments/fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "environments/fuzz.yaml") {
				t.Errorf("error without the file: %v", err)
			}
			return
		}
		_ = e.Line("spec", "components")
		_ = e.ComponentNames()
	})
}
