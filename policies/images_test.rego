package libertum.images_test

import data.libertum.fixtures as f
import data.libertum.images

with_image(image) := json.patch(f.deployment, [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}])

deny_rules(obj) := r if {
	r := f.rules(images.deny) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

test_pass if {
	count(deny_rules(f.deployment)) == 0
	count(deny_rules(with_image("acr.example.io/grafana/loki:3.4.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))) == 0
}

test_registry_fail if "images.registry" in deny_rules(with_image("docker.io/libertum/api:9f2c4e1a7b3d"))

test_registry_fail_lookalike_host if "images.registry" in deny_rules(with_image("acr.example.io.evil.com/libertum/api:9f2c4e1a7b3d"))

test_latest_fail if {
	"images.latest" in deny_rules(with_image("acr.example.io/libertum/api:latest"))
	"images.latest" in deny_rules(with_image("acr.example.io/libertum/api"))
}

test_pinned_fail if {
	"images.pinned" in deny_rules(with_image("acr.example.io/libertum/api:v1.2.3"))
	"images.pinned" in deny_rules(with_image("acr.example.io/libertum/api:main"))
}

test_registry_port_is_not_a_tag if {
	v := images.deny with input as with_image("acr.example.io:5000/libertum/api") with data.environment as object.union(f.env, {"registry": "acr.example.io:5000"}) with data.rendered as f.rendered
	f.rules(v) == {"images.latest"}
}
