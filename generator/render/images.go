package render

// ContainerImages walks an object and returns every containers[].image and
// initContainers[].image it holds, whatever the kind.
func ContainerImages(v any) []string {
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
			out = append(out, ContainerImages(val)...)
		}
	case []any:
		for _, val := range t {
			out = append(out, ContainerImages(val)...)
		}
	}
	return out
}
