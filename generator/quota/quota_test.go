package quota

import (
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/spec"
)

func objects(t *testing.T, docs ...string) []*manifest.Object {
	t.Helper()
	var out []*manifest.Object
	for _, d := range docs {
		objs, err := manifest.Decode("t.yaml", []byte(d))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, objs...)
	}
	return out
}

const pod = `template: {spec: {containers: [{name: c, resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}}]}}`

// TestDemandCountsEveryPodAtOnce: an autoscaled Deployment at its HPA
// maximum plus its rolling-update surge, a StatefulSet at its replicas, a
// DaemonSet on every node, a CronJob that may overlap twice; a quota of
// that plus a tenth covers it, and one at the HPA minimum does not.
func TestDemandCountsEveryPodAtOnce(t *testing.T) {
	env := &spec.Environment{}
	env.Spec.Cluster.Autoscaler.MaxNodes = 4
	objs := objects(t,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: api}, spec: {`+pod+`}}`,
		`{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: api}, spec: {maxReplicas: 10, scaleTargetRef: {kind: Deployment, name: api}}}`,
		`{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}, spec: {replicas: 3, `+pod+`}}`,
		`{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent}, spec: {`+pod+`}}`,
		`{apiVersion: batch/v1, kind: CronJob, metadata: {name: backup}, spec: {jobTemplate: {spec: {`+pod+`}}}}`,
	)
	d, err := Of(env, objs, manifest.NewTyped())
	if err != nil {
		t.Fatal(err)
	}
	// 10 + 3 (25% surge, rounded up) + 3 + 4 + 2 = 22 pods.
	if d.Pods != 22 || d.RequestsCPU < 2.199 || d.RequestsCPU > 2.201 || d.LimitsMemory != 22*256<<20 {
		t.Fatalf("demand %+v, want 22 pods, 2.2 cores, 22 x 256Mi of limits", d)
	}
	hard := Hard(d)
	if over := Covers(hard, d); len(over) > 0 {
		t.Errorf("the quota for a demand does not cover it: %v", over)
	}
	if q := hard["requests.cpu"]; q.String() != "2500m" {
		t.Errorf("requests.cpu %s, want 2.2 cores and a tenth, in tenths: 2500m", q.String())
	}
	low := Hard(Demand{Pods: 14, RequestsCPU: 1.4, RequestsMemory: 14 * 128 << 20, LimitsMemory: 14 * 256 << 20})
	if over := Covers(low, d); len(over) != 4 || !strings.Contains(over[1], "requests.cpu: needs 2.2 cores") {
		t.Errorf("a quota at the HPA minimum: %v, want all four limits exceeded", over)
	}
}
