package action

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/specedit"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/gittest"
)

// runDiff is gitops diff --base base in work, without a cache.
func runDiff(t *testing.T, work, base string) *Review {
	t.Helper()
	r, err := (&Diff{Config: &Config{Root: work, NoCache: true}, Base: base, Today: today}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// setImage pins a component's image in an environment file.
func setImage(t *testing.T, work, env, component, tag string) {
	t.Helper()
	rel := workspace.EnvironmentFile(env)
	if _, err := specedit.Apply(filepath.Join(work, rel), rel, []specedit.ImageTag{{Component: component, Tag: tag}}); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dropDefaultDeny adds an overlay that deletes a component's generated
// default-deny NetworkPolicy in one environment.
func dropDefaultDeny(t *testing.T, work, env, component string) {
	t.Helper()
	write(t, filepath.Join(work, "overlays", env, component, "kustomization.yaml"), `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - patch: |
      $patch: delete
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: `+component+`-default-deny
`)
}

// TestImageBump: commit A, change one image tag, commit B: the diff holds
// exactly that field of that Deployment in each stamp of the environment.
func TestImageBump(t *testing.T) {
	work, _ := gittest.Platform(t)
	a := gittest.Git(t, work, "rev-parse", "HEAD")
	setImage(t, work, "prod", "api", "0a1b2c3d4e5f")
	gittest.Commit(t, work, "Bump api in prod")

	r := runDiff(t, work, a)
	if len(r.Units) != 2 {
		t.Fatalf("changed units = %+v, want prod/neu-1/api and prod/weu-1/api", r.Units)
	}
	for i, stamp := range []string{"neu-1", "weu-1"} {
		u := r.Units[i]
		if u.Env != "prod" || u.Stamp != stamp || u.Component != "api" || len(u.Files) != 1 {
			t.Fatalf("unit %d = %+v", i, u)
		}
		f := u.Files[0]
		if f.Kind != "Deployment" || f.Name != "api" || len(f.Changes) != 1 {
			t.Fatalf("%s: %+v", stamp, f)
		}
		c := f.Changes[0]
		if c.Path != "spec.template.spec.containers[name=api].image" ||
			c.Old != "acrlibertumprod.azurecr.io/libertum/api:9f2c4e1a7b3d" || c.New != "acrlibertumprod.azurecr.io/libertum/api:0a1b2c3d4e5f" {
			t.Errorf("%s: change = %+v", stamp, c)
		}
	}
	if len(r.Introduced)+len(r.Fixed) != 0 {
		t.Errorf("an image bump changed the policy result: %+v %+v", r.Introduced, r.Fixed)
	}
}

// TestFormattingIsNoChange: reordered keys and reformatted YAML render the
// same objects.
func TestFormattingIsNoChange(t *testing.T) {
	work, _ := gittest.Platform(t)
	a := gittest.Git(t, work, "rev-parse", "HEAD")
	write(t, filepath.Join(work, "overlays/prod/api/deployment-env.yaml"), `# reformatted: flow style, keys reordered
kind: Deployment
metadata: {name: api}
apiVersion: "apps/v1"
spec: {template: {spec: {containers: [{env: [{value: "warn", name: LOG_LEVEL}], name: api}]}}}
`)
	write(t, filepath.Join(work, "overlays/prod/kustomization.yaml"), `kind: Component
commonAnnotations: {"libertum.io/change-approval": platform-oncall}
apiVersion: "kustomize.config.k8s.io/v1alpha1"
`)
	if r := runDiff(t, work, a); len(r.Units) != 0 {
		t.Errorf("formatting-only change shows a diff: %+v", r.Units)
	}
}

// TestPolicyDelta: deleting a NetworkPolicy is a violation the change
// introduces; restoring it is one the change fixes.
func TestPolicyDelta(t *testing.T) {
	work, _ := gittest.Platform(t)
	a := gittest.Git(t, work, "rev-parse", "HEAD")
	dropDefaultDeny(t, work, "dev", "redis")
	b := gittest.Commit(t, work, "Drop redis's default deny in dev")

	r := runDiff(t, work, a)
	if len(r.Introduced) != 1 || r.Introduced[0].Rule != "network.default-deny" || r.Introduced[0].Env != "dev" || r.Introduced[0].Name != "redis" {
		t.Fatalf("introduced = %+v, want network.default-deny on dev redis", r.Introduced)
	}
	if len(r.Fixed) != 0 || len(r.Existing) != 0 {
		t.Errorf("fixed %+v, existing %+v; want none", r.Fixed, r.Existing)
	}

	if err := os.RemoveAll(filepath.Join(work, "overlays/dev/redis")); err != nil {
		t.Fatal(err)
	}
	gittest.Commit(t, work, "Restore it")
	r = runDiff(t, work, b)
	if len(r.Fixed) != 1 || r.Fixed[0].Rule != "network.default-deny" || len(r.Introduced) != 0 {
		t.Errorf("fixed = %+v, introduced = %+v; want the restore to fix network.default-deny", r.Fixed, r.Introduced)
	}
}

// TestChangedSinceGivesTheSameReview: limiting both renders to what the
// change affects (scope.Since) reports exactly what a full review
// (--full: every unit of both sides from its sources) does.
func TestChangedSinceGivesTheSameReview(t *testing.T) {
	work, _ := gittest.Platform(t)
	a := gittest.Git(t, work, "rev-parse", "HEAD")
	setImage(t, work, "prod", "api", "0a1b2c3d4e5f")
	// And a change that introduces a violation: redis without its default deny.
	dropDefaultDeny(t, work, "dev", "redis")
	gittest.Commit(t, work, "Bump api in prod, drop redis's default deny in dev")

	full, err := (&Diff{Config: &Config{Root: work, NoCache: true}, Base: a, Today: today, Full: true}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ws := workspace.Open(work)
	sc, err := plan.Since(context.Background(), ws, a)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dev/redis", "prod/api"}; !cmp.Equal(sc.Units(), want) {
		t.Fatalf("scope = %v, want %v", sc.Units(), want)
	}
	scoped, err := (&Diff{Config: &Config{Root: work, NoCache: true}, Base: a, Today: today, ChangedSince: a}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Introduced) == 0 {
		t.Fatal("dropping redis's default-deny NetworkPolicy introduced no violation; the test lost its point")
	}
	if diff := cmp.Diff(full, scoped, cmpopts.IgnoreUnexported(policy.Finding{})); diff != "" {
		t.Errorf("scoped review differs from the full one (-full +scoped):\n%s", diff)
	}
}

// TestConnectivityDelta: dropping a talksTo closes the connection on the
// engine's reading, and the component-level link is marked removed; a
// change that touches no policy opens and closes nothing.
func TestConnectivityDelta(t *testing.T) {
	work, _ := gittest.Platform(t)
	a := gittest.Git(t, work, "rev-parse", "HEAD")
	if r := runDiff(t, work, a); len(r.Connectivity) != 0 {
		t.Fatalf("no change, connectivity delta %v", r.Connectivity)
	}
	gittest.Edit(t, work, "environments/dev.yaml", "      talksTo: [redis]\n", "")
	r := runDiff(t, work, a)
	var closed []string
	for _, f := range r.Connectivity {
		if f.Change != "closed" || f.Env != "dev" {
			t.Errorf("unexpected %s %s/%s %s", f.Change, f.Env, f.Stamp, f.Conn)
		}
		closed = append(closed, f.Stamp+" "+f.Conn.String())
	}
	if want := []string{"weu-1 libertum/api -> data/redis on 6379/TCP (redis)"}; !cmp.Equal(closed, want) {
		t.Errorf("closed = %v, want %v", closed, want)
	}
	found := false
	for _, l := range r.Links["dev"] {
		if l.From == "api" && l.To == "redis" {
			found = l.Status == "removed"
		}
	}
	if !found {
		t.Errorf("dev links do not mark api -> redis removed: %+v", r.Links["dev"])
	}
}

// TestSharedDerived: a head's derived unit stands for the base's only when
// the base commit's rendered tree holds its files, path for path and byte
// for byte, and no other file; a planned unit never does.
func TestSharedDerived(t *testing.T) {
	ns := layout.Unit{Env: "dev", Stamp: "weu-1", Component: spec.NamespacesComponent}
	apps := layout.Unit{Env: "dev", Stamp: "weu-1", Component: spec.AppsComponent}
	prodApps := layout.Unit{Env: "prod", Stamp: "weu-1", Component: spec.AppsComponent}
	boot := layout.Unit{Env: "dev", Component: spec.BootstrapDir}
	prodBoot := layout.Unit{Env: "prod", Component: spec.BootstrapDir}
	api := layout.Unit{Env: "dev", Stamp: "weu-1", Component: "api"}
	unit := func(u layout.Unit, names ...string) *render.Unit {
		r := &render.Unit{Unit: u}
		for _, n := range names {
			r.Files = append(r.Files, layout.File{Path: u.File(n + ".yaml"), Data: []byte(n)})
		}
		return r
	}
	head := &render.Result{Units: []*render.Unit{
		unit(ns, "a", "b"), unit(apps, "x", "y"), unit(prodApps, "x"), unit(boot, "p"), unit(prodBoot, "p"), unit(api, "d"),
	}}
	blob := func(data string) string { return git.BlobID([]byte(data)) }
	base := map[string]string{
		// the same files: shared
		"rendered/dev/weu-1/namespaces/a.yaml": blob("a"),
		"rendered/dev/weu-1/namespaces/b.yaml": blob("b"),
		// one file fewer at the base
		"rendered/dev/weu-1/apps/x.yaml": blob("x"),
		// one file more at the base
		"rendered/prod/weu-1/apps/x.yaml": blob("x"),
		"rendered/prod/weu-1/apps/z.yaml": blob("z"),
		// other bytes at the base
		"rendered/dev/bootstrap/p.yaml": blob("p changed"),
		// not derived: the plan decides
		"rendered/dev/weu-1/api/d.yaml": blob("d"),
		// prod's bootstrap is not in the base commit
	}
	got := sharedDerived(head, derivedFiles(base))
	if len(got) != 1 || got[ns] != head.Units[0] {
		t.Errorf("shared %v, want only %s", slices.Collect(maps.Keys(got)), ns)
	}
	if got := sharedDerived(head, derivedFiles(nil)); len(got) != 0 {
		t.Errorf("a base without a rendered tree shared %d units", len(got))
	}
}

// TestDiffSharesTheBaseCommitsDerivedUnits: in a pull request's diff of the
// small platform, whose base commit holds its rendered tree, the base side
// takes the head's Argo CD units, which the change leaves as they were
// (their objects shared), and builds its own namespaces unit where the
// change lowers a Pod Security level.
func TestDiffSharesTheBaseCommitsDerivedUnits(t *testing.T) {
	work, _ := gittest.Platform(t)
	baseCommit := gittest.Git(t, work, "rev-parse", "HEAD")
	gittest.Edit(t, work, "base/api/deployment.yaml", "runAsNonRoot: true", "runAsNonRoot: false")
	gittest.Commit(t, work, "api runs as root")
	ctx := context.Background()
	d := &Diff{Config: &Config{Root: work, NoCache: true}, Base: baseCommit, Today: today}
	scope, err := d.scope(ctx, baseCommit, "diff")
	if err != nil {
		t.Fatal(err)
	}
	ref := baseRef{commit: baseCommit, tree: func() (map[string]string, error) {
		return git.Repo{Dir: work}.Blobs(ctx, baseCommit, layout.Dir)
	}}
	bc := d.checkoutBase(ctx, git.Repo{Dir: work}, baseCommit, scope)
	if bc.remove != nil {
		defer bc.remove()
	}
	if bc.err != nil {
		t.Fatal(bc.err)
	}
	heads := map[layout.Unit]*render.Unit{}
	var bases []*render.Unit
	_, _, err = d.sides(ctx, d.Workspace(), scope, ref, func() (*workspace.Workspace, error) { return bc.ws, nil }, func(head, base *render.Result) {
		for _, u := range head.Units {
			heads[u.Unit] = u
		}
		bases = append(bases, base.Units...)
	})
	if err != nil {
		t.Fatal(err)
	}
	apps, namespaces, moved := 0, 0, 0
	for _, u := range bases {
		h := heads[u.Unit]
		if h == nil || len(u.Objects) == 0 {
			continue
		}
		taken := u.Objects[0] == h.Objects[0]
		switch u.Component {
		case spec.AppsComponent, spec.BootstrapDir:
			apps++
			if !taken {
				t.Errorf("%s is the same at the base commit, but the base built it again", u.Unit)
			}
		case spec.NamespacesComponent:
			namespaces++
			if !taken {
				moved++
			}
		}
	}
	if apps == 0 || namespaces == 0 {
		t.Fatalf("the base rendered %d Argo CD and %d namespaces units", apps, namespaces)
	}
	// api runs as root now: the level of its namespace moved in every
	// stamp that runs api, and those units are the base's own.
	if moved == 0 {
		t.Error("the base took every namespaces unit from the head: the change moved no Pod Security level, or the base took a unit its commit does not hold")
	}
}

// TestDiffOfAnAddedEnvironment: a change adding an environment the base
// lacks shows its every file added, beside the others' (none changed).
func TestDiffOfAnAddedEnvironment(t *testing.T) {
	work, _ := gittest.Platform(t)
	base := gittest.Git(t, work, "rev-parse", "HEAD")
	dev, err := os.ReadFile(filepath.Join(work, "environments", "dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(work, "environments", "qa.yaml"), strings.Replace(string(dev), "  name: dev\n", "  name: qa\n", 1))
	gittest.Commit(t, work, "a qa environment")
	r := runDiff(t, work, base)
	if !slices.Contains(r.Envs, "qa") || !slices.Contains(r.Envs, "dev") {
		t.Fatalf("the review covers %v, want dev and qa among them", r.Envs)
	}
	added := 0
	for _, u := range r.Units {
		for _, f := range u.Files {
			if u.Env != "qa" || f.Status != diff.Added {
				t.Errorf("%s: %s is %s; only qa's files should change, all added", u.Unit, f.Path, f.Status)
			}
			added++
		}
	}
	if added == 0 {
		t.Error("no file of the added environment in the review")
	}
}
