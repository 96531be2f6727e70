package render

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/kustomize"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

var update = flag.Bool("update", false, "rewrite golden files (testdata/ and the committed rendered/ tree)")

// renderRoot plans and renders every environment of the repo at root.
func renderRoot(t testing.TB, root string, o Options) *Result {
	t.Helper()
	p, err := plan.New(workspace.Open(root), plan.Options{Keys: o.Cache != nil})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	res, err := Run(context.Background(), p, o)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return res
}

// renderRepo renders the real platform: only the golden tests do.
func renderRepo(t testing.TB, workers int) *Result {
	t.Helper()
	return renderRoot(t, platformtest.Repo(), Options{Workers: workers})
}

// TestGoldenRendered: the committed rendered/ tree is the golden output of
// the whole platform, and the small test platform's rendered/ its own.
func TestGoldenRendered(t *testing.T) {
	for _, tc := range []struct{ name, root, dir string }{
		{"platform", platformtest.Repo(), filepath.Join(platformtest.Repo(), layout.Dir)},
		{"small", platformtest.Small(t), filepath.Join(platformtest.SmallDir(), layout.Dir)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := renderRoot(t, tc.root, Options{})
			if *update {
				if err := layout.Replace(tc.dir, res.EnvNames(), res.Files()); err != nil {
					t.Fatal(err)
				}
			}
			got := res.Files()
			want, err := layout.Read(tc.dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(got, want, cmpopts.EquateEmpty()) {
				t.Errorf("%s is out of date (run make golden or make render):\n%s", tc.dir, fileListDiff(want, got))
			}
		})
	}
}

// fileListDiff names the files added, removed and changed between two trees.
func fileListDiff(want, got []layout.File) string {
	w := map[string]string{}
	for _, f := range want {
		w[f.Path] = string(f.Data)
	}
	var b strings.Builder
	seen := map[string]bool{}
	for _, f := range got {
		seen[f.Path] = true
		old, ok := w[f.Path]
		switch {
		case !ok:
			fmt.Fprintf(&b, "added   %s\n", f.Path)
		case old != string(f.Data):
			fmt.Fprintf(&b, "changed %s\n", f.Path)
		}
	}
	for _, f := range want {
		if !seen[f.Path] {
			fmt.Fprintf(&b, "removed %s\n", f.Path)
		}
	}
	return b.String()
}

// TestGoldenInventory keeps a reviewable list of every object each
// environment renders under testdata/inventory/<env>.txt.
func TestGoldenInventory(t *testing.T) {
	res := renderRepo(t, 0)
	inventories := map[string]*strings.Builder{}
	for _, u := range res.Units {
		b := inventories[u.Env]
		if b == nil {
			b = &strings.Builder{}
			inventories[u.Env] = b
		}
		for _, o := range u.Objects {
			fmt.Fprintf(b, "%s/%s\t%s\n", u.Stamp, u.Component, manifest.IDOf(o))
		}
	}
	for env, b := range inventories {
		path := filepath.Join("testdata", "inventory", env+".txt")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(b.String(), "\n")); diff != "" {
			t.Errorf("%s inventory changed (-want +got):\n%s", env, diff)
		}
	}
}

// TestDeterministic: rendering twice, and with one worker or many, gives
// byte-identical trees.
func TestDeterministic(t *testing.T) {
	root := platformtest.Small(t)
	first := renderRoot(t, root, Options{Workers: 1}).Files()
	for _, workers := range []int{1, 8} {
		again := renderRoot(t, root, Options{Workers: workers}).Files()
		if !cmp.Equal(first, again, cmpopts.EquateEmpty()) {
			t.Fatalf("render with %d workers differs from a serial render:\n%s", workers, fileListDiff(first, again))
		}
	}
}

// TestSeedComponents: every component the seeds call for is rendered in
// every environment where it belongs, in the shape the environment needs.
func TestSeedComponents(t *testing.T) {
	res := renderRepo(t, 0)
	files := map[string]bool{}
	for _, f := range res.Files() {
		files[f.Path] = true
	}
	stamps := map[string][]string{"dev": {"weu-1"}, "staging": {"weu-1"}, "prod": {"weu-1", "neu-1"}}
	everywhere := []string{
		"namespaces/Namespace_libertum.yaml",
		"ingress-nginx/Deployment_ingress-nginx.yaml",
		"ingress-nginx/Service_ingress-nginx.yaml",
		"ingress-nginx/HorizontalPodAutoscaler_ingress-nginx.yaml",
		"api/Deployment_api.yaml",
		"api/HorizontalPodAutoscaler_api.yaml",
		"api/Ingress_api.yaml",
		"api/NetworkPolicy_api-default-deny.yaml",
		"api/NetworkPolicy_api-ingress.yaml", "api/NetworkPolicy_api-egress.yaml",
		"api/SecretProviderClass_api-keyvault.yaml",
		"web/Deployment_web.yaml",
		"web/Ingress_web.yaml",
		"tokenization/Deployment_tokenization.yaml",
		"tokenization/HorizontalPodAutoscaler_tokenization.yaml",
		"healthservice/Deployment_healthservice.yaml",
		"prometheus/StatefulSet_prometheus.yaml",
		"grafana/Deployment_grafana.yaml",
		"loki/StatefulSet_loki.yaml",
		"promtail/DaemonSet_promtail.yaml",
		"mongodb/CronJob_mongodb-backup.yaml",
		"kafka/Service_kafka.yaml",
		"redis/Service_redis.yaml",
		"mongodb/Service_mongodb.yaml",
	}
	inCluster := []string{"kafka/StatefulSet_kafka.yaml", "redis/StatefulSet_redis.yaml", "mongodb/StatefulSet_mongodb.yaml"}
	onVM := []string{"kafka/EndpointSlice_kafka-external.yaml", "redis/EndpointSlice_redis-external.yaml", "mongodb/EndpointSlice_mongodb-external.yaml"}
	zoned := []string{"api/PodDisruptionBudget_api.yaml", "web/PodDisruptionBudget_web.yaml"}
	for env, sts := range stamps {
		for _, st := range sts {
			want, absent := everywhere, []string(nil)
			switch env {
			case "prod":
				want = append(append(append([]string{}, want...), onVM...), zoned...)
				absent = inCluster
			case "staging":
				want = append(append(append([]string{}, want...), inCluster...), zoned...)
				absent = onVM
			default:
				want = append(append([]string{}, want...), inCluster...)
				absent = onVM
			}
			for _, f := range want {
				if p := env + "/" + st + "/" + f; !files[p] {
					t.Errorf("missing %s", p)
				}
			}
			for _, f := range absent {
				if p := env + "/" + st + "/" + f; files[p] {
					t.Errorf("%s should not be rendered", p)
				}
			}
		}
	}
}

func BenchmarkRenderAll(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		renderRepo(b, 0)
	}
}

// TestCacheRendersOnlyWhatChanged: with a warm cache, a new image tag for
// one component re-renders that component's units and nothing else, and the
// result is byte-identical to a render without a cache.
func TestCacheRendersOnlyWhatChanged(t *testing.T) {
	root := platformtest.Small(t)
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	renderRoot(t, root, Options{Cache: store})
	env := filepath.Join(root, "environments", "prod.yaml")
	b, err := os.ReadFile(env)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), "tag: 9f2c4e1a7b3d # api commit", "tag: 0123456789ab # api commit", 1)
	if changed == string(b) {
		t.Fatal("prod.yaml no longer pins api at 9f2c4e1a7b3d; update the test")
	}
	if err := os.WriteFile(env, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}

	got := renderRoot(t, root, Options{Cache: store})
	var rendered []string
	for _, u := range got.Units {
		if !u.Cached && !u.Derived() {
			rendered = append(rendered, u.Unit.String())
		}
	}
	if want := []string{"prod/neu-1/api", "prod/weu-1/api"}; !cmp.Equal(rendered, want) {
		t.Errorf("units rendered after changing prod's api tag = %v, want %v (the rest from the cache)", rendered, want)
	}
	if c := got.Counts(); c.Rendered != 2 || c.Cached != c.Total-2 {
		t.Errorf("counts = %+v, want 2 rendered and the rest cached", c)
	}
	fresh := renderRoot(t, root, Options{})
	if !cmp.Equal(got.Files(), fresh.Files(), cmpopts.EquateEmpty()) {
		t.Errorf("cached render differs from a fresh one:\n%s", fileListDiff(fresh.Files(), got.Files()))
	}
	if diff := cmp.Diff(fresh.Units, got.Units, cmpopts.IgnoreFields(Unit{}, "Elapsed", "Cached")); diff != "" {
		t.Errorf("cached units differ from fresh ones (-fresh +cached):\n%s", diff)
	}
}

// TestRunStopsOnInterrupt: an interrupted render hands out no more units
// and returns the interruption, not a partial result.
func TestRunStopsOnInterrupt(t *testing.T) {
	p, err := plan.New(workspace.Open(platformtest.Small(t)), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rendered := 0
	res, err := Run(ctx, p, Options{Workers: 1, Progress: func(done, total int, u *Unit) {
		rendered = done
		cancel() // interrupt after the first unit
	}})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("Run = %v, %v; want context.Canceled and no result", res, err)
	}
	if rendered >= len(p.Units) {
		t.Errorf("%d of %d units rendered after the interrupt", rendered, len(p.Units))
	}
}

// TestFinalStageDirectIsBuild: for every unit of the platform and of the
// small test platform that the direct final stage may take (overlays aside),
// its objects are those of a kustomize build of the staged kustomization.
func TestFinalStageDirectIsBuild(t *testing.T) {
	for _, root := range []string{platformtest.Repo(), platformtest.Small(t)} {
		p, err := plan.New(workspace.Open(root), plan.Options{})
		if err != nil {
			t.Fatal(err)
		}
		repo := newSources(p)
		direct := 0
		for _, pu := range p.Units {
			stageOf := func(direct bool) []*manifest.Object {
				objs, gen, err := shaped(repo, pu)
				if err != nil {
					t.Fatalf("%s: %v", pu.Unit, err)
				}
				objs = append(objs, gen...)
				unsetNamespaces(objs)
				if direct && !kustomize.CanApply(objs) {
					return nil
				}
				noOverlays := *pu
				noOverlays.Overlays = nil
				out, err := finalStage(repo, &noOverlays, objs, direct)
				if err != nil {
					t.Fatalf("%s: %v", pu.Unit, err)
				}
				manifest.Sort(out)
				return out
			}
			got := stageOf(true)
			if got == nil {
				continue
			}
			direct++
			want := stageOf(false)
			if diff := cmp.Diff(objectMaps(want), objectMaps(got)); diff != "" {
				t.Errorf("%s: the direct final stage differs from a build (-build +direct):\n%s", pu.Unit, diff)
			}
		}
		if direct < len(p.Units)/2 {
			t.Errorf("%s: only %d of %d units may take the direct final stage", root, direct, len(p.Units))
		}
	}
}

func objectMaps(objs []*manifest.Object) []map[string]any {
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		out[i] = o.Object
	}
	return out
}

// TestDerivedUnitsTakenAsKnown: a derived unit given in Options.Derived is
// taken as it is, its objects shared, and every other unit is built as
// without it, so a render given the truth renders the same bytes.
func TestDerivedUnitsTakenAsKnown(t *testing.T) {
	root := platformtest.Small(t)
	full := renderRoot(t, root, Options{})
	known := map[layout.Unit]*Unit{}
	for _, u := range full.Units {
		if u.Component == spec.NamespacesComponent || u.Component == spec.AppsComponent {
			known[u.Unit] = u
		}
	}
	if len(known) < 2 {
		t.Fatalf("the small platform has %d namespaces and apps units; the test needs some", len(known))
	}
	again := renderRoot(t, root, Options{Derived: known})
	if !cmp.Equal(full.Files(), again.Files(), cmpopts.EquateEmpty()) {
		t.Fatalf("a render given its own derived units differs:\n%s", fileListDiff(full.Files(), again.Files()))
	}
	taken := 0
	for _, u := range again.Units {
		k, ok := known[u.Unit]
		if !ok {
			continue
		}
		if len(u.Objects) == 0 || u.Objects[0] != k.Objects[0] {
			t.Errorf("%s was built again, not taken as known", u.Unit)
		}
		taken++
	}
	if taken != len(known) {
		t.Errorf("%d of %d known units in the render", taken, len(known))
	}

	// Taken as it is: a known unit that is not the truth shows as given.
	ns := full.Units[slices.IndexFunc(full.Units, func(u *Unit) bool { return u.Component == spec.NamespacesComponent })]
	marked := &Unit{Unit: ns.Unit, Objects: ns.Objects[:1], Files: []layout.File{{Path: ns.Files[0].Path, Data: []byte("marked\n")}}}
	res := renderRoot(t, root, Options{Derived: map[layout.Unit]*Unit{ns.Unit: marked}})
	got := res.Units[slices.IndexFunc(res.Units, func(u *Unit) bool { return u.Unit == ns.Unit })]
	if len(got.Files) != 1 || string(got.Files[0].Data) != "marked\n" {
		t.Errorf("the known %s was not taken as given: %d files", ns.Unit, len(got.Files))
	}
}
