# A small production stamp that honours every rule; tests break one thing
# at a time.
package libertum.fixtures

import data.libertum.lib

labels(name) := {
	"app.kubernetes.io/name": name,
	"app.kubernetes.io/part-of": "libertum",
	"libertum.io/environment": "prod",
	"libertum.io/stamp": "one",
}

env := {
	"name": "prod",
	"production": true,
	"registry": "acr.example.io",
	"zones": ["1", "2", "3"],
	"node": {"size": "Standard_D2s_v5", "allocatable": {"cpu": "1900m", "memory": "5632Mi"}},
	"autoscaler": {"minNodes": 3, "maxNodes": 3},
	"regions": {
		"westeurope": {"vnet": "10.30.0.0/16", "publicSubnet": "10.30.0.0/22", "privateSubnet": "10.30.8.0/21", "hosts": [{"name": "vm", "address": "10.30.8.10"}]},
		"northeurope": {"vnet": "10.31.0.0/16", "publicSubnet": "10.31.0.0/22", "privateSubnet": "10.31.8.0/21", "hosts": [{"name": "vm-neu", "address": "10.31.8.10"}]},
	},
	"stamps": {"one": {"region": "westeurope"}},
	"components": {
		"api": {"tier": "public", "namespace": "app", "ingress": true, "consumers": ["edge"]},
		"edge": {"tier": "public", "namespace": "edge", "consumers": []},
		"db": {"tier": "private", "namespace": "data", "consumers": ["api"]},
		"mongodb": {"tier": "private", "namespace": "data", "consumers": []},
		"agent": {"tier": "private", "namespace": "ops", "consumers": [], "writableRootFilesystem": "writes its state under /var"},
	},
}

container := {
	"name": "api",
	"image": "acr.example.io/libertum/api:9f2c4e1a7b3d",
	"resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
	"readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
	"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
	"securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true},
}

deployment := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "api", "namespace": "app", "labels": labels("api")},
	"spec": {
		"replicas": 3,
		"selector": {"matchLabels": {"app.kubernetes.io/name": "api"}},
		"template": {
			"metadata": {"labels": labels("api")},
			"spec": {
				"automountServiceAccountToken": false,
				"securityContext": {"runAsNonRoot": true, "runAsUser": 10001},
				"topologySpreadConstraints": [
					{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}},
					{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}},
				],
				"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["westeurope-1", "westeurope-2", "westeurope-3"]}]}]}}},
				"containers": [container],
			},
		},
	},
}

db := json.patch(deployment, [
	{"op": "replace", "path": "/metadata", "value": {"name": "db", "namespace": "data", "labels": labels("db")}},
	{"op": "replace", "path": "/spec/selector/matchLabels", "value": {"app.kubernetes.io/name": "db"}},
	{"op": "replace", "path": "/spec/template/metadata/labels", "value": labels("db")},
])

pdb(name, ns) := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": {"name": name, "namespace": ns, "labels": labels(name)},
	"spec": {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow", "selector": {"matchLabels": {"app.kubernetes.io/name": name}}},
}

hpa := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "api", "namespace": "app", "labels": labels("api")},
	"spec": {"minReplicas": 3, "maxReplicas": 6, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}},
}

deny_all := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": "db-default-deny", "namespace": "data", "labels": labels("db")},
	"spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "db"}}, "policyTypes": ["Ingress"]},
}

allow_consumers := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": "db-allow-consumers", "namespace": "data", "labels": labels("db")},
	"spec": {
		"podSelector": {"matchLabels": {"app.kubernetes.io/name": "db"}},
		"policyTypes": ["Ingress"],
		"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "app"}}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}}]}],
	},
}

backup := {
	"apiVersion": "batch/v1",
	"kind": "CronJob",
	"metadata": {"name": "mongodb-backup", "namespace": "data", "labels": object.union(labels("mongodb"), {"app.kubernetes.io/component": "backup"})},
	"spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [container]}}}}},
}

namespace := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "data", "labels": object.union(labels("data"), {
	"pod-security.kubernetes.io/enforce": "restricted",
	"pod-security.kubernetes.io/enforce-version": "v1.32",
	"pod-security.kubernetes.io/audit": "restricted",
	"pod-security.kubernetes.io/warn": "restricted",
})}}

service(name, type) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": name, "namespace": "x", "labels": labels(name)},
	"spec": {"type": type, "ports": [{"port": 80}]},
}

slice(addr) := {
	"apiVersion": "discovery.k8s.io/v1",
	"kind": "EndpointSlice",
	"metadata": {"name": "db-external", "namespace": "data", "labels": labels("db")},
	"addressType": "IPv4",
	"endpoints": [{"addresses": [addr]}],
}

objects := [deployment, db, pdb("api", "app"), pdb("db", "data"), hpa, deny_all, allow_consumers, backup, namespace]

rendered := lib.index(objects)

rules(violations) := {v.rule | some v in violations}
