package libertum.labels_test

import data.libertum.fixtures as f
import data.libertum.labels

deny_rules(obj) := r if {
	r := f.rules(labels.deny) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

test_pass if count(deny_rules(f.deployment)) == 0

test_required_fail if "labels.required" in deny_rules(json.remove(f.deployment, ["metadata/labels/libertum.io~1stamp"]))

test_environment_fail if {
	bad := json.patch(f.deployment, [{"op": "replace", "path": "/metadata/labels/libertum.io~1environment", "value": "dev"}])
	"labels.environment" in deny_rules(bad)
}

test_project_needs_no_stamp if {
	project := {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "prod", "labels": json.remove(f.labels("argocd"), ["libertum.io~1stamp"])}}
	count(deny_rules(project)) == 0
	"labels.required" in deny_rules(json.remove(project, ["metadata/labels/libertum.io~1environment"]))
}

test_pod_security_pass if not "labels.pod-security" in deny_rules(f.namespace)

test_pod_security_fail if {
	"labels.pod-security" in deny_rules(json.remove(f.namespace, ["metadata/labels/pod-security.kubernetes.io~1enforce"]))
	"labels.pod-security" in deny_rules(json.patch(f.namespace, [{"op": "replace", "path": "/metadata/labels/pod-security.kubernetes.io~1warn", "value": "strict"}]))
}
