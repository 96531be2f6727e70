// Generate's synthetic platforms are for measuring how render and
// verify grow: N kustomize-based services in each of three environments,
// each with the generated HPA, PDB, NetworkPolicies and SecretProviderClass
// a real service gets, plus the repo's policies and CRDs.

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Envs are the synthetic environments; staging and prod spread over zones.
var Envs = []string{"dev", "staging", "prod"}

// Generate writes a platform of n services into dir, copying policies/ and
// crds/ from the repo at repo (not its exceptions: they name the real
// platform's components).
func Generate(dir, repo string, n int) error {
	for _, sub := range []string{"policies", "crds"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join(repo, sub))); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(dir, "policies", "exceptions.yaml")); err != nil && !os.IsNotExist(err) {
		return err
	}
	for i := range n {
		name := Name(i)
		files := map[string]string{
			"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml, service.yaml]\n",
			"deployment.yaml":    strings.ReplaceAll(deployment, "NAME", name),
			"service.yaml":       strings.ReplaceAll(service, "NAME", name),
		}
		for f, body := range files {
			if err := write(filepath.Join(dir, "base", name, f), body); err != nil {
				return err
			}
		}
	}
	for e, env := range Envs {
		var b strings.Builder
		zones := `["1", "2", "3"]`
		if env == "dev" {
			zones = "[]"
		}
		// Every service reads a Key Vault secret: each has an identity of
		// its own (distinct GUIDs, derived from the environment and index).
		var ids strings.Builder
		for i := range n {
			fmt.Fprintf(&ids, "        %s: %08x-0000-4000-8000-%012x\n", Name(i), e, i)
		}
		fmt.Fprint(&b, strings.Replace(fmt.Sprintf(envHeader, env, 20+e, zones, 20+e, 20+e, 20+e, 20+e, env), "IDENTITIES\n", ids.String(), 1))
		for i := range n {
			talks := ""
			if i > 0 {
				talks = fmt.Sprintf("\n      talksTo: [%s]", Name(i-1))
			}
			fmt.Fprintf(&b, component, Name(i), talks, Name(i), fmt.Sprintf("%012x", 0x9f2c4e1a7b3d+i))
		}
		if err := write(filepath.Join(dir, "environments", env+".yaml"), b.String()); err != nil {
			return err
		}
	}
	return nil
}

// Name is the i-th synthetic service's name.
func Name(i int) string { return fmt.Sprintf("svc-%04d", i) }

func write(path, body string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o644)
}

const envHeader = `apiVersion: platform.libertum.io/v1alpha1
kind: Environment
metadata:
  name: %[1]s
spec:
  repoURL: https://github.com/libertum/platform-gitops.git
  tenantID: 7c1e4b2a-9f3d-4e8a-b6c5-2d1f0a9e8b7c
  registry: acrlibertum%[1]s.azurecr.io
  cluster:
    kubernetesVersion: v1.32.13
    apiVersions: [secrets-store.csi.x-k8s.io/v1]
    node:
      size: Standard_D2s_v5
      capacity: {cpu: "2", memory: 8Gi}
      allocatable: {cpu: 1900m, memory: 5632Mi}
    autoscaler: {minNodes: 3, maxNodes: 5000}
    zones: %[3]s
  regions:
    westeurope:
      vnet: 10.%[2]d.0.0/16
      publicSubnet: 10.%[4]d.0.0/22
      privateSubnet: 10.%[5]d.8.0/21
  stamps:
    - name: weu-1
      region: westeurope
      server: https://aks-%[1]s-weu-1.example.io:443
      domain: weu-1.%[1]s.example.io
      keyVault: kv-%[1]s-weu1
      capacity: {baselineRPS: 100, peakRPS: 300}
      identities:
IDENTITIES
  argocd:
    namespace: argocd
    targetRevision: rendered
    sync: {automated: true, prune: true, selfHeal: true}
  components:
`

const component = `    %s:
      namespace: apps
      tier: private%s
      images:
        - name: libertum/%s
          tag: %s
      resources:
        requests: {cpu: 50m, memory: 64Mi}
        limits: {memory: 128Mi}
      scaling: {podThroughputRPS: 50}
      secrets: [db-uri]
`

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
  labels: {app.kubernetes.io/name: NAME}
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: NAME}
  template:
    metadata:
      labels: {app.kubernetes.io/name: NAME}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: NAME
          image: libertum/NAME
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /readyz, port: http}}
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`

const service = `apiVersion: v1
kind: Service
metadata:
  name: NAME
  labels: {app.kubernetes.io/name: NAME}
spec:
  selector: {app.kubernetes.io/name: NAME}
  ports: [{name: http, port: 80, targetPort: http}]
`
