package libertum.lib_test

import data.libertum.lib

deployment := {
	"kind": "Deployment",
	"metadata": {"name": "api", "namespace": "app", "labels": {"app.kubernetes.io/name": "api", "libertum.io/stamp": "one"}},
	"spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/name": "api"}}, "spec": {
		"initContainers": [{"name": "init", "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}}],
		"containers": [
			{"name": "api", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
			{"name": "sidecar", "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}},
		],
	}}},
}

test_pod_request_takes_init_maximum if {
	lib.pod_request(deployment, "cpu") == 2
	lib.pod_request(deployment, "memory") == (320 * 1024) * 1024
}

test_selects if {
	lib.selects({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"})
	lib.selects({}, {"a": "1"})
	lib.selects({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"})
	not lib.selects({"matchLabels": {"a": "1"}}, {"a": "2"})
}

test_component_and_stamp if {
	lib.component(deployment) == "api"
	lib.stamp(deployment) == "one"
	count(lib.all_containers(deployment)) == 3
}

test_index if {
	svc := {"kind": "Service", "metadata": {"name": "api", "namespace": "app", "labels": {"libertum.io/stamp": "one"}}}
	ns := {"kind": "Namespace", "metadata": {"name": "app", "labels": {"libertum.io/stamp": "two"}}}
	lib.index([deployment, svc, ns]) == {
		"one": {"Deployment": {"app/api": deployment}, "Service": {"app/api": svc}},
		"two": {"Namespace": {"/app": ns}},
	}
}

test_anchor_is_the_first_namespace if {
	a := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labels": {"libertum.io/stamp": "s"}}}
	b := json.patch(a, [{"op": "replace", "path": "/metadata/name", "value": "b"}])
	rendered := lib.index([a, b])
	lib.anchor(a) with data.rendered as rendered with data.environment.stamps as {"s": {}}
	not lib.anchor(b) with data.rendered as rendered with data.environment.stamps as {"s": {}}
}

# A Namespace of no stamp of the environment (another team's) anchors no
# stamp-wide rule.
test_foreign_namespace_anchors_nothing if {
	a := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-x"}}
	not lib.anchor(a) with data.rendered as lib.index([a]) with data.environment.stamps as {"s": {}}
	b := json.patch(a, [{"op": "add", "path": "/metadata/labels", "value": {"libertum.io/stamp": "elsewhere"}}])
	not lib.anchor(b) with data.rendered as lib.index([b]) with data.environment.stamps as {"s": {}}
}
