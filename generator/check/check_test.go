package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// renderSmall renders a copy of the small platform (after edit, if any,
// changed a file of it) and returns its workspace and render.
func renderSmall(t *testing.T, edit func(root string)) (*workspace.Workspace, *render.Result) {
	t.Helper()
	root := platformtest.Small(t)
	if edit != nil {
		edit(root)
	}
	return renderRoot(t, root)
}

var findingsEqual = cmpopts.IgnoreUnexported(policy.Finding{})

// TestFindingsAreCachedByContent: a second check of the same render is
// served from the cache with the same findings; a render that differs in
// one object is judged again, not served the old verdict.
func TestFindingsAreCachedByContent(t *testing.T) {
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws, res := renderSmall(t, nil)
	first, err := New(ws, Options{Cache: store}).Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	again, err := New(ws, Options{Cache: store}).Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again, findingsEqual); diff != "" {
		t.Fatalf("findings from the cache differ (-first +cached):\n%s", diff)
	}
	if hits, _ := store.Stats(); hits == 0 {
		t.Fatal("the second check read nothing from the cache")
	}

	// The api's pods may run as root now: podsecurity.non-root must say so.
	ws2, res2 := renderSmall(t, func(root string) {
		gittest.Edit(t, root, "base/api/deployment.yaml", "        runAsNonRoot: true\n        runAsUser: 10001\n", "")
	})
	changed, err := New(ws2, Options{Cache: store}).Render(context.Background(), res2)
	if err != nil {
		t.Fatal(err)
	}
	if !hasRule(changed, "dev", "api", "podsecurity.non-root") || hasRule(first, "dev", "api", "podsecurity.non-root") {
		t.Errorf("pods that may run as root: before %v, after %v; want podsecurity.non-root only after", rulesOf(first), rulesOf(changed))
	}
}

// TestSummariesCarryAcrossUnits: an autoscaler's maximum reaches the
// stamp's capacity, judged on a Namespace of another unit, through the
// HPA's summary alone: with the HPA raised and nothing else changed, the
// cached check finds what a check without cache finds, and judges the
// Namespace again without judging the stamp's other objects.
func TestSummariesCarryAcrossUnits(t *testing.T) {
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws, res := renderSmall(t, nil)
	before, err := New(ws, Options{Cache: store}).Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	raised := false
	for _, u := range res.Units {
		if u.Env != "dev" || u.Component != "api" {
			continue
		}
		for i, o := range u.Objects {
			if o.GetKind() != "HorizontalPodAutoscaler" {
				continue
			}
			o.Object["spec"].(map[string]any)["maxReplicas"] = int64(200)
			b, err := manifest.Encode(o)
			if err != nil {
				t.Fatal(err)
			}
			u.Files[i].Data, raised = b, true
		}
	}
	if !raised {
		t.Fatal("no HorizontalPodAutoscaler of dev's api to raise")
	}
	got, checker := cachedIsUncached(t, ws, res, store)
	if !hasRule(got, "dev", spec.NamespacesComponent, "resources.stamp-capacity") || hasRule(before, "dev", spec.NamespacesComponent, "resources.stamp-capacity") {
		t.Errorf("stamp capacity: before %v, after %v; want it only after", rulesOf(before), rulesOf(got))
	}
	if n := checker.Counts(); n.Evaluated == 0 || n.Reused == 0 {
		t.Errorf("judged %+v: want the HPA and the Namespace judged again, the rest kept", n)
	}
}

// TestServiceChangeKeepsOtherVerdicts: a change to one Service that is no
// LoadBalancer (a label of dev's api Service) leaves every other unit's
// verdicts in the cache: the workloads look for LoadBalancer Services
// with externalTrafficPolicy Local through the Services' summaries, not
// by reading every Service. Only the api unit's objects are judged again,
// and the findings are those of a check without cache.
func TestServiceChangeKeepsOtherVerdicts(t *testing.T) {
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws, res := renderSmall(t, nil)
	if _, err := New(ws, Options{Cache: store}).Render(context.Background(), res); err != nil {
		t.Fatal(err)
	}
	apiObjects := 0
	for _, u := range res.Units {
		if u.Env != "dev" || u.Component != "api" {
			continue
		}
		apiObjects += len(u.Objects)
		for i, o := range u.Objects {
			if o.GetKind() != "Service" {
				continue
			}
			labels := o.Object["metadata"].(map[string]any)["labels"].(map[string]any)
			labels["libertum.io/tier"] = "changed"
			b, err := manifest.Encode(o)
			if err != nil {
				t.Fatal(err)
			}
			u.Files[i].Data = b
		}
	}
	_, checker := cachedIsUncached(t, ws, res, store)
	if n := checker.Counts(); n.Evaluated == 0 || n.Evaluated > apiObjects {
		t.Errorf("judged %d objects again; want at most the api unit's %d", n.Evaluated, apiObjects)
	}
}

// cachedIsUncached checks res without a cache and with store, fails the
// test when their findings differ, and returns the cached check's
// findings and its Checker.
func cachedIsUncached(t *testing.T, ws *workspace.Workspace, res *render.Result, store *cache.Store) ([]policy.Finding, *Checker) {
	t.Helper()
	want, err := New(ws, Options{}).Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	checker := New(ws, Options{Cache: store})
	got, err := checker.Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, findingsEqual); diff != "" {
		t.Errorf("the cached check differs from one without cache (-uncached +cached):\n%s", diff)
	}
	return got, checker
}

// TestObjectsIsRender: checking a render's objects one environment at a
// time gives the verdict checking the render gives.
func TestObjectsIsRender(t *testing.T) {
	ws, res := renderSmall(t, nil)
	c := New(ws, Options{})
	all, err := c.Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	var each []policy.Finding
	for _, env := range res.Envs {
		fs, err := c.Objects(context.Background(), env, Inputs(env, res))
		if err != nil {
			t.Fatal(err)
		}
		each = append(each, fs...)
	}
	if diff := cmp.Diff(all, each, findingsEqual); diff != "" {
		t.Errorf("Objects per environment differs from Render (-render +objects):\n%s", diff)
	}
}

// TestEnvironmentsTakeTurnsHoldingValues: while one environment's
// policies hold their objects' values, another's wait for their turn (a
// cancelled wait ends with the context's error, having built nothing),
// and closing a run hands the turn on, also after a run that failed to
// start.
func TestEnvironmentsTakeTurnsHoldingValues(t *testing.T) {
	ws, res := renderSmall(t, nil)
	c := New(ws, Options{})
	dev, prod := res.Envs[0], res.Envs[1]
	first := c.policies(context.Background(), dev, Inputs(dev, res))
	if _, err := first.summaries(nil); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	waiting := c.policies(cancelled, prod, Inputs(prod, res))
	if _, err := waiting.summaries(nil); !errors.Is(err, context.Canceled) || waiting.session != nil {
		t.Fatalf("a run started while another held the turn: %v", err)
	}
	waiting.close()
	first.close()
	// Bounded, so a turn never handed on fails here instead of hanging.
	bounded, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	next := c.policies(bounded, prod, Inputs(prod, res))
	defer next.close()
	if _, err := next.evaluate(nil, []int{0}); err != nil {
		t.Fatalf("the turn was not handed on: %v", err)
	}
}

// TestImagesWithoutUpstreamAreFindings: a third-party image without a
// source to import it from is denied, pointing at the environment file.
func TestImagesWithoutUpstreamAreFindings(t *testing.T) {
	ws, res := renderSmall(t, func(root string) {
		gittest.Edit(t, root, "environments/dev.yaml", "          upstream: docker.io/library/redis # imported into ACR by digest (gitops images --format az)\n", "")
	})
	fs, err := New(ws, Options{}).Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Rule == UpstreamRule && f.Env == "dev" && f.Component == "redis" && strings.HasPrefix(f.Source, "environments/dev.yaml:") && f.Level == policy.Deny {
			return
		}
	}
	t.Errorf("no %s deny for dev's redis at environments/dev.yaml:LINE in %v", UpstreamRule, rulesOf(fs))
}

// TestExceptionsNamingNothingAreRefused: an exception for a rule no policy
// has waives nothing, silently; the check refuses it.
func TestExceptionsNamingNothingAreRefused(t *testing.T) {
	ws, res := renderSmall(t, func(root string) {
		ex := "apiVersion: policy.libertum.io/v1alpha1\nkind: ExceptionList\nexceptions:\n" +
			"  - rule: no.such-rule\n    component: api\n    kind: Deployment\n    name: api\n    reason: x\n    owner: a@libertum.io\n    expires: \"2099-01-01\"\n"
		if err := os.WriteFile(filepath.Join(root, "policies", "exceptions.yaml"), []byte(ex), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	_, err := New(ws, Options{}).Render(context.Background(), res)
	if err == nil || !strings.Contains(err.Error(), "no.such-rule") {
		t.Errorf("check with an exception for an unknown rule: %v, want an error naming it", err)
	}
}

func hasRule(fs []policy.Finding, env, component, rule string) bool {
	for _, f := range fs {
		if f.Env == env && f.Component == component && f.Rule == rule && f.Exception == "" {
			return true
		}
	}
	return false
}

func rulesOf(fs []policy.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Env+"/"+f.Component+":"+f.Rule)
	}
	return out
}

// TestExceptionsKnowEveryGoRule: each rule a check written in Go reports
// (registered in goRules) may be named by an exception, as a Rego rule
// may.
func TestExceptionsKnowEveryGoRule(t *testing.T) {
	var names []string
	for _, r := range goRules {
		names = append(names, r.names...)
	}
	if len(names) < 5 {
		t.Fatalf("goRules names %v; want the schema, credential, image, program and connectivity rules", names)
	}
	ws, res := renderSmall(t, func(root string) {
		ex := "apiVersion: policy.libertum.io/v1alpha1\nkind: ExceptionList\nexceptions:\n"
		for _, n := range names {
			ex += "  - rule: " + n + "\n    component: api\n    kind: Deployment\n    name: api\n    reason: x\n    owner: a@libertum.io\n    expires: \"2099-01-01\"\n"
		}
		if err := os.WriteFile(filepath.Join(root, "policies", "exceptions.yaml"), []byte(ex), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := New(ws, Options{}).Render(context.Background(), res); err != nil {
		t.Errorf("exceptions naming the Go rules %v: %v", names, err)
	}
}

// lineOf is the 1-based line of a file under root holding text.
func lineOf(t *testing.T, root, file, text string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, text) {
			return file + ":" + strconv.Itoa(i+1)
		}
	}
	t.Fatalf("%s holds no %q", file, text)
	return ""
}

// TestFindingsPointAtTheLineThatCausedThem: a violation planted in an
// overlay's patch, a base's manifest, a chart's values or the environment
// file is reported at that file and line (Finding.Origin, SARIF's primary
// location), not only at the rendered file.
func TestFindingsPointAtTheLineThatCausedThem(t *testing.T) {
	for _, tc := range []struct {
		name, env, rule string
		edit            func(t *testing.T, root string)
		file, text      string
	}{
		{"an overlay's patch", "prod", "podsecurity.privileged", func(t *testing.T, root string) {
			gittest.Edit(t, root, "overlays/prod/api/deployment-env.yaml", "        - name: api\n", "        - name: api\n          securityContext:\n            privileged: true\n")
		}, "overlays/prod/api/deployment-env.yaml", "privileged: true"},
		{"a base's manifest", "dev", "podsecurity.host-port", func(t *testing.T, root string) {
			gittest.Edit(t, root, "base/api/deployment.yaml", "              containerPort: 8080\n", "              containerPort: 8080\n              hostPort: 8080\n")
		}, "base/api/deployment.yaml", "hostPort: 8080"},
		{"a chart's values", "dev", "podsecurity.host-namespaces", func(t *testing.T, root string) {
			gittest.Edit(t, root, "base/redis/templates/statefulset.yaml", "      automountServiceAccountToken: false\n", "      automountServiceAccountToken: false\n      hostNetwork: {{ .Values.hostNetwork }}\n")
			gittest.Edit(t, root, "base/redis/values.yaml", "replicas: 1\n", "replicas: 1\nhostNetwork: true\n")
		}, "base/redis/values.yaml", "hostNetwork: true"},
		{"the environment file", "dev", "images.latest", func(t *testing.T, root string) {
			gittest.Edit(t, root, "environments/dev.yaml", "tag: 9f2c4e1a7b3d # api commit", "tag: latest")
		}, "environments/dev.yaml", "images:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var root string
			ws, res := renderSmall(t, func(r string) { root = r; tc.edit(t, r) })
			fs, err := New(ws, Options{Today: time.Now()}).Render(context.Background(), res)
			if err != nil {
				t.Fatal(err)
			}
			want := lineOf(t, root, tc.file, tc.text)
			var got []string
			for _, f := range fs {
				if f.Rule == tc.rule && f.Env == tc.env {
					got = append(got, f.Origin)
				}
			}
			if len(got) == 0 || got[0] != want {
				t.Errorf("%s findings at %v, want at %s", tc.rule, got, want)
			}
		})
	}
}

// withoutReadiness removes api's readiness probe: a finding in every
// environment that runs api.
func withoutReadiness(t *testing.T) func(root string) {
	return func(root string) {
		gittest.Edit(t, root, "base/api/deployment.yaml", "          readinessProbe:\n            httpGet:\n              path: /readyz\n              port: http\n            periodSeconds: 5\n", "")
	}
}

// TestCheckInPartsIsRender: a render checked one environment at a time
// (as verify streams it: Check of each part, Finish of them all) gives
// Render's findings of the whole, warnings and stamp-wide ones included.
func TestCheckInPartsIsRender(t *testing.T) {
	ws, res := renderSmall(t, withoutReadiness(t))
	all, err := New(ws, Options{}).Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	envs := map[string]bool{}
	for _, f := range all {
		envs[f.Env] = true
	}
	if len(envs) < 2 {
		t.Fatalf("the small platform has findings in %d environments: the test needs two", len(envs))
	}
	c := New(ws, Options{})
	var raw []policy.Finding
	for _, env := range res.Envs {
		part := &render.Result{Envs: []*spec.Environment{env}, Units: unitsOf(env, res)}
		fs, err := c.Check(context.Background(), part)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, fs...)
	}
	parts, err := c.Finish(raw)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, parts, findingsEqual); diff != "" {
		t.Errorf("checked in parts differs from Render (-render +parts):\n%s", diff)
	}
}

// TestRenderConversionsAreTheCheck: a render that keeps its conversions
// hands them to the check (the namespaces units converted every pod
// template already), and the findings are those of a check converting
// every object itself.
func TestRenderConversionsAreTheCheck(t *testing.T) {
	root := platformtest.Small(t)
	withoutReadiness(t)(root)
	ws := workspace.Open(root)
	p, err := plan.New(ws, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Run(context.Background(), p, render.Options{KeepConversions: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Conversions == nil || res.Conversions.Len() == 0 {
		t.Fatal("the render kept no conversions")
	}
	rendered := res.Conversions.Len()
	kept, err := New(ws, Options{}).Render(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	// The check's own conversions (its NetworkPolicies) join the render's.
	if res.Conversions.Len() <= rendered {
		t.Errorf("the check converted nothing through the render's conversions (%d before it, %d after)", rendered, res.Conversions.Len())
	}
	own := *res
	own.Conversions = nil
	want, err := New(ws, Options{}).Render(context.Background(), &own)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("no findings to compare")
	}
	if diff := cmp.Diff(want, kept, findingsEqual); diff != "" {
		t.Errorf("with the render's conversions (-own +render's):\n%s", diff)
	}
}
