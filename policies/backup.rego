# Backup: production stamps run the daily MongoDB backup (seed 000's
# "backups diarios con mongodump").
package libertum.backup

import data.libertum.lib

deny contains lib.stamp_violation(
	"backup.mongodb",
	sprintf("production stamp %s has no MongoDB backup CronJob", [lib.stamp(input)]),
	"render base/mongodb for the stamp; its backup CronJob runs even when MongoDB is external",
) if {
	data.environment.production
	input.kind == "Namespace"
	not has_backup(lib.stamp_objects(input))
}

has_backup(objs) if {
	some o in objs
	o.kind == "CronJob"
	lib.component(o) == "mongodb"
	lib.label(o, "app.kubernetes.io/component") == "backup"
}
