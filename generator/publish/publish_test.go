package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/check"
	"github.com/libertum/platform-gitops/generator/diff"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/gittest"
)

var today = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// testOptions are what a publish test varies: the checkout, the remote
// and --source, beside the target's options and hooks.
type testOptions struct {
	Options
	Root, Remote, Source string
}

func opts(work string) testOptions {
	return testOptions{Options: Options{Branch: "rendered"}, Root: work, Remote: "origin"}
}

// run publishes as gitops publish does: the target the remote names, the
// source checked out, its render verified (verifyCheck), then published.
func run(ctx context.Context, o testOptions) (*Result, error) {
	target, err := Open(o.Root, o.Remote)
	if err != nil {
		return nil, err
	}
	src, err := Checkout(ctx, o.Root, o.Source)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	files, err := verifyCheck(ctx, src.Root, !src.Rollback)
	if err != nil {
		return nil, err
	}
	return target.Publish(ctx, src, files, o.Options)
}

// verifyFailed is what verifyCheck refuses a publish with: denied
// findings, or files that drifted from the committed tree.
type verifyFailed struct {
	denied int
	drift  []diff.File
}

func (e *verifyFailed) Error() string { return "verify failed" }

// verifyCheck is the check gitops publish runs (action.Verify, which
// imports this package): render, the check step, and drift unless it is a
// rollback.
func verifyCheck(ctx context.Context, root string, drift bool) ([]layout.File, error) {
	ws := workspace.Open(root)
	p, err := plan.New(ws, plan.Options{})
	if err != nil {
		return nil, err
	}
	res, err := render.Run(ctx, p, render.Options{})
	if err != nil {
		return nil, err
	}
	findings, err := check.New(ws, check.Options{Today: today}).Render(ctx, res)
	if err != nil {
		return nil, err
	}
	failed := &verifyFailed{}
	for _, f := range findings {
		if f.Level == policy.Deny {
			failed.denied++
		}
	}
	if drift {
		committed, err := ws.Committed()
		if err != nil {
			return nil, err
		}
		if failed.drift, err = diff.Trees(committed.Files(res.EnvNames()), res.Files()); err != nil {
			return nil, err
		}
	}
	if failed.denied > 0 || len(failed.drift) > 0 {
		return nil, failed
	}
	return res.Files(), nil
}

func publish(t *testing.T, o testOptions) *Result {
	t.Helper()
	res, err := run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// bumpDevAPI changes dev's api image tag, re-renders and commits: the daily
// image bump.
func bumpDevAPI(t *testing.T, work, tag string) string {
	t.Helper()
	return bumpDevAPIFrom(t, work, "9f2c4e1a7b3d", tag)
}

// bumpDevAPIFrom is bumpDevAPI from another tag than the platform's.
func bumpDevAPIFrom(t *testing.T, work, from, tag string) string {
	t.Helper()
	p := filepath.Join(work, "environments", "dev.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "tag: "+from+" # api commit", "tag: "+tag+" # api commit", 1)
	if s == string(b) {
		t.Fatal("dev.yaml has no api tag to bump")
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	pl, err := plan.New(workspace.Open(work), plan.Options{Envs: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Run(context.Background(), pl, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := layout.Replace(filepath.Join(work, layout.Dir), res.EnvNames(), res.Files()); err != nil {
		t.Fatal(err)
	}
	return gittest.Commit(t, work, "Bump api in dev from "+from+" to "+tag)
}

func TestPublishLifecycle(t *testing.T) {
	work, remote := gittest.Platform(t)
	a := gittest.Git(t, work, "rev-parse", "HEAD")

	first := publish(t, opts(work))
	if !first.Created || first.Unchanged || first.Source != a {
		t.Fatalf("first publish = %+v, want the branch created from %s", first, a)
	}
	if got := gittest.Git(t, remote, "rev-parse", "refs/heads/rendered"); got != first.Commit {
		t.Errorf("remote rendered = %s, want %s", got, first.Commit)
	}
	msg := gittest.Git(t, remote, "log", "-1", "--format=%B", "rendered")
	if !strings.Contains(msg, "Source-Commit: "+a) || !strings.Contains(msg, "Environments: dev, prod") {
		t.Errorf("commit message lacks the trailers:\n%s", msg)
	}
	// The branch holds rendered/'s contents at its root, byte for byte.
	want, err := layout.Read(filepath.Join(work, layout.Dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range strings.Split(gittest.Git(t, remote, "ls-tree", "-r", "--name-only", "rendered"), "\n") {
		if f != MetadataFile {
			listed = append(listed, f)
		}
	}
	// The hydrator contract: the source ("dry") commit at the root.
	if meta := gittest.Git(t, remote, "show", "rendered:"+MetadataFile); !strings.Contains(meta, `"drySha": "`+a+`"`) {
		t.Errorf("%s does not name the source commit %s:\n%s", MetadataFile, a, meta)
	}
	if len(listed) != len(want) || listed[0] != want[0].Path {
		t.Errorf("branch has %d files (first %s), rendered/ has %d (first %s)", len(listed), listed[0], len(want), want[0].Path)
	}
	if got := gittest.Git(t, remote, "show", "rendered:"+want[0].Path); got != strings.TrimSpace(string(want[0].Data)) {
		t.Errorf("%s differs on the branch", want[0].Path)
	}

	again := publish(t, opts(work))
	if !again.Unchanged || again.Commit != first.Commit {
		t.Errorf("unchanged publish = %+v, want no commit", again)
	}
	if n := gittest.Git(t, remote, "rev-list", "--count", "rendered"); n != "1" {
		t.Errorf("rendered has %s commits after an unchanged publish, want 1", n)
	}

	b := bumpDevAPI(t, work, "0a1b2c3d4e5f")
	second := publish(t, opts(work))
	if second.Unchanged || strings.Join(second.Envs, ",") != "dev" {
		t.Errorf("publish after a dev change = %+v, want one commit for dev", second)
	}
	if n := gittest.Git(t, remote, "rev-list", "--count", "rendered"); n != "2" {
		t.Errorf("rendered has %s commits, want 2", n)
	}
	if got := gittest.Git(t, remote, "log", "-1", "--format=%(trailers:key=Source-Commit,valueonly)", "rendered"); got != b {
		t.Errorf("Source-Commit = %q, want %s", got, b)
	}

	hist, err := History(context.Background(), work, "origin", "rendered", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Source != b || hist[1].Source != a || strings.Join(hist[0].Envs, ",") != "dev" {
		t.Errorf("history = %+v", hist)
	}
	prod, err := History(context.Background(), work, "origin", "rendered", "prod")
	if err != nil || len(prod) != 1 || prod[0].Source != a {
		t.Errorf("prod history = %+v, %v; want only the first publish", prod, err)
	}
}

// TestPublishSurvivesConcurrentPush: the remote moves between our commit
// and our push; the publish builds on the new tip and neither commit is lost.
func TestPublishSurvivesConcurrentPush(t *testing.T) {
	work, remote := gittest.Platform(t)
	publish(t, opts(work))

	other := filepath.Join(t.TempDir(), "other")
	gittest.Git(t, filepath.Dir(other), "clone", "--quiet", remote, other)
	gittest.Configure(t, other)

	bumpDevAPI(t, work, "0a1b2c3d4e5f")
	o := opts(work)
	var theirs string
	o.BeforePush = func(attempt int) {
		if attempt != 1 {
			return
		}
		gittest.Git(t, other, "fetch", "--quiet", "origin", "rendered")
		gittest.Git(t, other, "checkout", "--quiet", "-b", "rendered", "origin/rendered")
		if err := os.WriteFile(filepath.Join(other, "NOTICE"), []byte("pushed by someone else\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		theirs = gittest.Commit(t, other, "A concurrent commit")
		gittest.Git(t, other, "push", "--quiet", "origin", "rendered")
	}
	res := publish(t, o)
	if res.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (one rejected push, one retry)", res.Attempts)
	}
	tip := gittest.Git(t, remote, "rev-parse", "rendered")
	if tip != res.Commit {
		t.Errorf("remote tip %s, want our commit %s", tip, res.Commit)
	}
	if parent := gittest.Git(t, remote, "rev-parse", "rendered^"); parent != theirs {
		t.Errorf("our commit's parent is %s, want the concurrent commit %s", parent, theirs)
	}
}

func TestPublishRefuses(t *testing.T) {
	work, remote := gittest.Platform(t)

	if err := os.WriteFile(filepath.Join(work, "environments", "scratch.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run(context.Background(), opts(work))
	var dirty *DirtyError
	if !errors.As(err, &dirty) || !strings.Contains(err.Error(), "environments/scratch.txt") {
		t.Errorf("dirty tree: err = %v, want a DirtyError naming the file", err)
	}
	os.Remove(filepath.Join(work, "environments", "scratch.txt"))

	// A hand edit under rendered/, committed: verify reports drift.
	p := filepath.Join(work, "rendered", "prod", "weu-1", "api", "Service_api.yaml")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), "port: 80", "port: 81", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Commit(t, work, "Hand-edit a rendered file")
	_, err = run(context.Background(), opts(work))
	var failed *verifyFailed
	if !errors.As(err, &failed) || len(failed.drift) != 1 {
		t.Errorf("failing verify: err = %v, want the check's error with one drifted file", err)
	}
	if gittest.Git(t, remote, "branch", "--list", "rendered") != "" {
		t.Error("a refused publish created the rendered branch")
	}
}

// TestOpenPicksATargetByScheme: every git remote opens the git target; a
// scheme no target serves is refused, naming it.
func TestOpenPicksATargetByScheme(t *testing.T) {
	for _, remote := range []string{"origin", "/srv/git/platform.git", "file:///srv/git/platform.git", "ssh://git@github.com/libertum/platform-gitops.git", "https://github.com/libertum/platform-gitops.git", "git@github.com:libertum/platform-gitops.git"} {
		if tg, err := Open(t.TempDir(), remote); err != nil {
			t.Errorf("Open(%q): %v", remote, err)
		} else if _, ok := tg.(*gitTarget); !ok {
			t.Errorf("Open(%q) = %T, want the git target", remote, tg)
		}
	}
	for _, remote := range []string{"oci://acr.azurecr.io/rendered", ""} {
		if _, err := Open(t.TempDir(), remote); err == nil {
			t.Errorf("Open(%q) gave no error", remote)
		}
	}
	if _, err := Open(".", "s3://bucket/rendered"); err == nil || !strings.Contains(err.Error(), "s3://") {
		t.Errorf("Open(s3://...) = %v, want an error naming the scheme", err)
	}
}

// TestRollback: publish A, publish B, publish --source A gives a new commit
// whose tree is A's, byte for byte, with history kept.
func TestRollback(t *testing.T) {
	work, remote := gittest.Platform(t)
	a := gittest.Git(t, work, "rev-parse", "HEAD")
	pa := publish(t, opts(work))
	bumpDevAPI(t, work, "0a1b2c3d4e5f")
	pb := publish(t, opts(work))

	o := opts(work)
	o.Source = a[:10]
	back := publish(t, o)
	if back.Unchanged || back.Source != a {
		t.Fatalf("rollback = %+v, want a new commit from %s", back, a)
	}
	treeA := gittest.Git(t, remote, "rev-parse", pa.Commit+"^{tree}")
	treeBack := gittest.Git(t, remote, "rev-parse", back.Commit+"^{tree}")
	if treeA != treeBack {
		t.Errorf("rolled-back tree %s differs from A's %s", treeBack, treeA)
	}
	if parent := gittest.Git(t, remote, "rev-parse", back.Commit+"^"); parent != pb.Commit {
		t.Errorf("rollback's parent %s, want B's publish %s (history is never rewritten)", parent, pb.Commit)
	}
	if wt := gittest.Git(t, work, "worktree", "list"); strings.Count(wt, "\n") != 0 {
		t.Errorf("temporary worktree left behind:\n%s", wt)
	}
}

// TestConcurrentPublishesNeverMoveAStampBack: publish A pushes its render;
// before it moves the stamps, publish B of a later commit pushes its own
// render on top and moves them. A must leave them on B's render, not take
// them back to its own.
func TestConcurrentPublishesNeverMoveAStampBack(t *testing.T) {
	_, remote, other, o := twoPublishers(t)
	stamps := o.Stamps

	var theirs *Result
	a := o
	a.BeforeMove = func() {
		theirs = publishLater(t, other, stamps)
	}
	ours := publish(t, a)
	if theirs == nil || len(theirs.Stamps) != 1 {
		t.Fatalf("the concurrent publish moved %v, want dev/weu-1", theirs)
	}
	if len(ours.Stamps) != 0 {
		t.Errorf("the older publish moved %v after the newer one", ours.Stamps)
	}
	if got, want := gittest.Git(t, remote, "rev-parse", "rendered-dev-weu-1^{tree}"), gittest.Git(t, remote, "rev-parse", theirs.Commit+"^{tree}"); got != want {
		t.Errorf("dev/weu-1 runs tree %s, want the later render's %s", got, want)
	}
	if got := gittest.Git(t, remote, "rev-parse", "rendered"); got != theirs.Commit {
		t.Errorf("rendered is at %s, want the later render %s", got, theirs.Commit)
	}
}

// TestOlderPublishLosesTheRace: publish A of a commit is rejected because
// publish B of a later commit pushed first; A's retry must not render the
// older commit on top (which would take every stamp back).
func TestOlderPublishLosesTheRace(t *testing.T) {
	_, remote, other, o := twoPublishers(t)
	stamps := o.Stamps

	var theirs *Result
	a := o
	a.BeforePush = func(attempt int) {
		if attempt != 1 {
			return
		}
		theirs = publishLater(t, other, stamps)
	}
	ours := publish(t, a)
	if ours.Superseded != theirs.Source || len(ours.Stamps) != 0 {
		t.Errorf("older publish: superseded by %q, moved %v; want superseded by %s, nothing moved", ours.Superseded, ours.Stamps, theirs.Source)
	}
	if got := gittest.Git(t, remote, "rev-parse", "rendered"); got != theirs.Commit {
		t.Errorf("rendered is at %s, want the later render %s", got, theirs.Commit)
	}
	if got, want := gittest.Git(t, remote, "rev-parse", "rendered-dev-weu-1^{tree}"), gittest.Git(t, remote, "rev-parse", theirs.Commit+"^{tree}"); got != want {
		t.Errorf("dev/weu-1 runs tree %s, want the later render's %s", got, want)
	}
}

// twoPublishers publishes a platform with dev/weu-1 as its stamp, bumps
// dev's api in work (pushed to main, not yet published) and clones the
// remote into other: two checkouts about to publish.
func twoPublishers(t *testing.T) (work, remote, other string, o testOptions) {
	t.Helper()
	work, remote = gittest.Platform(t)
	o = opts(work)
	o.Stamps = []Stamp{{Env: "dev", Name: "weu-1", Branch: "rendered-dev-weu-1"}}
	publish(t, o)
	bumpDevAPI(t, work, "0a1b2c3d4e5f")
	gittest.Git(t, work, "push", "--quiet", "origin", "HEAD:main")
	other = filepath.Join(t.TempDir(), "other")
	gittest.Git(t, filepath.Dir(other), "clone", "--quiet", remote, other)
	gittest.Configure(t, other)
	return work, remote, other, o
}

// publishLater commits a later bump of dev's api in other, on top of what
// work pushed, and publishes it with stamps.
func publishLater(t *testing.T, other string, stamps []Stamp) *Result {
	t.Helper()
	bumpDevAPIFrom(t, other, "0a1b2c3d4e5f", "1b2c3d4e5f6a")
	gittest.Git(t, other, "push", "--quiet", "origin", "HEAD:main")
	b := opts(other)
	b.Stamps = stamps
	return publish(t, b)
}

// TestProposedBranchesForAPromoter: with Proposed, a publish writes the
// render to every stamp's proposed branch (BRANCH-next, gitops-promoter's
// hydrator contract), in every wave, with hydrator.metadata naming the
// source commit and its message, and moves no stamp branch; an unchanged
// render adds no commit there; a later render, and a rollback, are new
// commits on top.
func TestProposedBranchesForAPromoter(t *testing.T) {
	work, remote := gittest.Platform(t)
	a := gittest.Git(t, work, "rev-parse", "HEAD")
	o := opts(work)
	o.Proposed = true
	o.Stamps = []Stamp{{Env: "dev", Name: "weu-1", Branch: "rendered-dev-weu-1"}}
	o.Later = []Stamp{{Env: "prod", Name: "neu-1", Branch: "rendered-prod-neu-1"}}
	first := publish(t, o)
	if !first.Proposed || len(first.Stamps) != 2 {
		t.Fatalf("publish = %+v, want both stamps proposed", first)
	}
	branches := gittest.Git(t, remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
	for _, s := range append(o.Stamps, o.Later...) {
		if strings.Contains(branches+"\n", "\n"+s.Branch+"\n") {
			t.Errorf("%s moved: a proposed publish leaves the stamps to the promoter", s.Branch)
		}
		next := s.Branch + ProposedSuffix
		if got, want := gittest.Git(t, remote, "rev-parse", next+"^{tree}"), gittest.Git(t, remote, "rev-parse", "rendered^{tree}"); got != want {
			t.Errorf("%s holds tree %s, want the render's %s", next, got, want)
		}
		meta := gittest.Git(t, remote, "show", next+":"+MetadataFile)
		subject := gittest.Git(t, work, "log", "-1", "--format=%s", a)
		for _, want := range []string{`"drySha": "` + a + `"`, `"subject": "` + subject + `"`, `"author": "`} {
			if !strings.Contains(meta, want) {
				t.Errorf("%s's %s lacks %s:\n%s", next, MetadataFile, want, meta)
			}
		}
	}
	next := "rendered-prod-neu-1" + ProposedSuffix
	again := publish(t, o)
	if again.Proposed && len(again.Stamps) != 0 {
		t.Errorf("an unchanged render proposed again: %+v", again.Stamps)
	}
	if n := gittest.Git(t, remote, "rev-list", "--count", next); n != "1" {
		t.Errorf("%s has %s commits after an unchanged publish, want 1", next, n)
	}
	bumpDevAPI(t, work, "0a1b2c3d4e5f")
	later := publish(t, o)
	if len(later.Stamps) != 2 || gittest.Git(t, remote, "rev-parse", next+"^{tree}") != gittest.Git(t, remote, "rev-parse", later.Commit+"^{tree}") {
		t.Errorf("a later render was not proposed to every stamp: %+v", later.Stamps)
	}
	o.Source = a
	back := publish(t, o)
	if len(back.Stamps) != 2 || gittest.Git(t, remote, "rev-parse", next+"^{tree}") != gittest.Git(t, remote, "rev-parse", first.Commit+"^{tree}") {
		t.Errorf("a rollback was not proposed to every stamp: %+v", back.Stamps)
	}
	if n := gittest.Git(t, remote, "rev-list", "--count", next); n != "3" {
		t.Errorf("%s has %s commits, want 3 (history kept, never forced)", next, n)
	}
}
