# Images: only the environment's registry, never a floating tag.
package libertum.images

import data.libertum.lib

registry := data.environment.registry

deny contains lib.violation(
	"images.registry",
	sprintf("container %q runs %s, outside the environment's registry %s", [c.name, c.image, registry]),
	"import the image into the environment's ACR and pin it in spec.components.<name>.images",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	not startswith(c.image, concat("", [registry, "/"]))
}

has_digest(image) if contains(image, "@sha256:")

# tag is the image's tag, "" when it has none.
tag(image) := t if {
	name := split(image, "@")[0]
	parts := split(name, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	t := split(last, ":")[1]
} else := ""

deny contains lib.violation(
	"images.latest",
	sprintf("container %q runs %s: no tag or latest", [c.name, c.image]),
	"pin the image to a commit hash or digest in spec.components.<name>.images",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	not has_digest(c.image)
	tag(c.image) in {"", "latest"}
}

deny contains lib.violation(
	"images.pinned",
	sprintf("container %q runs %s: the tag is neither a commit hash nor a digest", [c.name, c.image]),
	"tag images with the commit hash they were built from, or pin third-party images by digest",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	not has_digest(c.image)
	t := tag(c.image)
	not t in {"", "latest"}
	not regex.match(`^[0-9a-f]{7,40}$`, t)
}
