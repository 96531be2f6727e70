# Labels: every object says what it is, what it belongs to and where it runs.
package libertum.labels

import data.libertum.lib

# These rules run on every object, so they read the labels directly rather
# than through lib.label: a missing label and an empty one are alike.

# Environment-wide objects (the Argo CD project) belong to no single stamp.
environment_wide_kinds := {"AppProject"}

deny contains lib.violation(
	"labels.required",
	sprintf("%s %q lacks the label %s", [input.kind, input.metadata.name, key]),
	"the render adds these labels; an object without them did not come through gitops render",
) if {
	some key in ["app.kubernetes.io/name", "app.kubernetes.io/part-of", "libertum.io/environment", "libertum.io/stamp"]
	not labelled(key)
	not exempt(key)
}

labelled(key) if input.metadata.labels[key] != ""

exempt("libertum.io/stamp") if input.kind in environment_wide_kinds

deny contains lib.violation(
	"labels.environment",
	sprintf("%s %q is labelled for environment %q but rendered for %q", [input.kind, input.metadata.name, got, data.environment.name]),
	"render each environment from its own spec",
) if {
	got := input.metadata.labels["libertum.io/environment"]
	got != ""
	got != data.environment.name
}

# Pod Security admission reads a Namespace's levels from its labels; a
# Namespace without them admits any pod (the cluster default, privileged).
deny contains lib.violation(
	"labels.pod-security",
	sprintf("Namespace %q has no %s label with a Pod Security level (restricted, baseline or privileged)", [input.metadata.name, key]),
	"the render labels every Namespace for Pod Security admission: enforced at the strictest level its pods pass, audited and warned at restricted",
) if {
	input.kind == "Namespace"
	some key in ["pod-security.kubernetes.io/enforce", "pod-security.kubernetes.io/audit", "pod-security.kubernetes.io/warn"]
	not object.get(object.get(input.metadata, "labels", {}), key, "") in {"restricted", "baseline", "privileged"}
}
