package needs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// plant edits one file of a copy of the repo: old must be there.
type plant struct {
	file, old, new string
}

// overlay adds a kustomize Component patching one staging component.
func overlay(component, patch string) []plant {
	return []plant{
		{file: "overlays/staging/" + component + "/kustomization.yaml", new: "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: patch.yaml\n"},
		{file: "overlays/staging/" + component + "/patch.yaml", new: patch},
	}
}

// TestOutagesFailVerify plants each outage the reviews found in a copy of
// the repo, the way a pull request could bring it back, and requires
// verify to fail with the finding that names the pods, the port or file,
// and the rendered file to look at.
func TestOutagesFailVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("renders the staging environment once per outage")
	}
	for _, tc := range []struct {
		name   string
		plants []plant
		rule   string
		want   []string // in one finding's message or file
	}{
		{
			name: "loki replicas without gRPC between them",
			plants: overlay("loki", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: loki-ingress
spec:
  ingress:
    - from:
        - podSelector: {matchLabels: {app.kubernetes.io/name: loki}}
      ports: [{port: 7946, protocol: TCP}]
`),
			rule: "programs.connect",
			want: []string{"StatefulSet monitoring/loki", "other replicas", "9095/TCP", "grpc_listen_port", "NetworkPolicy_loki-ingress.yaml"},
		},
		{
			name: "loki without a way to Entra ID",
			plants: overlay("loki", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: loki-egress
spec:
  egress:
    - to: [{ipBlock: {cidr: 10.20.6.0/28}}]
      ports: [{port: 443, protocol: TCP}]
`),
			rule: "programs.connect",
			want: []string{"StatefulSet monitoring/loki", "entra-id login.microsoftonline.com", "443/TCP", "NetworkPolicy_loki-egress.yaml"},
		},
		{
			name:   "mongod's keyfile straight from the CSI volume",
			plants: []plant{{file: "base/mongodb/templates/statefulset.yaml", old: "- --keyFile=/etc/mongodb-keyfile/keyfile", new: "- --keyFile=/mnt/secrets-store/mongodb-keyfile"}},
			rule:   "programs.files",
			want:   []string{"StatefulSet data/mongodb", "/mnt/secrets-store/mongodb-keyfile", "0644", "SecretProviderClass mongodb-keyvault"},
		},
		{
			name: "alertmanager gossip without UDP",
			plants: overlay("alertmanager", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: alertmanager-ingress
spec:
  ingress:
    - from:
        - podSelector: {matchLabels: {app.kubernetes.io/name: alertmanager}}
      ports: [{port: 9094, protocol: TCP}]
    - from:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
          podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}
      ports: [{port: 9093, protocol: TCP}]
`),
			rule: "programs.connect",
			want: []string{"StatefulSet monitoring/alertmanager", "9094/UDP", "NetworkPolicy_alertmanager-ingress.yaml"},
		},
		{
			name:   "front door refusal removed",
			plants: []plant{{file: "base/ingress-nginx/templates/configmap.yaml", old: "      return 403;\n", new: ""}},
			rule:   "entry.frontdoor-id",
			want:   []string{"ingress controller", "without X-Azure-FDID", "Deployment_ingress-nginx.yaml"},
		},
		{
			name: "front door check that is only a comment",
			plants: []plant{{file: "base/ingress-nginx/templates/configmap.yaml",
				old: "    if ($libertum_front_door = 0) {\n      return 403;\n    }\n",
				new: "    # refuse unless $http_x_azure_fdid is {{ .id }}: return 403;\n"}},
			rule: "entry.frontdoor-id",
			want: []string{"ingress controller", "another profile's X-Azure-FDID"},
		},
		// The outage the issue names: a probe answered 403 takes every
		// stamp out of rotation.
		{
			name:   "front door's health probe refused for want of X-Azure-FDID",
			plants: []plant{{file: "base/ingress-nginx/templates/configmap.yaml", old: "      \"0:{{ . }}{{ $.Values.frontDoor.probePath }}\" 1;\n", new: ""}},
			rule:   "entry.frontdoor-id",
			want:   []string{"Front Door's health probe (no X-Azure-FDID) to health.weu-1.staging.libertum.io/health/stamp", "with 403", "out of rotation"},
		},
		// The real nginx refused the first probe exemption this way.
		{
			name:   "the probe exemption's key without a bucket that holds it",
			plants: []plant{{file: "base/ingress-nginx/templates/configmap.yaml", old: "  map-hash-bucket-size: \"128\"\n", new: ""}},
			rule:   "entry.frontdoor-id",
			want:   []string{"cannot start", "0:health.weu-1.staging.libertum.io/health/stamp", "map_hash_bucket_size 64"},
		},
		// An exemption for any host lets anyone past the ID check on the
		// probe path of every public host.
		{
			name:   "the probe exemption for every host",
			plants: []plant{{file: "base/ingress-nginx/templates/configmap.yaml", old: "\"0:{{ . }}{{ $.Values.frontDoor.probePath }}\" 1;", new: "\"~^0:[^/]*{{ $.Values.frontDoor.probePath }}$\" 1;"}},
			rule:   "entry.frontdoor-id",
			want:   []string{"a request without X-Azure-FDID to api.weu-1.staging.libertum.io/health/stamp"},
		},
		// A default certificate nothing syncs: the controller serves its
		// self-signed certificate on every host, and Front Door refuses it.
		{
			name:   "the controller's default certificate synced by nobody",
			plants: []plant{{file: "base/ingress-nginx/templates/deployment.yaml", old: "--default-ssl-certificate=$(POD_NAMESPACE)/{{ . }}", new: "--default-ssl-certificate=$(POD_NAMESPACE)/{{ . }}-edge"}},
			rule:   "programs.secret",
			want:   []string{"Deployment ingress-nginx/ingress-nginx", "Secret ingress-nginx/stamp-tls-edge", "self-signed certificate", "Deployment_ingress-nginx.yaml"},
		},
		// Grafana's replicas each on their own SQLite file: a session
		// signed in on one is unknown to the next.
		{
			name:   "grafana replicas on their own SQLite files",
			plants: []plant{{file: "base/grafana/templates/deployment.yaml", old: "            - name: GF_DATABASE_TYPE\n              value: postgres\n", new: "            - name: GF_DATABASE_TYPE\n              value: sqlite3\n"}},
			rule:   "programs.config",
			want:   []string{"Deployment monitoring/grafana", "3 replicas", "SQLite", "set-up-for-high-availability"},
		},
		{
			name: "grafana without a way to its database",
			plants: overlay("grafana", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: grafana-egress
spec:
  egress:
    - to: [{ipBlock: {cidr: 10.20.6.32/28}}]
      ports: [{port: 443, protocol: TCP}]
`),
			rule: "programs.connect",
			want: []string{"Deployment monitoring/grafana", "postgres psql-lbt-stg-weu.postgres.database.azure.com", "5432/TCP", "NetworkPolicy_grafana-egress.yaml"},
		},
		{
			name:   "grafana's sign-in without its root URL",
			plants: []plant{{file: "base/grafana/templates/deployment.yaml", old: "            - name: GF_SERVER_ROOT_URL\n", new: "            - name: GF_SERVER_DOMAIN\n"}},
			rule:   "programs.config",
			want:   []string{"Deployment monitoring/grafana", "server.root_url is \"\"", "redirect URI"},
		},
		{
			name:   "rs-init's probe on a port it does not declare",
			plants: []plant{{file: "base/mongodb/templates/statefulset.yaml", old: "              port: 27017\n", new: "              port: mongodb\n"}},
			rule:   "probes.port",
			want:   []string{"rs-init", `"mongodb"`, "StatefulSet_mongodb.yaml"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			platformtest.CopyRepo(t, dir)
			for _, p := range tc.plants {
				path := filepath.Join(dir, p.file)
				var text string
				if p.old != "" {
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(string(b), p.old) {
						t.Fatalf("%s does not contain %q", p.file, p.old)
					}
					text = strings.Replace(string(b), p.old, p.new, 1)
				} else {
					text = p.new
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg := &action.Config{Root: dir, NoCache: true}
			rep, err := (&action.Verify{Config: cfg, Envs: []string{"staging"}, Today: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Failed() {
				t.Fatal("verify passes")
			}
			var seen []string
			for _, f := range rep.Findings {
				if f.Rule != tc.rule || f.Level != policy.Deny {
					continue
				}
				text := f.Message + " " + f.File
				ok := true
				for _, w := range tc.want {
					ok = ok && strings.Contains(text, w)
				}
				if ok {
					return
				}
				seen = append(seen, text)
			}
			t.Errorf("no %s finding names %q; %s findings:\n%s", tc.rule, tc.want, tc.rule, strings.Join(seen, "\n"))
		})
	}
}
