package libertum.backup_test

import data.libertum.backup
import data.libertum.fixtures as f
import data.libertum.lib

test_pass if {
	v := backup.deny with input as f.namespace with data.environment as f.env with data.rendered as f.rendered
	count(v) == 0
}

test_mongodb_fail if {
	v := backup.deny with input as f.namespace with data.environment as f.env with data.rendered as lib.index([f.namespace])
	"backup.mongodb" in f.rules(v)
}

test_non_production_is_exempt if {
	v := backup.deny with input as f.namespace with data.environment as object.union(f.env, {"production": false}) with data.rendered as lib.index([f.namespace])
	count(v) == 0
}

test_foreign_namespace_is_not_a_stamp if {
	ns := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-x"}}
	v := backup.deny with input as ns with data.environment as f.env with data.rendered as lib.index([ns])
	count(v) == 0
}
