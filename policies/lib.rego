# Helpers shared by the policies. Input is one rendered Kubernetes object;
# data.environment is the environment's spec as the policies see it and
# data.rendered[stamp][kind]["namespace/name"] every object rendered for
# that stamp, indexed so rules across objects look up instead of scanning.
package libertum.lib

# Every deny and warn rule names the kinds it applies to as a literal in
# its body (input.kind in {"Deployment", ...} or input.kind == "Service"),
# not through a rule such as long_running_kinds or a function that checks
# the kind: OPA indexes a rule by a literal, so it skips the rule for every
# other kind without evaluating it; otherwise it evaluates every rule for
# every object (two thirds of the policies' time went to rules that could
# not apply). Only the labels rules apply to every kind. TestRulesAreIndexed
# (generator/policy) holds the policies to this.
long_running_kinds := {"Deployment", "StatefulSet", "DaemonSet"}

pod_spec(obj) := obj.spec.template.spec if obj.kind in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

pod_spec(obj) := obj.spec if obj.kind == "Pod"

pod_labels(obj) := object.get(obj, ["spec", "template", "metadata", "labels"], {}) if obj.kind != "CronJob"

pod_labels(obj) := object.get(obj, ["spec", "jobTemplate", "spec", "template", "metadata", "labels"], {}) if obj.kind == "CronJob"

containers(obj) := object.get(pod_spec(obj), "containers", [])

init_containers(obj) := object.get(pod_spec(obj), "initContainers", [])

all_containers(obj) := array.concat(init_containers(obj), containers(obj))

# The input object's pod spec and containers, as the functions above give
# them, computed once per query: OPA caches a rule's value for the query,
# not a function's result, and some twenty rules ask for these (the pod
# spec's dispatch on kind was a third of the policies' time).
input_pod_spec := pod_spec(input)

input_containers := containers(input)

input_all_containers := all_containers(input)

label(obj, key) := object.get(obj, ["metadata", "labels", key], "")

component(obj) := label(obj, "app.kubernetes.io/name")

stamp(obj) := label(obj, "libertum.io/stamp")

namespace(obj) := object.get(obj, ["metadata", "namespace"], "")

# spec_component is the component's entry in the environment spec.
spec_component(obj) := data.environment.components[component(obj)]

is_public(obj) if spec_component(obj).tier == "public"

# objects_of are the objects of one kind rendered for obj's stamp, keyed by
# "namespace/name" (iterate with `some o in objects_of(obj, kind)`; no copy).
# It reads data.rendered at [stamp, kind] only, never the whole document:
# what a rule reads is what its verdict depends on (a cached verdict is
# reused while those paths are unchanged, generator/check).
objects_of(obj, kind) := data.rendered[stamp(obj)][kind]

objects_of(obj, kind) := {} if not data.rendered[stamp(obj)][kind]

# summaries_of are the summaries of obj's stamp's objects, by kind and
# "namespace/name", each {package: summary} (a package's `summary` rule
# with the object as input; generator/policy.Summary): what stamp-wide
# rules add up instead of walking every object of the stamp.
summaries_of(obj) := data.summaries[stamp(obj)]

summaries_of(obj) := {} if not data.summaries[stamp(obj)]

# summaries_of_kind are the summaries of obj's stamp's objects of one kind,
# by "namespace/name": only the objects some package summarizes, so a rule
# that looks for a few objects of a kind among many reads those few.
summaries_of_kind(obj, kind) := data.summaries[stamp(obj)][kind]

summaries_of_kind(obj, kind) := {} if not data.summaries[stamp(obj)][kind]

# anchor(obj): obj is the one object per stamp that stamp-wide rules are
# evaluated from (the stamp's first Namespace), so a rule that sums over the
# whole stamp runs once per stamp, not once per object. A Namespace of no
# stamp of the environment (another team's, checked with policy check)
# anchors nothing.
anchor(obj) if {
	obj.kind == "Namespace"
	data.environment.stamps[stamp(obj)]
	obj.metadata.name == min({o.metadata.name | some o in objects_of(obj, "Namespace")})
}

# lookup is the object of kind namespace/name in obj's stamp, if rendered.
lookup(obj, kind, ns, name) := data.rendered[stamp(obj)][kind][concat("/", [ns, name])]

# index builds data.rendered's shape from a list of objects (for tests and
# for data built outside gitops).
index(objs) := {s: {k: {concat("/", [namespace(o), o.metadata.name]): o |
	some o in objs
	stamp(o) == s
	o.kind == k
} |
	some k in {o.kind | some o in objs; stamp(o) == s}
} |
	some s in {stamp(o) | some o in objs}
}

violation(rule, msg, fix) := {"rule": rule, "msg": msg, "fix": fix}

# stamp_violation is about the stamp as a whole; it is reported once however
# many objects it fires from.
stamp_violation(rule, msg, fix) := {"rule": rule, "msg": msg, "fix": fix, "scope": "stamp"}

# stamp_violation_at is a stamp_violation that points at a spec line
# (file:line) rather than at the component it was found from.
stamp_violation_at(rule, msg, fix, source) := {"rule": rule, "msg": msg, "fix": fix, "scope": "stamp", "source": source}

# selects(selector, labels): a label selector's matchLabels and
# matchExpressions (In) all hold for labels; an empty selector selects all.
selects(selector, labels) if {
	every k, v in object.get(selector, "matchLabels", {}) {
		labels[k] == v
	}
	every e in object.get(selector, "matchExpressions", []) {
		expression_holds(e, labels)
	}
}

expression_holds(e, labels) if {
	e.operator == "In"
	labels[e.key] in e.values
}

expression_holds(e, labels) if {
	e.operator == "Exists"
	labels[e.key]
}

expression_holds(e, labels) if {
	e.operator == "NotIn"
	not labels[e.key] in e.values
}

expression_holds(e, labels) if {
	e.operator == "DoesNotExist"
	not labels[e.key]
}

# target is the workload an HorizontalPodAutoscaler scales, if rendered.
target(hpa) := lookup(hpa, hpa.spec.scaleTargetRef.kind, namespace(hpa), hpa.spec.scaleTargetRef.name)

# targets(hpa, w): the HorizontalPodAutoscaler scales the workload w.
targets(hpa, w) if {
	hpa.kind == "HorizontalPodAutoscaler"
	ref := hpa.spec.scaleTargetRef
	ref.kind == w.kind
	ref.name == w.metadata.name
	namespace(hpa) == namespace(w)
}

quantity(q) := units.parse(sprintf("%v", [q]))

# pod_request is what the scheduler reserves for one pod: the sum over its
# containers, or the largest init container if that is more.
pod_request(obj, resource) := max([
	sum([quantity(object.get(c, ["resources", "requests", resource], 0)) | some c in containers(obj)]),
	max(array.concat([0], [quantity(object.get(c, ["resources", "requests", resource], 0)) | some c in init_containers(obj)])),
])
