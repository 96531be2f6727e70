package podsecurity

import (
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/manifest"
)

func object(t *testing.T, doc string) *manifest.Object {
	t.Helper()
	objs, err := manifest.Decode("t.yaml", []byte(doc))
	if err != nil || len(objs) != 1 {
		t.Fatalf("%v", err)
	}
	return objs[0]
}

// TestStrictestIsWhatAdmissionLetsIn: a pod that follows the restricted
// profile gets restricted; a root pod with a host path only privileged,
// and the admission says why restricted and baseline refuse it.
func TestStrictestIsWhatAdmissionLetsIn(t *testing.T) {
	const restricted = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: api}, spec: {template: {spec: {
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}},
  containers: [{name: api, image: x, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]}}}}`
	const agent = `{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent}, spec: {template: {spec: {
  volumes: [{name: logs, hostPath: {path: /var/log/pods}}],
  containers: [{name: agent, image: x, securityContext: {runAsUser: 0}}]}}}}`
	const baseline = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: web, image: x}]}}}}`
	for _, tc := range []struct {
		name, want string
		docs       []string
		held       string
	}{
		{"restricted pods", "restricted", []string{restricted}, ""},
		{"a pod with defaults", "baseline", []string{restricted, baseline}, "Deployment web"},
		{"a node agent", "privileged", []string{restricted, agent}, "restricted volume types"},
		{"nothing", "restricted", nil, ""},
	} {
		var objs []*manifest.Object
		for _, d := range tc.docs {
			objs = append(objs, object(t, d))
		}
		level, held, err := Strictest("v1.32", objs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if level != tc.want || !strings.Contains(strings.Join(held["restricted"], "; "), tc.held) {
			t.Errorf("%s: %s (held at restricted by %v), want %s held by %q", tc.name, level, held["restricted"], tc.want, tc.held)
		}
	}
	if _, err := Version("1.32.13"); err != nil {
		t.Error(err)
	}
	if _, err := Version("latest-ish"); err == nil {
		t.Error("a version without a minor was accepted")
	}
}
