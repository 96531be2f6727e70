package capacity_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/capacity"
	"github.com/libertum/platform-gitops/generator/check"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// stampsOf works out every stamp of a render.
func stampsOf(t *testing.T, res *render.Result) map[string]capacity.Stamp {
	t.Helper()
	out := map[string]capacity.Stamp{}
	for _, e := range res.Envs {
		for _, st := range e.Spec.Stamps {
			c, err := capacity.FromObjects(e, st, res.StampObjects(e.Name(), st.Name))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()+"/"+st.Name] = c
		}
	}
	return out
}

// peakRE reads what the resources.stamp-capacity policy says a stamp
// requests at peak.
var peakRE = regexp.MustCompile(`stamp (\S+): (?:at peak|with \S+ out \(failover[^)]*\)) its workloads request ([0-9.]+) (cores|GiB) of (cpu|memory)`)

// TestFailoverIsWhatThePolicyCounts: with prod's autoscaler cut to one
// node, the stamp-capacity policy reports what each stamp requests with its
// neighbour out (the autoscalers' maxima are sized for that); this
// package's failover figure is the same, to the policy's one decimal, for
// CPU and memory. (Two counts of one thing, held together.)
func TestFailoverIsWhatThePolicyCounts(t *testing.T) {
	res, findings := checkProd(t, "autoscaler: {minNodes: 1, maxNodes: 1}")
	ours := stampsOf(t, res)
	seen := 0
	for _, f := range findings {
		m := peakRE.FindStringSubmatch(f.Message)
		if f.Rule != "resources.stamp-capacity" || m == nil {
			continue
		}
		seen++
		policy, _ := strconv.ParseFloat(m[2], 64)
		c, ok := ours["prod/"+m[1]]
		if !ok {
			t.Fatalf("the policy reports stamp %s, which capacity does not know", m[1])
		}
		got := c.Failover.CPU
		if m[4] == "memory" {
			got = c.Failover.Memory
		}
		if fmt.Sprintf("%.1f", got) != m[2] {
			t.Errorf("prod/%s %s at failover: %.3f here, %g by the policy", m[1], m[4], got, policy)
		}
		if !strings.Contains(f.Message, "with "+c.FailoverFrom+" out") {
			t.Errorf("the policy does not name %s, whose loss prod/%s takes: %s", c.FailoverFrom, m[1], f.Message)
		}
	}
	if seen != 4 {
		t.Fatalf("%d stamp-capacity findings, want cpu and memory for both prod stamps", seen)
	}
}

// checkProd renders and checks a copy of the repo whose prod autoscaler
// line is replaced.
func checkProd(t *testing.T, autoscaler string) (*render.Result, []policy.Finding) {
	t.Helper()
	root := t.TempDir()
	platformtest.CopyRepo(t, root)
	file := filepath.Join(root, "environments", "prod.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cut := strings.Replace(string(b), "autoscaler: {minNodes: 3, maxNodes: 15}", autoscaler, 1)
	if cut == string(b) {
		t.Fatal("prod.yaml's autoscaler line moved: update the test")
	}
	if err := os.WriteFile(file, []byte(cut), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := workspace.Open(root)
	p, err := plan.New(ws, plan.Options{Envs: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Run(context.Background(), p, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	findings, err := check.New(ws, check.Options{}).Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	return res, findings
}

// TestAStampThatCannotTakeItsNeighboursTraffic: with prod's node budget
// cut to 5 nodes, each stamp still fits its own peak but not the traffic
// it takes when the other is out (N-1): the stamp-capacity policy fails
// both, naming the stamp whose loss it cannot take and the shortfall.
func TestAStampThatCannotTakeItsNeighboursTraffic(t *testing.T) {
	res, findings := checkProd(t, "autoscaler: {minNodes: 3, maxNodes: 5}")
	ours := stampsOf(t, res)
	for _, st := range []string{"weu-1", "neu-1"} {
		c := ours["prod/"+st]
		if c.Peak.CPU > c.Budget.CPU || c.Failover.CPU <= c.Budget.CPU {
			t.Fatalf("prod/%s: peak %.1f, failover %.1f of %.1f cores: the cut should fit the peak only", st, c.Peak.CPU, c.Failover.CPU, c.Budget.CPU)
		}
		want := fmt.Sprintf("stamp %s: with %s out (failover", st, c.FailoverFrom)
		short := fmt.Sprintf("%.1f cores short", c.Failover.CPU-c.Budget.CPU)
		found := false
		for _, f := range findings {
			found = found || (f.Rule == "resources.stamp-capacity" && f.Level == policy.Deny && strings.Contains(f.Message, want) && strings.Contains(f.Message, short))
		}
		if !found {
			t.Errorf("no stamp-capacity finding %q ... %q among %v", want, short, findings)
		}
	}
}

// TestFailoverTakesTheLostStampsShare: behind Front Door, when a
// neighbour is out a stamp takes its weight's share of the environment's
// traffic among the healthy ones, and its autoscaled workloads need the
// replicas that traffic needs; a stamp alone, or an environment without
// Front Door, has no failover.
func TestFailoverTakesTheLostStampsShare(t *testing.T) {
	hpa := func(name string, max int) *manifest.Object {
		return &manifest.Object{Object: map[string]any{
			"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
			"metadata": map[string]any{"name": name, "namespace": "ns"},
			"spec":     map[string]any{"maxReplicas": float64(max), "scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}},
		}}
	}
	deployment := func(name string, replicas float64, cpu, memory string) *manifest.Object {
		return &manifest.Object{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": name, "namespace": "ns"},
			"spec": map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": name, "resources": map[string]any{"requests": map[string]any{"cpu": cpu, "memory": memory}}},
			}}}},
		}}
	}
	env := func(weights ...int) *spec.Environment {
		e := &spec.Environment{}
		e.Spec.Cluster.Node.Allocatable = spec.ResourceList{CPU: "2", Memory: "8Gi"}
		e.Spec.Cluster.Autoscaler.MaxNodes = 10
		e.Spec.Components = map[string]spec.Component{"api": {Scaling: &spec.Scaling{PodThroughputRPS: 20}}}
		if len(weights) > 0 {
			e.Spec.FrontDoor = &spec.FrontDoor{}
		}
		for i, w := range weights {
			st := spec.Stamp{Name: fmt.Sprintf("s%d", i+1), Capacity: spec.Capacity{PeakRPS: 400}}
			if w > 0 {
				st.Origin = &spec.Origin{Weight: w}
			}
			e.Spec.Stamps = append(e.Spec.Stamps, st)
		}
		if len(weights) == 0 {
			e.Spec.Stamps = []spec.Stamp{{Name: "s1", Capacity: spec.Capacity{PeakRPS: 400}}}
		}
		return e
	}
	// api: HPA maximum 20 (400 rps / 20), 0.5 core and 1 GiB a pod; a
	// fixed worker of two pods.
	objs := map[string][]*manifest.Object{
		"api":    {deployment("api", 0, "500m", "1Gi"), hpa("api", 20)},
		"worker": {deployment("worker", 2, "250m", "512Mi")},
	}
	for _, tc := range []struct {
		name     string
		env      *spec.Environment
		factor   float64
		from     string
		failover capacity.Amount
	}{
		{"50/50", env(50, 50), 2, "s2", capacity.Amount{CPU: 40*0.5 + 2*0.25, Memory: 40 + 1}},
		// 1,200 rps in all; without s3, s1 takes half of it.
		{"1/1/2 loses the heavy one", env(1, 1, 2), 1.5, "s3", capacity.Amount{CPU: 30*0.5 + 2*0.25, Memory: 30 + 1}},
		{"three equal", env(1, 1, 1), 1.5, "s2", capacity.Amount{CPU: 30*0.5 + 2*0.25, Memory: 30 + 1}},
		{"alone behind Front Door", env(50), 1, "", capacity.Amount{CPU: 20*0.5 + 2*0.25, Memory: 20 + 1}},
		{"no Front Door", env(), 1, "", capacity.Amount{CPU: 20*0.5 + 2*0.25, Memory: 20 + 1}},
	} {
		e := tc.env
		c, err := capacity.FromObjects(e, e.Spec.Stamps[0], objs)
		if err != nil {
			t.Fatal(err)
		}
		peak := capacity.Amount{CPU: 20*0.5 + 2*0.25, Memory: 20 + 1}
		if c.Peak != peak || c.Budget != (capacity.Amount{CPU: 20, Memory: 80}) {
			t.Errorf("%s: peak %+v budget %+v, want %+v of 20 cores and 80 GiB", tc.name, c.Peak, c.Budget, peak)
		}
		if math.Abs(c.Factor-tc.factor) > 1e-9 || c.FailoverFrom != tc.from || c.Failover != tc.failover {
			t.Errorf("%s: failover x%g from %q = %+v, want x%g from %q = %+v", tc.name, c.Factor, c.FailoverFrom, c.Failover, tc.factor, tc.from, tc.failover)
		}
	}
}
