package stampbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/stampbox"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// result is what one run of the box found.
type result struct {
	failures []string
	figures  []string
}

// TestStampInABox runs the committed staging and prod stamps' programs in
// the box and requires every program up and ready, the Alertmanager peers
// all seeing each other, the Redis replicas their primary, every
// Prometheus target up, kube-state-metrics reporting every pod, nginx
// refusing what does not come from Front Door, every flow on the wire
// allowed by the rendered NetworkPolicies (the independent engine's
// reading) and every DNS name asked allowed by the egress intent. A third
// run plants the six outages the reviews found in staging and requires the
// box to name each. scripts/programs.sh (make programs) sets it up.
func TestStampInABox(t *testing.T) {
	tools := os.Getenv("GITOPS_STAMPBOX_TOOLS")
	if tools == "" {
		t.Skip("GITOPS_STAMPBOX_TOOLS is not set: run make programs")
	}
	for _, tc := range []struct {
		env, stamp string
		plant      bool
	}{
		{"staging", "weu-1", false},
		{"prod", "weu-1", false},
		{"staging", "weu-1", true},
	} {
		name := tc.env + "/" + tc.stamp
		if tc.plant {
			name += " with the six outages planted"
		}
		t.Run(name, func(t *testing.T) {
			r := run(t, tc.env, tc.stamp, tc.plant)
			for _, f := range r.figures {
				t.Log(f)
			}
			if !tc.plant {
				for _, f := range r.failures {
					t.Error(f)
				}
				return
			}
			for _, want := range [][]string{
				{"monitoring/loki-", "-> monitoring/loki-", "on 9095/TCP", "NetworkPolicy_loki-ingress.yaml"},
				{"monitoring/loki-", "Entra ID", "on 443/TCP", "NetworkPolicy_loki-egress.yaml"},
				{"monitoring/alertmanager-", "on 9094/UDP", "NetworkPolicy_alertmanager-ingress.yaml"},
				{"data/mongodb-", "container mongodb", "permissions on /mnt/secrets-store/mongodb-keyfile are too open"},
				{"data/mongodb-", "container rs-init", "liveness", `couldn't find port "mongodb"`},
				{"ingress-nginx/ingress-nginx-", "without X-Azure-FDID", "not 403"},
			} {
				if !slices.ContainsFunc(r.failures, func(f string) bool { return containsAll(f, want) }) {
					t.Errorf("no failure names %q; the box found:\n%s", want, strings.Join(r.failures, "\n"))
				}
			}
		})
	}
}

// record writes what the wire showed (every flow with the engine's
// verdict, every name with the intent's) under $GITOPS_STAMPBOX_RECORD,
// for a person to read after the run.
func record(t *testing.T, env, stamp string, plant bool, verdicts []stampbox.Verdict, names []stampbox.NameVerdict) {
	dir := os.Getenv("GITOPS_STAMPBOX_RECORD")
	if dir == "" {
		return
	}
	name := env + "-" + stamp
	if plant {
		name += "-planted"
	}
	var b strings.Builder
	for _, v := range verdicts {
		fmt.Fprintf(&b, "%v\t%s\n", v.Allowed, v)
	}
	b.WriteString("\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%v\t%s asked for %s: %s\n", n.Allowed, n.Pod, n.Name, n.Why)
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".txt"), []byte(b.String()), 0o644)
		if err != nil {
			t.Log(err)
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// run starts one stamp in the box, asks the programs, judges the wire and
// stops everything.
func run(t *testing.T, env, stamp string, plant bool) result {
	ctx := context.Background()
	began := time.Now()
	repo := platformtest.Repo()
	envs, err := (&action.Config{Root: repo, NoCache: true}).Workspace().Environments([]string{env})
	if err != nil {
		t.Fatal(err)
	}
	var inputs []policy.Input
	for _, o := range platformtest.Rendered(t, repo, env) {
		inputs = append(inputs, policy.Input{Unit: o.Unit, File: layout.RepoPath(o.File), Object: o.Object})
	}
	if plant {
		inputs = plantOutages(t, inputs)
	}
	plan, err := stampbox.NewPlan(envs[0], stamp, inputs)
	if err != nil {
		t.Fatal(err)
	}
	var crds []*unstructured.Unstructured
	files, _ := filepath.Glob(filepath.Join(repo, "crds", "*.yaml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := manifest.Decode(f, b)
		if err != nil {
			t.Fatal(err)
		}
		crds = append(crds, objs...)
	}
	tools := os.Getenv("GITOPS_STAMPBOX_TOOLS")
	box, err := stampbox.Start(ctx, plan, stampbox.Options{
		Work: t.TempDir(), Apiserver: os.Getenv("GITOPS_APISERVER"), CRDs: crds, PIDFile: os.Getenv("GITOPS_STAMPBOX_PIDFILE"),
		Tools: stampbox.Tools{
			Prometheus: filepath.Join(tools, os.Getenv("GITOPS_PROMETHEUS")), Alertmanager: filepath.Join(tools, os.Getenv("GITOPS_ALERTMANAGER")),
			KubeStateMetrics: filepath.Join(tools, os.Getenv("GITOPS_KUBE_STATE_METRICS")), Boxpod: os.Getenv("GITOPS_BOXPOD"),
		},
	})
	if box != nil {
		defer func() {
			if killed := box.Stop(); len(killed) > 0 {
				t.Errorf("had to SIGKILL %v", killed)
			}
		}()
	}
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	var r result
	wait := 2 * time.Minute
	if plant {
		wait = 40 * time.Second
	}
	r.failures = append(r.failures, box.WaitReady(ctx, wait)...)
	ready := time.Since(started)
	down, targets := box.PrometheusTargets(ctx, 75*time.Second)
	r.failures = append(r.failures, down...)
	r.failures = append(r.failures, box.PrometheusAlertmanagers(ctx)...)
	r.failures = append(r.failures, box.AlertmanagerPeers(ctx)...)
	r.failures = append(r.failures, box.RedisReplication(ctx)...)
	r.failures = append(r.failures, box.KubeStateMetrics(ctx)...)
	r.failures = append(r.failures, box.FrontDoor(ctx)...)
	flows, err := box.Flows()
	if err != nil {
		t.Fatal(err)
	}
	verdicts, err := plan.Judge(flows)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range verdicts {
		if !v.Allowed {
			r.failures = append(r.failures, "observed flow "+v.String())
		}
	}
	names, err := plan.JudgeNames(box.Questions())
	if err != nil {
		t.Fatal(err)
	}
	record(t, env, stamp, plant, verdicts, names)
	allowedNames := 0
	for _, n := range names {
		if n.Allowed {
			allowedNames++
			continue
		}
		r.failures = append(r.failures, fmt.Sprintf("%s asked cluster DNS for %s: %s", n.Pod, n.Name, n.Why))
	}
	real, stubs := 0, 0
	for _, h := range box.How() {
		if h.Real {
			real++
		} else {
			stubs++
		}
	}
	maxRSS, sumRSS := box.PeakRSS()
	r.figures = append(r.figures,
		fmt.Sprintf("%s/%s: %d pods, %d containers run for real, %d stubs; all ready %.1fs after the first pod started", env, stamp, len(plan.Pods), real, stubs, ready.Seconds()),
		fmt.Sprintf("%s/%s: %d Prometheus targets; %d flows seen on the bridge, judged by the NetworkPolicy engine; %d names asked and judged", env, stamp, targets, len(verdicts), allowedNames),
		fmt.Sprintf("%s/%s: run %.1fs in all; peak RSS %d MiB for the largest process, %d MiB summed over all", env, stamp, time.Since(began).Seconds(), maxRSS, sumRSS))
	return r
}
