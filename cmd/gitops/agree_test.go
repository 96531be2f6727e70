package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/internal/platformtest"
)

type verdict struct {
	Rule, Level, Kind, Namespace, Name, Message string
}

func verdicts(t *testing.T, stdout string) []verdict {
	t.Helper()
	var rep struct {
		Findings []struct {
			Rule, Level, Kind, Namespace, Name, Message string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout)
	}
	var out []verdict
	for _, f := range rep.Findings {
		out = append(out, verdict(f))
	}
	return out
}

// TestVerifyAndPolicyCheckAgree: an overlay gives prod's api Deployment an
// unknown field and a privileged container. verify (over the render) and
// policy check (over the same objects written to files, given as a
// directory) run one check step, so they give the same verdicts.
func TestVerifyAndPolicyCheckAgree(t *testing.T) {
	root := platformtest.Small(t)
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("overlays/prod/api/kustomization.yaml", `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - path: deployment-env.yaml
  - patch: |
      - op: add
        path: /spec/template/spec/colour
        value: blue
      - op: add
        path: /spec/template/spec/containers/0/securityContext/privileged
        value: true
    target: {kind: Deployment, name: api}
`)
	out := filepath.Join(t.TempDir(), "rendered")
	if code, _, stderr := gitops(t, "render", "--root", root, "--no-cache", "--env", "prod", "--out", out, "--quiet"); code != exitOK {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := gitops(t, "verify", "--root", root, "--no-cache", "--env", "prod", "--format", "json", "--today", "2026-11-23")
	if code != exitFindings {
		t.Fatalf("verify: exit %d, want 1: %s", code, stderr)
	}
	fromVerify := verdicts(t, stdout)

	code, stdout, stderr = gitops(t, "policy", "check", "--root", root, "--env", "prod", "--format", "json", "--today", "2026-11-23", filepath.Join(out, "prod"))
	if code != exitFindings {
		t.Fatalf("policy check: exit %d, want 1: %s", code, stderr)
	}
	fromCheck := verdicts(t, stdout)

	rules := map[string]bool{}
	for _, v := range fromVerify {
		if v.Kind == "Deployment" && v.Name == "api" {
			rules[v.Rule] = true
		}
	}
	for _, want := range []string{"schema.strict", "podsecurity.privileged"} {
		if !rules[want] {
			t.Errorf("verify did not report %s on the api Deployment: %+v", want, fromVerify)
		}
	}
	if diff := cmp.Diff(fromVerify, fromCheck); diff != "" {
		t.Errorf("verify and policy check disagree (-verify +policy check):\n%s", diff)
	}
}

// TestPolicyCheckInputs: policy check reads directories and standard
// input, accepts objects named by generateName as the API server does, and
// reports a broken document by file and line while checking the others.
func TestPolicyCheckInputs(t *testing.T) {
	root := platformtest.Small(t)
	job := `apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  namespace: libertum
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: acrlibertumprod.azurecr.io/libertum/api:9f2c4e1a7b3d
`
	var out, errOut strings.Builder
	code := runWithInput(t.Context(), []string{"policy", "check", "--root", root, "--env", "prod", "--format", "json", "-"}, strings.NewReader(job), &out, &errOut)
	if code == exitError {
		t.Fatalf("generateName object from stdin: exit 2: %s", errOut.String())
	}
	if !strings.Contains(out.String(), `"name": "migrate-"`) {
		t.Errorf("the Job was not checked under its generateName:\n%s", out.String())
	}

	dir := t.TempDir()
	broken := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n"
	if err := os.WriteFile(filepath.Join(dir, "two.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := gitops(t, "policy", "check", "--root", root, "--env", "prod", "--format", "json", dir)
	if code != exitError || !strings.Contains(stderr, filepath.Join(dir, "two.yaml")+":9:") {
		t.Errorf("broken second document: exit %d, want 2 naming two.yaml:9:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, `"name": "good"`) {
		t.Errorf("the good document was not checked:\n%s", stdout)
	}
}

// TestPolicyCheckJudgesWhatItIsGiven: policy check of manifests nobody
// rendered — another team's, a chart's output — judges each by the
// programs' own rules: nothing is skipped for being unknown, and nothing
// fires for a rule that does not apply.
func TestPolicyCheckJudgesWhatItIsGiven(t *testing.T) {
	root := platformtest.Small(t)
	deployment := func(name, extra string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: libertum
  labels: {app.kubernetes.io/name: ` + name + `, libertum.io/stamp: weu-1}
spec:
  replicas: 3
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec:
      containers:
        - name: app
          image: acrlibertumprod.azurecr.io/libertum/api:9f2c4e1a7b3d
` + extra
	}
	tests := []struct {
		name     string
		doc      string
		deny     []string // rules that must be denied
		notDeny  []string // rules that must not be
		exit     int
		inStderr string
	}{
		{name: "writable root of a component the environment does not know",
			doc:  deployment("stranger", "          securityContext: {readOnlyRootFilesystem: false}\n"),
			deny: []string{"podsecurity.read-only-root"}, exit: exitFindings},
		{name: "every resource of the apps group holds no nodes/proxy",
			doc:     "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: apps-reader\nrules:\n  - apiGroups: [apps]\n    resources: ['*']\n    verbs: [get]\n",
			notDeny: []string{"podsecurity.node-proxy"}, exit: exitFindings},
		{name: "every resource of the core group does",
			doc:  "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: all\nrules:\n  - apiGroups: ['']\n    resources: ['*']\n    verbs: [get]\n",
			deny: []string{"podsecurity.node-proxy"}, exit: exitFindings},
		{name: "another team's Namespace is no stamp",
			doc:     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-x\n",
			notDeny: []string{"backup.mongodb", "resources.stamp-capacity"}, exit: exitFindings},
		{name: "an API version the environment's Kubernetes removed",
			doc:  "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: api\n  namespace: libertum\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: api}}\n",
			deny: []string{"schema.strict"}, exit: exitFindings},
		{name: "required fields left out",
			doc:  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: libertum\nspec: {}\n",
			deny: []string{"schema.strict"}, exit: exitFindings},
		{name: "an integer out of its field's range",
			doc:  strings.Replace(deployment("api", ""), "replicas: 3", "replicas: 2147483648", 1),
			deny: []string{"schema.strict"}, exit: exitFindings},
		{name: "APIService is a built-in kind",
			doc:     "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata:\n  name: v1beta1.metrics.k8s.io\nspec:\n  group: metrics.k8s.io\n  version: v1beta1\n  groupPriorityMinimum: 100\n  versionPriority: 100\n  service: {name: metrics-server, namespace: kube-system}\n",
			notDeny: []string{"schema.strict"}, exit: exitFindings},
		{name: "a key given twice",
			doc:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n  namespace: libertum\ndata:\n  a: \"1\"\n  a: \"2\"\n",
			exit: exitError, inStderr: "<stdin>:8: key \"a\" already set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := runWithInput(t.Context(), []string{"policy", "check", "--root", root, "--env", "prod", "--format", "json", "-"}, strings.NewReader(tc.doc), &out, &errOut)
			if code != tc.exit || !strings.Contains(errOut.String(), tc.inStderr) {
				t.Fatalf("exit %d, want %d with %q on stderr:\n%s", code, tc.exit, tc.inStderr, errOut.String())
			}
			for _, r := range tc.deny {
				if !strings.Contains(out.String(), `"rule": "`+r+`"`) {
					t.Errorf("%s not denied:\n%s", r, out.String())
				}
			}
			for _, r := range tc.notDeny {
				if strings.Contains(out.String(), `"rule": "`+r+`"`) {
					t.Errorf("%s denied:\n%s", r, out.String())
				}
			}
		})
	}
}

// TestPolicyCheckSkipsWhatIsNotAManifest: a directory of the rendered tree
// (with its Front Door origins file) or of the sources (charts and
// kustomizations) is checked for its manifests, and every file skipped is
// named with why.
func TestPolicyCheckSkipsWhatIsNotAManifest(t *testing.T) {
	root := platformtest.Small(t)
	// What the render writes for Front Door: JSON, but no manifest.
	origins := filepath.Join(root, "rendered", "prod", "frontdoor", "origins.json")
	if err := os.MkdirAll(filepath.Dir(origins), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(origins, []byte(`{"originGroup": "libertum-prod", "origins": [{"stamp": "weu-1", "weight": 50}]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := gitops(t, "policy", "check", "--root", root, "--env", "prod", filepath.Join(root, "rendered", "prod"))
	if code != exitOK || !strings.Contains(stderr, "skipped "+origins+": ") {
		t.Errorf("rendered/prod: exit %d, want 0 naming origins.json as skipped:\n%s", code, stderr)
	}
	code, _, stderr = gitops(t, "policy", "check", "--root", root, "--env", "prod", filepath.Join(root, "base"))
	if code == exitError || !strings.Contains(stderr, "skipped "+filepath.Join(root, "base", "redis")+": a Helm chart") ||
		!strings.Contains(stderr, "skipped "+filepath.Join(root, "base", "api", "kustomization.yaml")+": a Kustomize") {
		t.Errorf("base/: exit %d, want the chart and kustomization skipped:\n%s", code, stderr)
	}
	// A chart's templates folder, named by itself, and a loose template.
	code, _, stderr = gitops(t, "policy", "check", "--root", root, "--env", "prod", filepath.Join(root, "base", "redis", "templates"))
	if code == exitError || !strings.Contains(stderr, "skipped "+filepath.Join(root, "base", "redis", "templates")+": inside the Helm chart") {
		t.Errorf("base/redis/templates: exit %d, want it skipped as part of the chart:\n%s", code, stderr)
	}
	loose := t.TempDir()
	if err := os.WriteFile(filepath.Join(loose, "cm.yaml"), []byte("{{- if .Values.on }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n{{- end }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = gitops(t, "policy", "check", "--root", root, "--env", "prod", loose)
	if code == exitError || !strings.Contains(stderr, "skipped "+filepath.Join(loose, "cm.yaml")+": a template") {
		t.Errorf("a loose template: exit %d, want it skipped:\n%s", code, stderr)
	}
	// A file named on the command line is the user's word: not skipped.
	code, _, stderr = gitops(t, "policy", "check", "--root", root, "--env", "prod", origins)
	if code != exitError || !strings.Contains(stderr, "origins.json:1:") {
		t.Errorf("origins.json named: exit %d, want 2:\n%s", code, stderr)
	}
}
