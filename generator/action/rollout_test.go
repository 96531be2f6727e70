package action

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/internal/gittest"
)

var today = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// bumpProdAPI changes prod's api image, re-renders and commits.
func bumpProdAPI(t *testing.T, cfg *Config, tag string) string {
	t.Helper()
	gittest.Edit(t, cfg.Root, "environments/prod.yaml", "tag: 9f2c4e1a7b3d # api commit", "tag: "+tag+" # api commit")
	cfg.reopen()
	if _, err := (&Render{Config: cfg}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.reopen()
	return gittest.Commit(t, cfg.Root, "Bump api in prod to "+tag)
}

// tips reads every stamp branch's tip on the remote.
func tips(t *testing.T, remote string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(gittest.Git(t, remote, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/rendered-*"), "\n") {
		if name, sha, ok := strings.Cut(line, " "); ok {
			out[name] = sha
		}
	}
	return out
}

// fastForwards fails unless every branch that existed before only moved
// forward: the old tip is an ancestor of the new (no force-push).
func fastForwards(t *testing.T, remote string, before, after map[string]string) {
	t.Helper()
	for name, old := range before {
		if after[name] == "" {
			t.Errorf("%s was deleted", name)
			continue
		}
		if _, err := (git.Repo{Dir: remote}).Run(context.Background(), "merge-base", "--is-ancestor", old, after[name]); err != nil {
			t.Errorf("%s moved from %s to %s, not forward: %v", name, old[:8], after[name][:8], err)
		}
	}
}

// TestStampsRollOutInWaves: with real bare remotes, the first publish
// reaches every stamp (a stamp that has run nothing has nothing to
// protect); a prod change reaches weu-1 on publish and neu-1 only after
// gitops rollout, once weu-1 has soaked; nothing is force-pushed; one stamp
// rolls back alone; a rollback of everything reaches every stamp at once.
func TestStampsRollOutInWaves(t *testing.T) {
	ctx := context.Background()
	work, remote := gittest.Platform(t)
	cfg := &Config{Root: work, NoCache: true}
	pub := &Publish{Config: cfg, Remote: "origin", Branch: "rendered", Today: today}
	a := gittest.Git(t, work, "rev-parse", "HEAD")
	res, err := pub.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var moved []string
	for _, st := range res.Stamps {
		moved = append(moved, st.Stamp.String())
	}
	// neu-1 has never run a render: the first publish gives it one at once
	// (nothing to protect), as it gives the first waves.
	if got := strings.Join(moved, " "); got != "dev/weu-1 prod/weu-1 prod/neu-1" {
		t.Fatalf("publish moved %q, want the first waves and the new stamp: dev/weu-1 prod/weu-1 prod/neu-1", got)
	}
	rendered1 := gittest.Git(t, remote, "rev-parse", "rendered")
	ro := &Rollout{Config: cfg, Remote: "origin", Branch: "rendered", Env: "prod", Now: time.Now()}
	if out, err := ro.Run(ctx); err != nil || len(out.Moved) != 0 || out.Rendered != rendered1 {
		t.Fatalf("rollout right after the first publish = %+v, %v; want nothing to move, every wave on %s", out, err, rendered1)
	}

	// A prod change: weu-1 takes it on publish, neu-1 keeps the old render.
	before := tips(t, remote)
	b := bumpProdAPI(t, cfg, "0a1b2c3d4e5f")
	if _, err := pub.Run(ctx); err != nil {
		t.Fatal(err)
	}
	rendered2 := gittest.Git(t, remote, "rev-parse", "rendered")
	after := tips(t, remote)
	fastForwards(t, remote, before, after)
	tree := func(ref string) string { return gittest.Git(t, remote, "rev-parse", ref+"^{tree}") }
	if tree("rendered-prod-weu-1") != tree(rendered2) || tree("rendered-prod-neu-1") != tree(rendered1) {
		t.Fatal("after publishing a prod change, weu-1 must run it and neu-1 the previous render")
	}
	if got := gittest.Git(t, remote, "show", "rendered-prod-neu-1:prod/neu-1/api/Deployment_api.yaml"); strings.Contains(got, "0a1b2c3d4e5f") {
		t.Error("neu-1 runs the new api before its rollout")
	}
	// The Applications of each stamp track the stamp's own branch.
	if app := gittest.Git(t, remote, "show", "rendered-prod-neu-1:prod/neu-1/argocd/Application_prod-neu-1-api.yaml"); !strings.Contains(app, "targetRevision: rendered-prod-neu-1") {
		t.Errorf("neu-1's Application does not track its own branch:\n%s", app)
	}

	// weu-1 has not soaked for prod's 4h: the rollout waits, exit 1.
	var soak *SoakError
	if _, err := ro.Run(ctx); !errors.As(err, &soak) || soak.Left < 3*time.Hour {
		t.Fatalf("rollout right after publish: err = %v, want to wait about 4h", err)
	}
	ro.Now = time.Now().Add(5 * time.Hour)
	out, err := ro.Run(ctx)
	if err != nil || out.Wave != 2 || len(out.Moved) != 1 || out.Moved[0].Name != "neu-1" || out.Moved[0].Rendered != rendered2 {
		t.Fatalf("rollout after the soak = %+v, %v; want neu-1 moved to %s", out, err, rendered2)
	}
	if out, err := ro.Run(ctx); err != nil || len(out.Moved) != 0 {
		t.Errorf("a second rollout = %+v, %v; want nothing to move", out, err)
	}

	// One stamp rolls back alone, as a new commit.
	before = tips(t, remote)
	pin := &Rollout{Config: cfg, Remote: "origin", Branch: "rendered", Env: "prod", Stamp: "neu-1", To: a}
	if _, err := pin.Run(ctx); err != nil {
		t.Fatal(err)
	}
	fastForwards(t, remote, before, tips(t, remote))
	if tree("rendered-prod-neu-1") != tree(rendered1) || tree("rendered-prod-weu-1") != tree(rendered2) {
		t.Error("rolling neu-1 back must move neu-1 alone to the first render")
	}
	// Pinning it again to the render it runs moves nothing, and says
	// which render that is.
	again, err := pin.Run(ctx)
	if err != nil || len(again.Moved) != 0 || again.Pinned != "prod/neu-1" || again.Source != a || again.Rendered == "" {
		t.Errorf("pinning neu-1 to the render it runs = %+v, %v; want nothing moved, naming prod/neu-1 and the render of %s", again, err, a)
	}

	// History says where each stamp stands.
	hist, err := (&History{Config: cfg, Remote: "origin", Branch: "rendered", Env: "prod"}).Run(ctx)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	if hist[0].Source != b || strings.Join(hist[0].Stamps, ",") != "prod/weu-1" || strings.Join(hist[1].Stamps, ",") != "prod/neu-1" {
		t.Errorf("history stamps: newest %v (source %s), oldest %v; want weu-1 on the bump, neu-1 on the first render", hist[0].Stamps, hist[0].Source, hist[1].Stamps)
	}

	// A rollback of everything (publish --source) is the emergency path:
	// it reaches every stamp of every wave at once, with no soak.
	back, err := (&Publish{Config: cfg, Remote: "origin", Branch: "rendered", Today: today, Source: a}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tree("rendered-prod-weu-1") != tree(rendered1) || tree("rendered-prod-neu-1") != tree(rendered1) || tree("rendered-dev-weu-1") != tree(rendered1) {
		t.Errorf("publish --source %s moved %+v; want every stamp on the first render's tree", a, back.Stamps)
	}
}
