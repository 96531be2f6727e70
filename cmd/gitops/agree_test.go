package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/generator/platformtest"
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
