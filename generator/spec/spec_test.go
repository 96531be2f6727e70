package spec

import (
	"fmt"
	"strings"
	"testing"
)

// valid is a minimal environment every validation case breaks one field of.
const valid = `apiVersion: platform.libertum.io/v1alpha1
kind: Environment
metadata:
  name: test
spec:
  repoURL: https://example.com/repo.git
  tenantID: 7c1e4b2a-9f3d-4e8a-b6c5-2d1f0a9e8b7c
  registry: acrtest.azurecr.io
  cluster:
    kubernetesVersion: v1.32.13
    node:
      size: Standard_D2s_v5
      capacity: {cpu: "2", memory: 8Gi}
      allocatable: {cpu: 1900m, memory: 5632Mi}
    autoscaler: {minNodes: 1, maxNodes: 3}
    zones: ["1", "2", "3"]
  regions:
    westeurope:
      vnet: 10.0.0.0/16
      publicSubnet: 10.0.0.0/22
      privateSubnet: 10.0.8.0/21
      externalHosts:
        - {name: vm, address: 10.0.8.10}
  stamps:
    - name: one
      region: westeurope
      server: https://one.example.com
      domain: one.example.com
      keyVault: kv-one
      identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}
      capacity: {baselineRPS: 100, peakRPS: 400}
  components:
    api:
      namespace: app
      tier: public
      talksTo: [db]
      images:
        - name: libertum/api
          tag: 9f2c4e1a7b3d
      resources:
        requests: {cpu: 100m, memory: 128Mi}
        limits: {memory: 256Mi}
      scaling: {podThroughputRPS: 20}
      ingress: {host: api}
      secrets: [api-db-password]
    db:
      namespace: data
      tier: private
      external:
        host: vm
        ports:
          - {name: db, port: 5432}
  argocd:
    namespace: argocd
    targetRevision: rendered
    sync: {automated: true, prune: true, selfHeal: true}
`

func TestParseValid(t *testing.T) {
	env, err := Parse("environments/test.yaml", []byte(valid))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := env.ComponentNames(); strings.Join(got, ",") != "api,db" {
		t.Errorf("ComponentNames = %v", got)
	}
	if got := env.Consumers("db"); len(got) != 1 || got[0] != "api" {
		t.Errorf("Consumers(db) = %v, want [api]", got)
	}
	if got := env.Where("spec", "components", "api", "images", "0", "tag"); got != "environments/test.yaml:39" {
		t.Errorf("Where(image tag) = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		old     string
		new     string
		wantMsg []string // each must appear in the error
	}{
		{"malformed yaml", "  registry: acrtest.azurecr.io\n", "  registry: [acrtest\n", []string{"environments/test.yaml:"}},
		{"unknown field", "  registry: acrtest.azurecr.io\n", "  registry: acrtest.azurecr.io\n  registyr: typo\n", []string{"environments/test.yaml:9:", "registyr"}},
		{"wrong type", "autoscaler: {minNodes: 1, maxNodes: 3}", "autoscaler: {minNodes: one, maxNodes: 3}", []string{"environments/test.yaml:15:", "cannot unmarshal"}},
		{"api version", "platform.libertum.io/v1alpha1", "platform.libertum.io/v9", []string{":1:", "apiVersion"}},
		{"kind", "kind: Environment", "kind: Cluster", []string{":2:", "kind"}},
		{"repo url", "  repoURL: https://example.com/repo.git\n", "", []string{"repoURL is required"}},
		{"tenant", "tenantID: 7c1e4b2a-9f3d-4e8a-b6c5-2d1f0a9e8b7c", "tenantID: nope", []string{":7:", "tenantID"}},
		{"registry", "registry: acrtest.azurecr.io", "registry: ACR", []string{":8:", "registry"}},
		{"kube version", "v1.32.13", "1.32", []string{":10:", "kubernetesVersion"}},
		{"node size", "size: Standard_D2s_v5", "size: \"\"", []string{":12:", "node.size"}},
		{"bad quantity", "capacity: {cpu: \"2\", memory: 8Gi}", "capacity: {cpu: two, memory: 8Gi}", []string{":13:", "quantity \"two\""}},
		{"allocatable above capacity", "allocatable: {cpu: 1900m", "allocatable: {cpu: 2500m", []string{":14:", "exceeds node capacity"}},
		{"autoscaler bounds", "{minNodes: 1, maxNodes: 3}", "{minNodes: 4, maxNodes: 3}", []string{":15:", "autoscaler"}},
		{"unknown zone", `zones: ["1", "2", "3"]`, `zones: ["1", "2", "4"]`, []string{":16:", `zone "4"`}},
		{"duplicate zone", `zones: ["1", "2", "3"]`, `zones: ["1", "1"]`, []string{"listed twice"}},
		{"bad cidr", "vnet: 10.0.0.0/16", "vnet: 10.0.0.0/33", []string{":19:", "CIDR"}},
		{"subnet outside vnet", "publicSubnet: 10.0.0.0/22", "publicSubnet: 10.9.0.0/22", []string{":20:", "outside the VNet"}},
		{"overlapping subnets", "privateSubnet: 10.0.8.0/21", "privateSubnet: 10.0.0.0/21", []string{":21:", "overlaps"}},
		{"external host outside private subnet", "address: 10.0.8.10", "address: 10.0.0.10", []string{":23:", "outside region westeurope's private subnet"}},
		{"metrics write URL that is no Azure Monitor ingestion endpoint", "      externalHosts:\n", "      metricsWrite: https://metrics.example.com/api/v1/write\n      externalHosts:\n", []string{":22:", "metricsWrite", ".metrics.ingest.monitor.azure.com"}},
		{"stamp in an undeclared region", "region: westeurope", "region: northeurope", []string{":26:", `region "northeurope" is not declared in spec.regions`}},
		{"regions whose VNets overlap", "  stamps:\n", "    northeurope: {vnet: 10.0.0.0/16, publicSubnet: 10.0.0.0/22, privateSubnet: 10.0.8.0/21}\n  stamps:\n", []string{":19:", "overlaps region northeurope"}},
		{"a host declared in two regions", "  stamps:\n", "    northeurope: {vnet: 10.1.0.0/16, publicSubnet: 10.1.0.0/22, privateSubnet: 10.1.8.0/21, externalHosts: [{name: vm, address: 10.1.8.10}]}\n  stamps:\n", []string{":23:", `external host name "vm" is empty or declared twice`}},
		{"no stamps", "  stamps:\n    - name: one\n", "  stamps: []\n  old:\n    - name: one\n", []string{"field old not found"}},
		{"stamp name", "- name: one", "- name: One_", []string{":25:", "stamp name"}},
		{"stamp region", "region: westeurope", "region: \"\"", []string{":26:", "region is required"}},
		{"stamp domain", "domain: one.example.com", "domain: -bad-", []string{":28:", "domain"}},
		{"capacity", "{baselineRPS: 100, peakRPS: 400}", "{baselineRPS: 500, peakRPS: 400}", []string{":31:", "capacity"}},
		{"identity missing", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}", "identities: {}", []string{":30:", "identities.api is required"}},
		{"identity not a guid", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}", "identities: {api: me}", []string{":30:", "identities.api \"me\": want a GUID"}},
		{"identity of a component that needs none", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e, db: 2d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}", []string{":30:", "db reads no Key Vault object"}},
		{"dashboards database without its endpoint", "        - {name: vm, address: 10.0.8.10}\n", "        - {name: vm, address: 10.0.8.10}\n      dashboardsDatabase: psql-test\n", []string{":24:", "declare azureEndpoints postgres"}},
		{"sign-in without its client secret", "      ingress: {host: api}\n", "      ingress: {host: api}\n      signIn: {clientID: d6272a4d-5bc2-53d5-9742-9f2f8c743e66, groups: [a34feb17-57a2-5795-b811-8d750a549559]}\n", []string{":45:", "list api-entra-client-secret in its secrets"}},
		{"sign-in for the whole tenant", "      ingress: {host: api}\n      secrets: [api-db-password]\n", "      ingress: {host: api}\n      secrets: [api-db-password, api-entra-client-secret]\n      signIn: {clientID: d6272a4d-5bc2-53d5-9742-9f2f8c743e66, groups: []}\n", []string{"signIn.groups: name the Entra ID groups"}},
		{"sign-in client ID", "      ingress: {host: api}\n      secrets: [api-db-password]\n", "      ingress: {host: api}\n      secrets: [api-db-password, api-entra-client-secret]\n      signIn: {clientID: grafana, groups: [a34feb17-57a2-5795-b811-8d750a549559]}\n", []string{"signIn.clientID \"grafana\""}},
		{"signature key", "    targetRevision: rendered\n", "    targetRevision: rendered\n    signatureKeys: [4048e95f7dc1aabe]\n", []string{"argocd.signatureKeys: \"4048e95f7dc1aabe\": want a GnuPG long key ID"}},
		{"certificate host", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}\n      certificate: {name: stamp-tls, hosts: [api.one.example.com, \"not a host\"]}", []string{":31:", "certificate.hosts: \"not a host\" is not a DNS name"}},
		{"certificate without a terminating component", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}\n      certificate: {name: stamp-tls, hosts: [api.one.example.com]}", []string{":31:", "exactly one component must terminate TLS with it"}},
		{"identity of no component", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}", "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e, cache: 1d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}", []string{":30:", "identities.cache: no such component"}},
		{"component tier", "tier: public", "tier: dmz", []string{":35:", `tier "dmz"`}},
		{"talks to unknown", "talksTo: [db]", "talksTo: [cache]", []string{":36:", `"cache"`}},
		{"image tag", "tag: 9f2c4e1a7b3d", "tag: \"bad tag\"", []string{":39:", "malformed tag"}},
		{"resources", "requests: {cpu: 100m, memory: 128Mi}", "requests: {memory: 128Mi}", []string{"cpu is required"}},
		{"scaling", "scaling: {podThroughputRPS: 20}", "scaling: {podThroughputRPS: 0}", []string{":43:", "podThroughputRPS"}},
		{"int32 wraps", "scaling: {podThroughputRPS: 20}", "scaling: {podThroughputRPS: 4294967299}", []string{":43:", "4294967299 is out of range"}},
		{"int32 overflows", "{baselineRPS: 100, peakRPS: 400}", "{baselineRPS: 100, peakRPS: 2147483648}", []string{":31:", "peakRPS: 2147483648 is out of range"}},
		{"ingress on private", "      tier: private\n      external", "      tier: private\n      ingress: {host: db}\n      external", []string{"only public-tier"}},
		{"external host unknown", "        host: vm\n", "        host: nowhere\n", []string{":50:", `"nowhere"`}},
		{"external port", "{name: db, port: 5432}", "{name: db, port: 0}", []string{":52:", "port"}},
		{"namespace", "namespace: app", "namespace: App_", []string{":34:", "namespace"}},
		{"reserved name", "    api:\n      namespace", "    namespaces:\n      namespace", []string{"reserved"}},
		{"two documents", "", "---\nkind: Extra\n", []string{"more than one YAML document"}},
		{"argocd namespace", "    namespace: argocd\n", "    namespace: Argo CD\n", []string{":54:", "argocd.namespace"}},
		{"argocd revision", "    targetRevision: rendered\n", "", []string{"targetRevision"}},
		{"azure service undeclared", "      talksTo: [db]\n", "      talksTo: [db]\n      azure: [blob]\n", []string{":37:", `Azure service "blob"`}},
		{"azure endpoint without cidr or nat", "      privateSubnet: 10.0.8.0/21\n", "      privateSubnet: 10.0.8.0/21\n      azureEndpoints: [{service: blob}]\n", []string{":22:", "nat: true"}},
		{"azure endpoint both", "      privateSubnet: 10.0.8.0/21\n", "      privateSubnet: 10.0.8.0/21\n      azureEndpoints: [{service: blob, cidr: 10.0.6.0/28, nat: true}]\n", []string{":22:", "give one of"}},
		{"azure endpoint public range is private", "      privateSubnet: 10.0.8.0/21\n", "      privateSubnet: 10.0.8.0/21\n      azureEndpoints: [{service: entra-id, public: [10.9.0.0/16]}]\n", []string{":22:", "private address range"}},
		{"azure endpoint outside vnet", "      privateSubnet: 10.0.8.0/21\n", "      privateSubnet: 10.0.8.0/21\n      azureEndpoints: [{service: blob, cidr: 10.9.6.0/28}]\n", []string{"outside the VNet"}},
		{"pod cidr overlaps vnet", "      privateSubnet: 10.0.8.0/21\n", "      privateSubnet: 10.0.8.0/21\n      podCIDR: 10.0.128.0/17\n", []string{":22:", "overlaps the VNet"}},
		{"job talks to unknown", "      tier: private\n      external", "      tier: private\n      jobs: {db-backup: {talksTo: [cache]}}\n      external", []string{`job db-backup of db talks to "cache"`}},
		{"rollout unknown stamp", "  argocd:\n", "  rollout: {waves: [[one], [two]], soak: 4h}\n  argocd:\n", []string{`"two" is not a stamp`}},
		{"rollout soak", "  argocd:\n", "  rollout: {waves: [[one]], soak: soon}\n  argocd:\n", []string{`rollout.soak "soon"`}},
		{"rollout stamp twice", "  argocd:\n", "  rollout: {waves: [[one], [one]], soak: 1h}\n  argocd:\n", []string{"earlier wave"}},
		{"alerting unknown alertmanager", "  argocd:\n", "  alerting: {alertmanager: am, receivers: {critical: x}, restartsPer15m: 3, volumeUsage: 0.8, backupMaxAge: 26h, runbookURL: https://x}\n  argocd:\n", []string{`alerting.alertmanager "am"`}},
		{"alerting receiver not mounted", "  argocd:\n", "  alerting: {alertmanager: api, receivers: {critical: pager-url}, restartsPer15m: 3, volumeUsage: 0.8, backupMaxAge: 26h, runbookURL: https://x}\n  argocd:\n", []string{`"pager-url" is not among api's secrets`}},
		{"alerting thresholds", "  argocd:\n", "  alerting: {alertmanager: api, receivers: {}, restartsPer15m: 0, volumeUsage: 1.5, backupMaxAge: soon, runbookURL: http://x}\n  argocd:\n", []string{"restartsPer15m must be positive", "volumeUsage 1.5", `backupMaxAge "soon"`, "want an https URL", "route at least"}},
		{"prune without automated", "{automated: true, prune: true, selfHeal: true}", "{automated: false, prune: true}", []string{":56:", "only to automated"}},
		{"reserved stamp", "- name: one", "- name: bootstrap", []string{":25:", "reserved"}},
		{"reserved stamp frontdoor", "- name: one", "- name: frontdoor", []string{":25:", "reserved"}},
		{"front door without origin", "  stamps:\n", frontDoor + "  stamps:\n", []string{":31:", "origin (its weight) is required"}},
		{"front door id", "  stamps:\n", strings.Replace(frontDoor, "id: b3d9", "id: x3d9", 1) + "  stamps:\n", []string{":25:", "frontDoor.id"}},
		{"front door health without ingress", "  stamps:\n", strings.Replace(frontDoor, "health: api", "health: db", 1) + "  stamps:\n", []string{":27:", `frontDoor.health "db"`}},
		{"front door trusts anyone", "  stamps:\n", strings.Replace(frontDoor, "[147.243.0.0/16]", "[147.243.0.0/16, 0.0.0.0/0]", 1) + "  stamps:\n", []string{":29:", "from anyone"}},
		{"origin without front door", "      capacity: {baselineRPS: 100, peakRPS: 400}\n", "      capacity: {baselineRPS: 100, peakRPS: 400}\n      origin: {weight: 50}\n", []string{":32:", "only to an environment with spec.frontDoor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := valid
			if tc.old == "" {
				in += tc.new
			} else {
				if !strings.Contains(in, tc.old) {
					t.Fatalf("fixture does not contain %q", tc.old)
				}
				in = strings.Replace(in, tc.old, tc.new, 1)
			}
			_, err := Parse("environments/test.yaml", []byte(in))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, want := range tc.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestWorkloadIdentityNeedsEntraID: a component that calls Azure with its
// workload identity exchanges the pod's token at Entra ID first, so the
// spec must say where Entra ID is.
func TestWorkloadIdentityNeedsEntraID(t *testing.T) {
	in := strings.NewReplacer(
		"      privateSubnet: 10.0.8.0/21\n", "      privateSubnet: 10.0.8.0/21\n      azureEndpoints: [{service: blob, nat: true}]\n",
		"      talksTo: [db]\n", "      talksTo: [db]\n      azure: [blob]\n",
	).Replace(valid)
	_, err := Parse("environments/test.yaml", []byte(in))
	if err == nil || !strings.Contains(err.Error(), "Entra ID") || !strings.Contains(err.Error(), "environments/test.yaml:") {
		t.Fatalf("err = %v, want a file:line error asking for the entra-id endpoint", err)
	}
	in = strings.Replace(in, "[{service: blob, nat: true}]", "[{service: blob, nat: true}, {service: entra-id, public: [20.190.128.0/18]}]", 1)
	if _, err := Parse("environments/test.yaml", []byte(in)); err != nil {
		t.Fatalf("with entra-id declared: %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	in := strings.NewReplacer("registry: acrtest.azurecr.io", "registry: ACR", "tier: private", "tier: dmz", "v1.32.13", "1.32").Replace(valid)
	_, err := Parse("environments/test.yaml", []byte(in))
	if err == nil {
		t.Fatal("want errors")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", len(lines), err)
	}
	for i, want := range []string{":8:", ":10:", ":48:"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("problem %d = %q, want it at %s (sorted by line)", i, lines[i], want)
		}
	}
}

// frontDoor is a valid spec.frontDoor for the fixture (inserted before its stamps).
const frontDoor = `  frontDoor:
    id: b3d9f1a7-4c2e-4e8b-9a6d-1f5c7e3b2a90
    domain: example.com
    health: api
    probePath: /health/stamp
    backendCIDRs: [147.243.0.0/16]
`

func TestFrontDoor(t *testing.T) {
	withOrigin := strings.Replace(strings.Replace(valid, "  stamps:\n", frontDoor+"  stamps:\n", 1),
		"      capacity: {baselineRPS: 100, peakRPS: 400}\n", "      capacity: {baselineRPS: 100, peakRPS: 400}\n      origin: {weight: 50}\n", 1)
	e, err := Parse("environments/test.yaml", []byte(withOrigin))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if f := e.Spec.FrontDoor; f == nil || f.Domain != "example.com" || e.Spec.Stamps[0].Origin.Weight != 50 {
		t.Errorf("front door not decoded: %+v, origin %+v", f, e.Spec.Stamps[0].Origin)
	}
	for _, bad := range []struct{ old, new, want string }{
		{"probePath: /health/stamp", "probePath: health", `:28: frontDoor.probePath "health"`},
		{"probePath: /health/stamp", "probePath: /health/$stamp", `:28: frontDoor.probePath "/health/$stamp"`},
		{"weight: 50", "weight: 0", ":38: stamp one: origin.weight 0"},
	} {
		_, err := Parse("environments/test.yaml", []byte(strings.Replace(withOrigin, bad.old, bad.new, 1)))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v, want %q", bad.new, err, bad.want)
		}
	}
}

func TestProductionNeedsFrontDoor(t *testing.T) {
	in := strings.Replace(valid, "spec:\n", "spec:\n  production: true\n", 1)
	_, err := Parse("environments/test.yaml", []byte(in))
	if err == nil || !strings.Contains(err.Error(), "spec.frontDoor (id, domain, health, backendCIDRs) is required") {
		t.Fatalf("err = %v, want the Front Door rule", err)
	}
}

func TestProductionNeedsTwoRegions(t *testing.T) {
	in := strings.Replace(valid, "spec:\n", "spec:\n  production: true\n", 1)
	_, err := Parse("environments/test.yaml", []byte(in))
	if err == nil || !strings.Contains(err.Error(), "two stamps in two regions") {
		t.Fatalf("err = %v, want the two-regions rule", err)
	}
}

func TestParseNamed(t *testing.T) {
	if _, err := ParseNamed("environments/test.yaml", "test", []byte(valid)); err != nil {
		t.Fatalf("ParseNamed(test): %v", err)
	}
	if _, err := ParseNamed("environments/other.yaml", "other", []byte(valid)); err == nil || !strings.Contains(err.Error(), "environments/other.yaml:4: metadata.name") {
		t.Errorf("ParseNamed(other) = %v, want a name mismatch at line 4", err)
	}
	for _, bad := range []string{"../test", "a/b", "Prod", ""} {
		if _, err := ParseNamed("environments/x.yaml", bad, []byte(valid)); err == nil || !strings.Contains(err.Error(), "path separators") {
			t.Errorf("ParseNamed(%q) = %v, want a name error", bad, err)
		}
	}
}

// TestParseIsStrictAndLocated: the one decode both refuses unknown fields
// and keeps every node's line.
func TestParseIsStrictAndLocated(t *testing.T) {
	in := strings.Replace(valid, "spec:\n", "spec:\n  colour: blue\n", 1)
	if _, err := Parse("environments/test.yaml", []byte(in)); err == nil || !strings.Contains(err.Error(), "environments/test.yaml:6: field colour not found") {
		t.Errorf("unknown field: err = %v, want it at line 6", err)
	}
	e, err := Parse("environments/test.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Line("metadata", "name"); got != 4 {
		t.Errorf("Line(metadata.name) = %d, want 4", got)
	}
	for _, empty := range []string{"", "# nothing\n"} {
		if _, err := Parse("environments/test.yaml", []byte(empty)); err == nil || !strings.Contains(err.Error(), "empty environment file") {
			t.Errorf("Parse(%q) = %v, want an empty-file error", empty, err)
		}
	}
}

func TestHPABounds(t *testing.T) {
	tests := []struct {
		throughput, baseline, peak, zones int
		lo, hi                            int32
	}{
		// Seed 001: 100 req/s take 5 ingress pods (20 req/s each) and 3 catalog pods (~33 req/s).
		{20, 100, 100, 0, 5, 5},
		{34, 100, 100, 0, 3, 3},
		{20, 100, 400, 3, 5, 20},
		{100, 10, 40, 3, 3, 3}, // never fewer than one pod per zone
		{100, 10, 40, 0, 1, 1},
	}
	for _, tc := range tests {
		s := Scaling{PodThroughputRPS: tc.throughput}
		lo, hi := s.HPABounds(Stamp{Capacity: Capacity{BaselineRPS: tc.baseline, PeakRPS: tc.peak}}, tc.zones)
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("HPABounds(%+v) = %d, %d; want %d, %d", tc, lo, hi, tc.lo, tc.hi)
		}
	}
}

// TestErrorsNameTheLine: mistakes that were accepted or reported at the
// wrong line.
func TestErrorsNameTheLine(t *testing.T) {
	lineOf := func(in, needle string) int {
		for i, l := range strings.Split(in, "\n") {
			if strings.Contains(l, needle) {
				return i + 1
			}
		}
		t.Fatalf("no %q", needle)
		return 0
	}
	tabbed := strings.Replace(valid, "  stamps:", "\tstamps:", 1)
	dupTalks := strings.Replace(valid, "talksTo: [db]", "talksTo: [db, db]", 1)
	escaping := strings.Replace(valid, "      namespace: app\n      tier: public", "      base: ../secrets\n      namespace: app\n      tier: public", 1)
	tests := []struct {
		name, in, want string
	}{
		{"tab breaking indentation", tabbed, fmt.Sprintf("environments/t.yaml:%d: found a tab character", lineOf(tabbed, "\tstamps:"))},
		{"talksTo listing a peer twice", dupTalks, `lists "db" in talksTo twice`},
		{"base outside base/", escaping, fmt.Sprintf(`environments/t.yaml:%d: component api: base "../secrets" must name a folder directly under base/`, lineOf(escaping, "base: ../secrets"))},
	}
	for _, tc := range tests {
		if _, err := Parse("environments/t.yaml", []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestHPAMaximaCoverFailover: behind Front Door a stamp's autoscalers are
// sized for its share of the environment's traffic with the stamp whose
// loss loads it most out (N-1); a stamp alone, or without Front Door, for
// its own peak.
func TestHPAMaximaCoverFailover(t *testing.T) {
	stamp := func(name string, peak, weight int) Stamp {
		st := Stamp{Name: name, Capacity: Capacity{BaselineRPS: 100, PeakRPS: peak}}
		if weight > 0 {
			st.Origin = &Origin{Weight: weight}
		}
		return st
	}
	env := func(frontDoor bool, stamps ...Stamp) *Environment {
		e := &Environment{}
		e.Spec.Stamps = stamps
		e.Spec.Cluster.Zones = []string{"1", "2", "3"}
		if frontDoor {
			e.Spec.FrontDoor = &FrontDoor{}
		}
		return e
	}
	s := Scaling{PodThroughputRPS: 20}
	for _, tc := range []struct {
		name string
		env  *Environment
		rps  int
		from string
		max  int32
	}{
		{"50/50, equal peaks", env(true, stamp("a", 400, 50), stamp("b", 400, 50)), 800, "b", 40},
		{"50/50, a heavier peak", env(true, stamp("a", 400, 50), stamp("b", 800, 50)), 1200, "b", 60},
		{"weights 1/1/2, the heavy one lost", env(true, stamp("a", 400, 1), stamp("b", 400, 1), stamp("c", 800, 2)), 800, "c", 40},
		{"alone behind Front Door", env(true, stamp("a", 400, 50)), 400, "", 20},
		{"no Front Door", env(false, stamp("a", 400, 0), stamp("b", 400, 0)), 400, "", 20},
	} {
		e := tc.env
		rps, from := e.FailoverRPS(e.Spec.Stamps[0])
		lo, hi := e.HPABounds(s, e.Spec.Stamps[0])
		if rps != tc.rps || from != tc.from || hi != tc.max || lo != 5 {
			t.Errorf("%s: failover %d rps from %q, HPA %d-%d; want %d from %q, 5-%d", tc.name, rps, from, lo, hi, tc.rps, tc.from, tc.max)
		}
	}
}

// TestIdentitiesAreNotShared: two components that read Key Vault may not
// act as one identity, and the error names both.
func TestIdentitiesAreNotShared(t *testing.T) {
	in := strings.Replace(valid, "identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}",
		"identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e, db: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}", 1)
	in = strings.Replace(in, "    db:\n      namespace: data\n", "    db:\n      namespace: data\n      secrets: [db-password]\n", 1)
	_, err := Parse("environments/test.yaml", []byte(in))
	if err == nil || !strings.Contains(err.Error(), "identities.db is api's identity too") {
		t.Fatalf("Parse = %v, want the shared identity refused", err)
	}
}
