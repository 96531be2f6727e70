# Secrets: nothing secret is ever rendered; pods read secrets from Key Vault
# through the CSI driver.
package libertum.secrets

import data.libertum.lib

deny contains lib.violation(
	"secrets.plaintext",
	sprintf("Secret %q carries %s in the rendered output", [input.metadata.name, field]),
	"store the value in the stamp's Key Vault and list it in spec.components.<name>.secrets (SecretProviderClass)",
) if {
	input.kind == "Secret"
	some field in ["data", "stringData"]
	count(object.get(input, field, {})) > 0
}

secret_like := `(?i)(password|passwd|secret|token|api[_-]?key|private[_-]?key|connection[_-]?string)`

warn contains lib.violation(
	"secrets.env-literal",
	sprintf("container %q sets %s to a literal value", [c.name, e.name]),
	"mount it from Key Vault and point the app at the file (e.g. <NAME>_FILE)",
) if {
	input.kind in {"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"}
	some c in lib.input_all_containers
	some e in object.get(c, "env", [])
	regex.match(secret_like, e.name)
	not endswith(e.name, "_FILE")
	e.value != ""
}
