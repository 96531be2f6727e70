package libertum.identity_test

import data.libertum.fixtures as f
import data.libertum.identity
import data.libertum.lib

client := "0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e"

db_client := "7b3e9f2a-1c5d-4e8b-a6f0-2d9c4b7e1a3f"

edge_client := "3f6a1d9e-8c2b-4e7f-b5a0-9d1c6e4b2f8a"

env := json.patch(f.env, [
	{"op": "add", "path": "/stamps/one/identities", "value": {"api": client, "db": db_client}},
	{"op": "add", "path": "/components/api/keyVaultObjects", "value": ["mongodb-uri"]},
	{"op": "add", "path": "/components/edge/terminatesTLS", "value": true},
	{"op": "add", "path": "/stamps/one/identities/edge", "value": edge_client},
	{"op": "add", "path": "/stamps/one/certificate", "value": {"name": "stamp-tls", "hosts": ["app.example.com"]}},
	{"op": "add", "path": "/components/api/azure", "value": ["blob"]},
	{"op": "add", "path": "/components/mongodb/jobs", "value": {"mongodb-backup": ["blob"]}},
])

api := json.patch(f.deployment, [
	{"op": "add", "path": "/spec/template/spec/serviceAccountName", "value": "api"},
	{"op": "add", "path": "/spec/template/metadata/labels/azure.workload.identity~1use", "value": "true"},
])

account(name, ns, annotations) := {
	"apiVersion": "v1", "kind": "ServiceAccount",
	"metadata": {"name": name, "namespace": ns, "labels": f.labels("api"), "annotations": annotations},
}

with_identity := account("api", "app", {"azure.workload.identity/client-id": client})

deny_rules(obj, objs) := r if {
	r := f.rules(identity.deny) with input as obj with data.environment as env with data.rendered as lib.index(objs)
}

test_own_account_with_identity_pass if {
	count(deny_rules(api, [api, with_identity])) == 0
}

test_default_account_fail if {
	default_sa := json.patch(api, [{"op": "remove", "path": "/spec/template/spec/serviceAccountName"}])
	"identity.default-sa" in deny_rules(default_sa, [default_sa, with_identity])
	named_default := json.patch(api, [{"op": "replace", "path": "/spec/template/spec/serviceAccountName", "value": "default"}])
	"identity.default-sa" in deny_rules(named_default, [named_default, with_identity])
}

test_client_id_missing_fail if "identity.client-id" in deny_rules(api, [api, account("api", "app", {})])

test_client_id_of_another_stamp_fail if {
	"identity.client-id" in deny_rules(api, [api, account("api", "app", {"azure.workload.identity/client-id": "5a9e2c7d-3b1f-4d6a-8c0e-1f4b7d2a9c6e"})])
}

test_key_vault_needs_the_identity if {
	kv := json.patch(f.db, [
		{"op": "add", "path": "/spec/template/spec/serviceAccountName", "value": "db"},
		{"op": "add", "path": "/spec/template/spec/volumes", "value": [{"name": "secrets-store", "csi": {"driver": "secrets-store.csi.k8s.io"}}]},
	])
	"identity.client-id" in deny_rules(kv, [kv, account("db", "data", {})])
	not "identity.client-id" in deny_rules(kv, [kv, account("db", "data", {"azure.workload.identity/client-id": db_client})])

	# Another component's identity is not the db's.
	"identity.client-id" in deny_rules(kv, [kv, account("db", "data", {"azure.workload.identity/client-id": client})])
}

test_use_label_fail if {
	unlabelled := json.patch(api, [{"op": "remove", "path": "/spec/template/metadata/labels/azure.workload.identity~1use"}])
	"identity.use-label" in deny_rules(unlabelled, [unlabelled, with_identity])
}

test_job_use_label if {
	job := json.patch(f.backup, [{"op": "add", "path": "/spec/jobTemplate/spec/template/spec/serviceAccountName", "value": "mongodb-backup"}])
	"identity.use-label" in deny_rules(job, [job])
	labelled := json.patch(job, [{"op": "add", "path": "/spec/jobTemplate/spec/template/metadata", "value": {"labels": {"azure.workload.identity/use": "true"}}}])
	not "identity.use-label" in deny_rules(labelled, [labelled])
}

spc(objects, clientID) := {
	"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
	"metadata": {"name": "api-keyvault", "namespace": "app", "labels": f.labels("api")},
	"spec": {"provider": "azure", "parameters": {
		"clientID": clientID,
		"objects": concat("", ["array:\n", concat("", [sprintf("  - |\n    objectName: %s\n    objectType: secret\n", [o]) | some o in objects])]),
	}},
}

test_secret_scope_pass if not "identity.secret-scope" in deny_rules(spc(["mongodb-uri"], client), [])

# The controller that terminates TLS reads the stamp's certificate and syncs
# it; nobody else may.
edge_spc := json.patch(spc(["stamp-tls"], edge_client), [
	{"op": "replace", "path": "/metadata", "value": {"name": "edge-keyvault", "namespace": "edge", "labels": f.labels("edge")}},
	{"op": "add", "path": "/spec/secretObjects", "value": [{"secretName": "stamp-tls", "type": "kubernetes.io/tls", "data": [{"objectName": "stamp-tls", "key": "tls.key"}, {"objectName": "stamp-tls", "key": "tls.crt"}]}]},
])

test_certificate_where_tls_terminates_pass if {
	r := deny_rules(edge_spc, [])
	not "identity.secret-scope" in r
	not "identity.tls-key" in r
}

test_certificate_in_an_application_fail if {
	app_cert := json.patch(spc(["mongodb-uri", "stamp-tls"], client), [{"op": "add", "path": "/spec/secretObjects", "value": edge_spc.spec.secretObjects}])
	r := deny_rules(app_cert, [])
	"identity.secret-scope" in r
	"identity.tls-key" in r
}

test_tls_secret_named_by_an_ingress_fail if {
	ing := {
		"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": {"name": "api", "namespace": "app", "labels": f.labels("api")},
		"spec": {"rules": [{"host": "app.example.com"}], "tls": [{"hosts": ["app.example.com"], "secretName": "api-tls"}]},
	}
	"identity.tls-key" in deny_rules(ing, [ing])
	not "identity.tls-key" in deny_rules(json.remove(ing, ["spec/tls/0/secretName"]), [ing])
}

mounting(name) := json.patch(api, [{"op": "add", "path": "/spec/template/spec/volumes", "value": [{"name": "secrets-store", "csi": {"driver": "secrets-store.csi.k8s.io", "volumeAttributes": {"secretProviderClass": name}}}]}])

test_pod_mounts_another_components_spc_fail if {
	own := spc(["mongodb-uri"], client)
	other := json.patch(edge_spc, [{"op": "replace", "path": "/metadata/namespace", "value": "app"}])
	"identity.secret-scope" in deny_rules(mounting("edge-keyvault"), [mounting("edge-keyvault"), other, own, with_identity])
	not "identity.secret-scope" in deny_rules(mounting("api-keyvault"), [mounting("api-keyvault"), other, own, with_identity])
}

test_secret_scope_another_components_object_fail if {
	"identity.secret-scope" in deny_rules(spc(["mongodb-uri", "grafana-admin-password"], client), [])
}

test_secret_scope_another_identity_fail if {
	"identity.secret-scope" in deny_rules(spc(["mongodb-uri"], db_client), [])
}

test_shared_identity_fail if {
	shared := json.patch(env, [{"op": "replace", "path": "/stamps/one/identities/db", "value": upper(client)}])
	v := identity.deny with input as f.namespace with data.environment as shared with data.rendered as lib.index([f.namespace])
	"identity.shared" in f.rules(v)
	w := identity.deny with input as f.namespace with data.environment as env with data.rendered as lib.index([f.namespace])
	not "identity.shared" in f.rules(w)
}
