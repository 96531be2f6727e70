# State outside the stamp (seed 001): a stamp is rebuilt by redeploying it,
# so whatever it keeps on a PersistentVolume is lost with it. What must
# outlive a stamp lives in its region's storage (Loki's chunks in the
# region's log account); what stays on a volume in the stamp is listed,
# with why, in the spec (spec.components.<c>.state).
package libertum.state

import data.libertum.lib

deny contains lib.violation(
	"state.pvc",
	sprintf("%s keeps %s on a PersistentVolume in the stamp, which a rebuilt stamp loses, and spec.components.%s.state does not say why", [lib.component(input), claim, lib.component(input)]),
	"keep what must outlive the stamp in its region's storage, or say in spec.components.<component>.state why this volume may be lost with the stamp",
) if {
	input.kind == "StatefulSet"
	some t in object.get(input.spec, "volumeClaimTemplates", [])
	claim := t.metadata.name
	not justified(input)
}

deny contains lib.violation(
	"state.pvc",
	sprintf("%s keeps %s on a PersistentVolume in the stamp, which a rebuilt stamp loses, and spec.components.%s.state does not say why", [lib.component(input), input.metadata.name, lib.component(input)]),
	"keep what must outlive the stamp in its region's storage, or say in spec.components.<component>.state why this volume may be lost with the stamp",
) if {
	input.kind == "PersistentVolumeClaim"
	not justified(input)
}

justified(obj) if data.environment.components[lib.component(obj)].state != ""

# Metrics outlive the stamp: the metrics collector's Prometheus
# configuration remote-writes to its own region's Azure Monitor workspace
# (spec.regions.<region>.metricsWrite), never another region's.
deny contains lib.violation(
	"state.metrics-remote-write",
	sprintf("%s's configuration (%s) does not remote-write to %s's Azure Monitor workspace %s: the stamp's metrics are lost with it", [comp, key, region, want]),
	"render remote_write to spec.regions.<region>.metricsWrite (base/prometheus's configmap does from the region values)",
) if {
	input.kind == "ConfigMap"
	comp := lib.component(input)
	data.environment.components[comp].scrapesMetrics
	some key, text in object.get(input, "data", {})
	endswith(key, ".yml")
	cfg := yaml.unmarshal(text)
	is_object(cfg)
	region := data.environment.stamps[lib.stamp(input)].region
	want := data.environment.regions[region].metricsWrite
	want != ""
	not writes_to(cfg, want)
}

writes_to(cfg, url) if {
	some rw in object.get(cfg, "remote_write", [])
	rw.url == url
}
