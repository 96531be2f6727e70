package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// stampObjects reads the committed prod objects the rule cases start from:
// components that honour every rule, public and private, in-cluster and external.
func stampObjects(t *testing.T) []*manifest.Object {
	t.Helper()
	var objs []*manifest.Object
	for _, comp := range []string{"api", "tokenization", "kafka", "mongodb", "ingress-nginx", "grafana", "prometheus", "loki", "alertmanager", "kube-state-metrics", "namespaces"} {
		files, err := filepath.Glob(filepath.Join(repoRoot, "rendered", "prod", "weu-1", comp, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no rendered files for %s: %v", comp, err)
		}
		for _, f := range files {
			objs = append(objs, renderedFile(t, f)...)
		}
	}
	return objs
}

// renderedFile decodes one file of the committed render.
func renderedFile(t *testing.T, path string) []*manifest.Object {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Decode(path, b)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func find(t *testing.T, objs []*manifest.Object, kind, name string) *manifest.Object {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("fixture has no %s %s", kind, name)
	return nil
}

func without(objs []*manifest.Object, kind, name string) []*manifest.Object {
	var out []*manifest.Object
	for _, o := range objs {
		if o.GetKind() != kind || o.GetName() != name {
			out = append(out, o)
		}
	}
	return out
}

// at walks to a nested map (list indexes as numbers in the path).
func at(t *testing.T, o *manifest.Object, path ...any) map[string]any {
	t.Helper()
	var cur any = o.Object
	for _, p := range path {
		switch k := p.(type) {
		case string:
			cur = cur.(map[string]any)[k]
		case int:
			cur = cur.([]any)[k]
		}
		if cur == nil {
			t.Fatalf("%s: nothing at %v", manifest.IDOf(o), path)
		}
	}
	return cur.(map[string]any)
}

func apiPod(t *testing.T, objs []*manifest.Object) map[string]any {
	return at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec")
}

func apiContainer(t *testing.T, objs []*manifest.Object) map[string]any {
	return at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec", "containers", 0)
}

func writeManifests(t *testing.T, objs []*manifest.Object) string {
	t.Helper()
	b, err := manifest.EncodeJSONStream(objs)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "manifests.yaml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func policyCheck(t *testing.T, objs []*manifest.Object) (int, string) {
	t.Helper()
	code, stdout, stderr := gitops(t, "policy", "check", "--root", repoRoot, "--env", "prod", "--format", "json", writeManifests(t, objs))
	if code == exitError {
		t.Fatalf("policy check failed to run: %s", stderr)
	}
	return code, stdout
}

func deniedRules(t *testing.T, out string) map[string]bool {
	t.Helper()
	var rep struct {
		Findings []struct{ Rule, Level string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json report: %v\n%s", err, out)
	}
	rules := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Level == "deny" {
			rules[f.Rule] = true
		}
	}
	return rules
}

func TestPolicyCheckHonouringManifestsPass(t *testing.T) {
	code, out := policyCheck(t, stampObjects(t))
	if code != exitOK {
		t.Fatalf("exit %d, want 0; denied: %v", code, deniedRules(t, out))
	}
}

// TestPolicyRules: for every rule, a manifest that breaks it exits 1 and
// names the rule.
func TestPolicyRules(t *testing.T) {
	tests := []struct {
		rule   string
		break_ func(t *testing.T, objs []*manifest.Object) []*manifest.Object
	}{
		{"resources.requests", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec", "containers", 0, "resources", "requests"), "cpu")
			return objs
		}},
		{"resources.memory-limit", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec", "containers", 0, "resources"), "limits")
			return objs
		}},
		{"resources.pod-fits-node", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec", "containers", 0, "resources", "requests")["memory"] = "7Gi"
			return objs
		}},
		{"resources.stamp-capacity", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "HorizontalPodAutoscaler", "api"), "spec")["maxReplicas"] = int64(500)
			return objs
		}},
		{"zones.replicas", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "HorizontalPodAutoscaler", "api"), "spec")["minReplicas"] = int64(2)
			return objs
		}},
		{"scaling.hpa-replicas", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "Deployment", "api"), "spec")["replicas"] = int64(4)
			return objs
		}},
		{"zones.pdb-eviction", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(at(t, find(t, objs, "PodDisruptionBudget", "api"), "spec"), "unhealthyPodEvictionPolicy")
			return objs
		}},
		{"podsecurity.capabilities", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec", "containers", 0, "securityContext")["capabilities"] = map[string]any{"drop": []any{"ALL"}, "add": []any{"NET_ADMIN"}}
			return objs
		}},
		{"podsecurity.seccomp", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			apiPod(t, objs)["securityContext"].(map[string]any)["seccompProfile"] = map[string]any{"type": "Unconfined"}
			return objs
		}},
		{"podsecurity.host-port", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			c := apiContainer(t, objs)
			c["ports"] = append(c["ports"].([]any), map[string]any{"name": "debug", "containerPort": int64(6060), "hostPort": int64(6060)})
			return objs
		}},
		{"podsecurity.automount-token", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(apiPod(t, objs), "automountServiceAccountToken")
			delete(find(t, objs, "ServiceAccount", "api").Object, "automountServiceAccountToken")
			return objs
		}},
		{"podsecurity.node-proxy", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			role := &manifest.Object{Object: map[string]any{
				"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
				"metadata": map[string]any{"name": "api-reader", "labels": map[string]any{"app.kubernetes.io/name": "api", "app.kubernetes.io/part-of": "libertum", "libertum.io/environment": "prod", "libertum.io/stamp": "weu-1"}},
				"rules":    []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"nodes/proxy"}, "verbs": []any{"get"}}},
			}}
			return append(objs, role)
		}},
		{"zones.spread", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(apiPod(t, objs), "topologySpreadConstraints")
			return objs
		}},
		// The libertum Namespace enforces restricted: the admission the
		// API server runs refuses a pod that asks for the host's network.
		{"podsecurity.admission", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			apiPod(t, objs)["hostNetwork"] = true
			return objs
		}},
		{"labels.pod-security", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			labels := find(t, objs, "Namespace", "libertum").Object["metadata"].(map[string]any)["labels"].(map[string]any)
			delete(labels, "pod-security.kubernetes.io/enforce")
			return objs
		}},
		{"network.admin-endpoint", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			c := apiContainer(t, objs)
			c["args"] = append(c["args"].([]any), "--web.enable-lifecycle")
			return objs
		}},
		{"entry.graceful-shutdown", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			c := at(t, find(t, objs, "Deployment", "ingress-nginx"), "spec", "template", "spec", "containers", 0)
			delete(c, "lifecycle")
			return objs
		}},
		// api's SecretProviderClass reads Grafana's admin password too.
		{"identity.secret-scope", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			params := at(t, find(t, objs, "SecretProviderClass", "api-keyvault"), "spec", "parameters")
			params["objects"] = params["objects"].(string) + "  - |\n    objectName: grafana-admin-password\n    objectType: secret\n"
			return objs
		}},
		// A quota sized for the api's minimum, not its HPA maximum.
		{"resources.quota-size", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "ResourceQuota", "libertum"), "spec", "hard")["requests.cpu"] = "500m"
			return objs
		}},
		{"resources.namespace-guards", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			return without(objs, "LimitRange", "libertum")
		}},
		// The backup's 10Gi work emptyDir, with its disk no longer reserved.
		{"resources.ephemeral-storage", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			c := at(t, find(t, objs, "CronJob", "mongodb-backup"), "spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "resources", "requests")
			delete(c, "ephemeral-storage")
			return objs
		}},
		// The edge's key back in an application's namespace: api's
		// SecretProviderClass reads the stamp's certificate and syncs it
		// into a TLS Secret api's Ingress names.
		{"identity.tls-key", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			spc := find(t, objs, "SecretProviderClass", "api-keyvault")
			params := at(t, spc, "spec", "parameters")
			params["objects"] = params["objects"].(string) + "  - |\n    objectName: stamp-tls\n    objectType: secret\n"
			at(t, spc, "spec")["secretObjects"] = []any{map[string]any{"secretName": "api-tls", "type": "kubernetes.io/tls",
				"data": []any{map[string]any{"objectName": "stamp-tls", "key": "tls.key"}, map[string]any{"objectName": "stamp-tls", "key": "tls.crt"}}}}
			at(t, find(t, objs, "Ingress", "api"), "spec", "tls", 0)["secretName"] = "api-tls"
			return objs
		}},
		// Grafana behind its Ingress with the local login form back on.
		{"entry.sign-in", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			c := at(t, find(t, objs, "Deployment", "grafana"), "spec", "template", "spec", "containers", 0)
			for _, e := range c["env"].([]any) {
				if e := e.(map[string]any); e["name"] == "GF_AUTH_DISABLE_LOGIN_FORM" {
					e["value"] = "false"
				}
			}
			return objs
		}},
		// A host served under the stamp's certificate, which does not cover it.
		{"entry.certificate-hosts", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			ing := find(t, objs, "Ingress", "api")
			spec := at(t, ing, "spec")
			spec["rules"] = append(spec["rules"].([]any), map[string]any{"host": "admin.libertum.io"})
			tls := at(t, ing, "spec", "tls", 0)
			tls["hosts"] = append(tls["hosts"].([]any), "admin.libertum.io")
			return objs
		}},
		{"zones.node-spread", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			pod := apiPod(t, objs)
			var kept []any
			for _, c := range pod["topologySpreadConstraints"].([]any) {
				if c.(map[string]any)["topologyKey"] != "kubernetes.io/hostname" {
					kept = append(kept, c)
				}
			}
			pod["topologySpreadConstraints"] = kept
			return objs
		}},
		{"zones.pdb", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			return without(objs, "PodDisruptionBudget", "api")
		}},
		{"zones.affinity", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			apiPod(t, objs)["nodeSelector"] = map[string]any{"topology.kubernetes.io/zone": "eastus-1"}
			return objs
		}},
		{"network.public-exposure", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			ing := find(t, objs, "Ingress", "api").DeepCopy()
			ing.SetName("tokenization")
			ing.SetLabels(map[string]string{"app.kubernetes.io/name": "tokenization", "app.kubernetes.io/part-of": "libertum", "libertum.io/environment": "prod", "libertum.io/stamp": "weu-1"})
			return append(objs, ing)
		}},
		{"network.internal-lb", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			svc := find(t, objs, "Service", "api").DeepCopy()
			svc.SetName("tokenization-lb")
			svc.SetLabels(map[string]string{"app.kubernetes.io/name": "tokenization", "app.kubernetes.io/part-of": "libertum", "libertum.io/environment": "prod", "libertum.io/stamp": "weu-1"})
			at(t, svc, "spec")["type"] = "LoadBalancer"
			return append(objs, svc)
		}},
		{"network.default-deny", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			return without(objs, "NetworkPolicy", "tokenization-default-deny")
		}},
		{"network.connectivity", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			// Admits every source, the internet included, where the spec
			// says only Prometheus scrapes.
			at(t, find(t, objs, "NetworkPolicy", "tokenization-ingress"), "spec")["ingress"] = []any{map[string]any{}}
			return objs
		}},
		{"network.external-endpoints", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "EndpointSlice", "kafka-external"), "endpoints", 0)["addresses"] = []any{"10.30.0.5"}
			return objs
		}},
		// weu-1 (westeurope) sends Kafka's traffic into northeurope.
		{"region.cross-region", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "EndpointSlice", "kafka-external"), "endpoints", 0)["addresses"] = []any{"10.31.8.20"}
			return objs
		}},
		// api keeps a volume in the stamp, which the spec does not justify.
		{"state.pvc", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			pvc := &manifest.Object{Object: map[string]any{
				"apiVersion": "v1", "kind": "PersistentVolumeClaim",
				"metadata": map[string]any{"name": "api-uploads", "namespace": "libertum", "labels": map[string]any{"app.kubernetes.io/name": "api", "app.kubernetes.io/part-of": "libertum", "libertum.io/environment": "prod", "libertum.io/stamp": "weu-1"}},
				"spec":     map[string]any{"accessModes": []any{"ReadWriteOnce"}, "resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}},
			}}
			return append(objs, pvc)
		}},
		// Prometheus writes its samples to neu-1's region, not weu-1's own.
		{"state.metrics-remote-write", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			cms := renderedFile(t, filepath.Join(repoRoot, "rendered", "prod", "weu-1", "prometheus", "ConfigMap_prometheus-config.yaml"))
			d := at(t, cms[0], "data")
			d["prometheus.yml"] = strings.ReplaceAll(d["prometheus.yml"].(string), "dce-lbt-prod-weu-q8r1.westeurope-1", "dce-lbt-prod-neu-w2t6.northeurope-1")
			return append(objs, cms[0])
		}},
		{"images.registry", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			apiContainer(t, objs)["image"] = "docker.io/libertum/api:9f2c4e1a7b3d"
			return objs
		}},
		{"images.latest", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			apiContainer(t, objs)["image"] = "acrlibertumprod.azurecr.io/libertum/api:latest"
			return objs
		}},
		{"images.pinned", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			apiContainer(t, objs)["image"] = "acrlibertumprod.azurecr.io/libertum/api:v2"
			return objs
		}},
		{"secrets.plaintext", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			s := &manifest.Object{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
				"metadata": map[string]any{"name": "api-db", "namespace": "libertum"}, "stringData": map[string]any{"password": "hunter2"}}}
			return append(objs, s)
		}},
		{"podsecurity.non-root", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec", "securityContext")["runAsNonRoot"] = false
			return objs
		}},
		{"podsecurity.privilege-escalation", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec", "containers", 0, "securityContext")["allowPrivilegeEscalation"] = true
			return objs
		}},
		{"podsecurity.privileged", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec", "containers", 0, "securityContext")["privileged"] = true
			return objs
		}},
		{"podsecurity.host-namespaces", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			apiPod(t, objs)["hostNetwork"] = true
			return objs
		}},
		{"podsecurity.host-path", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			pod := apiPod(t, objs)
			pod["volumes"] = append(pod["volumes"].([]any), map[string]any{"name": "node", "hostPath": map[string]any{"path": "/"}})
			return objs
		}},
		{"podsecurity.read-only-root", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "Deployment", "api"), "spec", "template", "spec", "containers", 0, "securityContext")["readOnlyRootFilesystem"] = false
			return objs
		}},
		{"probes.readiness", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(apiContainer(t, objs), "readinessProbe")
			return objs
		}},
		{"probes.liveness", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(apiContainer(t, objs), "livenessProbe")
			return objs
		}},
		{"labels.required", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			svc := find(t, objs, "Service", "api")
			l := svc.GetLabels()
			delete(l, "libertum.io/stamp")
			svc.SetLabels(l)
			return objs
		}},
		{"labels.environment", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			svc := find(t, objs, "Service", "api")
			l := svc.GetLabels()
			l["libertum.io/environment"] = "dev"
			svc.SetLabels(l)
			return objs
		}},
		{"identity.default-sa", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			apiPod(t, objs)["serviceAccountName"] = "default"
			return objs
		}},
		{"identity.client-id", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			find(t, objs, "ServiceAccount", "api").SetAnnotations(nil)
			return objs
		}},
		{"identity.use-label", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(at(t, find(t, objs, "CronJob", "mongodb-backup"), "spec", "jobTemplate", "spec", "template", "metadata", "labels"), "azure.workload.identity/use")
			return objs
		}},
		{"entry.open-lb", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			at(t, find(t, objs, "Service", "ingress-nginx"), "spec")["loadBalancerSourceRanges"] = []any{"0.0.0.0/0"}
			return objs
		}},
		{"entry.frontdoor-id", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(at(t, find(t, objs, "ConfigMap", "ingress-nginx-controller"), "data"), "server-snippet")
			delete(at(t, find(t, objs, "ConfigMap", "ingress-nginx-controller"), "data"), "http-snippet")
			return objs
		}},
		{"entry.forwarded-headers", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			delete(at(t, find(t, objs, "ConfigMap", "ingress-nginx-controller"), "data"), "proxy-real-ip-cidr")
			return objs
		}},
		{"backup.mongodb", func(t *testing.T, objs []*manifest.Object) []*manifest.Object {
			return without(objs, "CronJob", "mongodb-backup")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			code, out := policyCheck(t, tc.break_(t, stampObjects(t)))
			if code != exitFindings {
				t.Errorf("exit %d, want 1", code)
			}
			if rules := deniedRules(t, out); !rules[tc.rule] {
				t.Errorf("rule %s not reported; denied: %v", tc.rule, rules)
			}
		})
	}
}

func TestPolicyWarnDoesNotFail(t *testing.T) {
	objs := stampObjects(t)
	spec := at(t, find(t, objs, "HorizontalPodAutoscaler", "api"), "spec")
	spec["maxReplicas"] = spec["minReplicas"]
	code, out := policyCheck(t, objs)
	if code != exitOK || !strings.Contains(out, "scaling.fixed-hpa") {
		t.Errorf("exit %d, want 0 with a scaling.fixed-hpa warning:\n%s", code, out)
	}
}

// TestLiteralCredentialIsOneVerdict: a literal credential is denied by
// policy check as render refuses it (one classifier, in the check step).
func TestLiteralCredentialIsOneVerdict(t *testing.T) {
	objs := stampObjects(t)
	c := apiContainer(t, objs)
	c["env"] = append(c["env"].([]any), map[string]any{"name": "DB_PASSWORD", "value": "hunter2"})
	code, out := policyCheck(t, objs)
	if code != exitFindings || !deniedRules(t, out)["secrets.plaintext"] {
		t.Errorf("exit %d, want 1 with secrets.plaintext denied:\n%s", code, out)
	}
}

func TestPolicyTestCommand(t *testing.T) {
	code, stdout, stderr := gitops(t, "policy", "test", "--root", repoRoot)
	if code != exitOK || !strings.Contains(stdout, "PASS: ") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
	broken := platformCopy(t)
	if err := os.MkdirAll(filepath.Join(broken, "policies"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "policies", "x_test.rego"), []byte("package x_test\n\ntest_fails if 1 == 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = gitops(t, "policy", "test", "--root", broken)
	if code != exitFindings || !strings.Contains(stdout, "FAIL") {
		t.Errorf("a failing Rego test: exit %d, want 1:\n%s", code, stdout)
	}
}

// TestGenerateNameObjectsAreJudged: objects named only by generateName
// are held to every rule, as named ones are (the rules that print the name
// skipped them).
func TestGenerateNameObjectsAreJudged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "generated.yaml")
	manifests := `apiVersion: v1
kind: Secret
metadata:
  generateName: db-
  namespace: libertum
  labels: {app.kubernetes.io/name: api, app.kubernetes.io/part-of: libertum, libertum.io/environment: prod, libertum.io/stamp: weu-1}
stringData:
  password: hunter2
---
apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  namespace: libertum
  labels: {app.kubernetes.io/name: api, libertum.io/environment: prod, libertum.io/stamp: weu-1}
spec:
  template:
    metadata:
      labels: {app.kubernetes.io/name: api}
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: acrlibertumprod.azurecr.io/libertum/api:9f2c4e1a7b3d
          securityContext: {privileged: true}
`
	if err := os.WriteFile(path, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := gitops(t, "policy", "check", "--root", repoRoot, "--env", "prod", "--format", "json", path)
	if code != exitFindings {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	rules := deniedRules(t, stdout)
	for _, want := range []string{"secrets.plaintext", "podsecurity.privileged", "labels.required"} {
		if !rules[want] {
			t.Errorf("%s not denied for a generateName object; denied: %v", want, rules)
		}
	}
}
