package helm

import (
	"strings"
	"testing"
)

func chart(templates map[string]string) Chart {
	files := map[string][]byte{
		"Chart.yaml":  []byte("apiVersion: v2\nname: demo\nversion: 1.0.0\n"),
		"values.yaml": []byte("replicas: 1\n"),
	}
	for name, body := range templates {
		files["templates/"+name] = []byte(body)
	}
	return Chart{Dir: "base/demo", Files: files}
}

func TestRenderPinsCapabilities(t *testing.T) {
	ch := chart(map[string]string{"cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  spc: {{ .Capabilities.APIVersions.Has "secrets-store.csi.x-k8s.io/v1" | quote }}
  replicas: {{ .Values.replicas | quote }}
`})
	out, err := Render(ch, Options{ReleaseName: "demo", Namespace: "ns", KubeVersion: "v1.32.13",
		APIVersions: []string{"secrets-store.csi.x-k8s.io/v1"}, Values: map[string]any{"replicas": 3}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name: demo", "namespace: ns", `kube: "v1.32.13"`, `spc: "true"`, `replicas: "3"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	again, _ := Render(ch, Options{ReleaseName: "demo", Namespace: "ns", KubeVersion: "v1.32.13", APIVersions: []string{"secrets-store.csi.x-k8s.io/v1"}, Values: map[string]any{"replicas": 3}})
	if string(again) != string(out) {
		t.Error("two renders differ")
	}
}

func TestRenderErrorNamesTemplateFile(t *testing.T) {
	ch := chart(map[string]string{"broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.missing.field }}\n"})
	_, err := Render(ch, Options{ReleaseName: "demo", Namespace: "ns", KubeVersion: "v1.32.13"})
	if err == nil || !strings.Contains(err.Error(), "base/demo/templates/broken.yaml:4") {
		t.Errorf("err = %v, want base/demo/templates/broken.yaml:4", err)
	}
	ch = chart(map[string]string{"parse.yaml": "a: b\nc: {{ nosuchfunc }}\n"})
	_, err = Render(ch, Options{ReleaseName: "demo", Namespace: "ns", KubeVersion: "v1.32.13"})
	if err == nil || !strings.Contains(err.Error(), "base/demo/templates/parse.yaml:2") {
		t.Errorf("err = %v, want base/demo/templates/parse.yaml:2", err)
	}
}

func TestCheckDeterministic(t *testing.T) {
	for _, fn := range []string{"randAlphaNum 8", "genCA \"x\" 365", "lookup \"v1\" \"Secret\" \"ns\" \"n\"", "now", "uuidv4"} {
		ch := chart(map[string]string{"t.yaml": "a: 1\nb: {{ " + fn + " }}\n"})
		err := CheckDeterministic(ch)
		if err == nil || !strings.Contains(err.Error(), "base/demo/templates/t.yaml:2") {
			t.Errorf("%s: err = %v, want it flagged at line 2", fn, err)
		}
	}
	// Words outside template actions, longer identifiers and values named
	// like a function are fine; tpl of a literal is too.
	ch := chart(map[string]string{"t.yaml": "# now and then\nnowhere: {{ .Values.nowhere }}\nwhen: {{ .Values.now }}\nx: {{ tpl \"{{ .Release.Name }}\" . }}\n"})
	if err := CheckDeterministic(ch); err != nil {
		t.Errorf("false positive: %v", err)
	}
}

// TestCheckDeterministicReadsTheParseTree: a call split across lines is
// found at its line, and tpl of a value (which could hold any function) is
// refused.
func TestCheckDeterministicReadsTheParseTree(t *testing.T) {
	tests := []struct {
		name, tmpl, want string
	}{
		{"split across lines", "a: 1\nb: {{\n  randAlphaNum\n  8 }}\n", "t.yaml:3"},
		{"in a define", "{{- define \"x\" -}}\n{{ now | date \"2006\" }}\n{{- end }}\n", "t.yaml:2"},
		{"tpl of a value", "a: 1\nb: {{ tpl .Values.extra . }}\n", "t.yaml:2: tpl of a value"},
		{"in a range", "{{ range .Values.items }}\n- {{ uuidv4 }}\n{{ end }}\n", "t.yaml:2"},
	}
	for _, tc := range tests {
		err := CheckDeterministic(chart(map[string]string{"t.yaml": tc.tmpl}))
		if err == nil || !strings.Contains(err.Error(), "base/demo/templates/"+tc.want) {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.want)
		}
	}
}
