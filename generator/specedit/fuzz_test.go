package specedit

import (
	"testing"

	"github.com/libertum/platform-gitops/generator/spec"
)

// FuzzSetImages: any file and tag either fail with an error or give a file
// that still parses, with the tag set, and nothing else changed in length
// but the tag's bytes.
func FuzzSetImages(f *testing.F) {
	f.Add(read(f, "commented.yaml"), "api", "0a1b2c3d4e5f")
	f.Add(read(f, "commented.yaml"), "redis", "7.4.3@sha256:"+"ab"+"cd")
	f.Add([]byte("spec:\n  components: {}\n"), "api", "abc1234")
	f.Add([]byte("{"), "x", "y")
	f.Fuzz(func(t *testing.T, data []byte, component, tag string) {
		out, edits, err := SetImages("environments/dev.yaml", data, []ImageTag{{Component: component, Tag: tag}})
		if err != nil {
			return
		}
		if _, err := spec.Parse("environments/dev.yaml", out); err != nil {
			t.Fatalf("accepted edit gives an invalid file: %v", err)
		}
		for _, e := range edits {
			if e.New != tag {
				t.Errorf("edit %+v does not set %q", e, tag)
			}
			if len(out)-len(data) != len(e.New)-len(e.Old) && len(edits) == 1 {
				t.Errorf("file grew by %d bytes for a tag change of %d", len(out)-len(data), len(e.New)-len(e.Old))
			}
		}
	})
}
