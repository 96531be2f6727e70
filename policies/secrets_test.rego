package libertum.secrets_test

import data.libertum.fixtures as f
import data.libertum.secrets

secret(body) := object.union({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x", "labels": f.labels("api")}}, body)

deny_rules(obj) := r if {
	r := f.rules(secrets.deny) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

warn_rules(obj) := r if {
	r := f.rules(secrets.warn) with input as obj with data.environment as f.env with data.rendered as f.rendered
}

test_plaintext_pass if {
	not "secrets.plaintext" in deny_rules(secret({"type": "kubernetes.io/tls"}))
	not "secrets.plaintext" in deny_rules(f.deployment)
}

test_plaintext_fail_data if "secrets.plaintext" in deny_rules(secret({"data": {"password": "aHVudGVyMg=="}}))

test_plaintext_fail_string_data if "secrets.plaintext" in deny_rules(secret({"stringData": {"password": "hunter2"}}))

test_env_literal_pass if {
	ok := json.patch(f.deployment, [{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "DB_PASSWORD_FILE", "value": "/mnt/secrets-store/db"}, {"name": "LOG_LEVEL", "value": "info"}]}])
	count(warn_rules(ok)) == 0
}

test_env_literal_warn if {
	bad := json.patch(f.deployment, [{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "DB_PASSWORD", "value": "hunter2"}]}])
	"secrets.env-literal" in warn_rules(bad)
}
