package render

import "strings"

// containerImages walks an object and returns every containers[].image and
// initContainers[].image it holds, whatever the kind.
func containerImages(v any) []string {
	var out []string
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if k == "containers" || k == "initContainers" {
				if list, ok := val.([]any); ok {
					for _, c := range list {
						if cm, ok := c.(map[string]any); ok {
							if img, ok := cm["image"].(string); ok {
								out = append(out, img)
							}
						}
					}
				}
			}
			out = append(out, containerImages(val)...)
		}
	case []any:
		for _, val := range t {
			out = append(out, containerImages(val)...)
		}
	}
	return out
}

// imageName strips the tag and digest from an image reference.
func imageName(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}
