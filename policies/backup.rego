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
	lib.anchor(input)
	not has_backup(input)
}

has_backup(obj) if {
	some o in lib.objects_of(obj, "CronJob")
	lib.component(o) == "mongodb"
	lib.label(o, "app.kubernetes.io/component") == "backup"
}
