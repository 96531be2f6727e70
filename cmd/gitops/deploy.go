package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/blobcache"
	"github.com/libertum/platform-gitops/generator/report"
)

// runValidate has a real API server judge every rendered object.
func runValidate(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "validate", "gitops validate --server KUBECONFIG [--env NAME]... [--format text|json]", "gitops validate --server /tmp/e2e/kubeconfig --env prod")
	a := &action.Validate{Config: f.config(s, true)}
	f.StringVar(&a.Kubeconfig, "server", "", "kubeconfig of a throwaway API server (required; namespaces and CRDs are created there)")
	envs := f.envs("environment to validate")
	format := f.format(report.TextJSON)
	if code, done := f.parse(args, 0, 0, "server"); done {
		return code
	}
	a.Envs = *envs
	out, err := a.Run(ctx)
	if err == nil {
		err = report.Validation(s.out, *format, out.Result, out.Envs, out.Stamps)
	}
	return s.exit("validate", err, func() bool { return len(out.Rejected) > 0 })
}

func runPublish(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "publish", "gitops publish [--branch rendered] [--remote origin] [--source SHA] [--proposed]", "gitops publish --source 1a2b3c4d")
	a := &action.Publish{Config: f.config(s, true), Today: time.Now()}
	f.StringVar(&a.Branch, "branch", "rendered", "branch Argo CD syncs from")
	f.StringVar(&a.Remote, "remote", "origin", "remote to push to")
	f.StringVar(&a.Source, "source", "", "publish this commit's render instead of the working tree's (rollback)")
	f.IntVar(&a.Retries, "retries", 3, "push attempts when the remote moved")
	f.BoolVar(&a.Proposed, "proposed", false, "write every stamp's proposed branch (BRANCH-next, gitops-promoter's hydrator contract) and move no stamp: a promotion gates each")
	if code, done := f.parse(args, 0, 0); done {
		return code
	}
	res, err := a.Run(ctx)
	var failed *action.VerifyError
	switch {
	case errors.As(err, &failed):
		_ = report.Text(s.err, failed.Report)
		fmt.Fprintf(s.err, "gitops publish: %v\n", err)
		return exitFindings
	case err != nil:
		return s.fail("publish", err)
	}
	report.Published(s.out, a.Remote, a.Branch, res)
	return exitOK
}

func runHistory(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "history", "gitops history [--env NAME] [--branch rendered] [--remote origin] [--format text|json]", "gitops history --env prod")
	a := &action.History{Config: f.config(s, false)}
	f.StringVar(&a.Branch, "branch", "rendered", "rendered branch")
	f.StringVar(&a.Remote, "remote", "origin", "remote holding it")
	f.StringVar(&a.Env, "env", "", "only commits that changed this environment")
	format := f.format(report.TextJSON)
	if code, done := f.parse(args, 0, 0); done {
		return code
	}
	entries, err := a.Run(ctx)
	if err == nil {
		err = report.History(s.out, *format, entries)
	}
	return s.exit("history", err, nil)
}

// runCache is `gitops cache`: where the cache is, how big, and pruning it.
func runCache(_ context.Context, s *streams, args []string) int {
	f := newFlags(s, "cache", "gitops cache [--cache-dir DIR] dir|stats|prune [--older-than 720h]|keygen", "gitops cache prune --older-than 168h")
	a := &action.Cache{}
	f.StringVar(&a.Dir, "cache-dir", "", "the cache (default $GITOPS_CACHE_DIR or the user cache dir)")
	f.StringVar(&a.URL, "cache-url", "", "the remote tier stats also counts (default $GITOPS_CACHE_URL)")
	age := f.Duration("older-than", 30*24*time.Hour, "prune: remove entries not used for this long")
	if code, done := f.parse(args, 1, 1); done {
		return code
	}
	if a.URL != "" {
		if err := blobcache.CheckURL(a.URL); err != nil {
			fmt.Fprintf(s.err, "gitops cache: %v\n", err)
			f.Usage()
			return exitError
		}
	}
	sub := f.args[0]
	a.Op, a.OlderThan = sub, *age
	st, err := a.Run()
	if err != nil {
		// The usage answers a wrong operation, not a cache that fails.
		var op *action.OperationError
		if errors.As(err, &op) {
			f.Usage()
		}
		return s.fail("cache", err)
	}
	switch sub {
	case "dir":
		fmt.Fprintln(s.out, st.Dir)
	case "stats":
		fmt.Fprintf(s.out, "%s: %d entries, %d bytes\n", st.Dir, st.Entries, st.Bytes)
		if r := st.Remote; r != nil {
			fmt.Fprintf(s.out, "%s (remote): %d entries, %d bytes\n", r.URL, r.Entries, r.Bytes)
		}
	case "keygen":
		fmt.Fprintf(s.out, "# the protected branch's jobs only (a CI secret): they sign what they write to the shared cache\n%s=%s\n", action.EnvCacheSigningKey, st.SigningKey)
		fmt.Fprintf(s.out, "# every reader: shared entries not signed with the key above are refused\n%s=%s\n", action.EnvCacheVerifyKey, st.VerifyKey)
	default:
		fmt.Fprintf(s.out, "removed %d files (%d bytes) not used for %s from %s\n", st.Entries, st.Bytes, *age, st.Dir)
	}
	return exitOK
}

func runRollout(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "rollout", "gitops rollout --env ENV [--now] [--stamp STAMP --to SOURCE] [--branch rendered] [--remote origin]", "gitops rollout --env prod")
	a := &action.Rollout{Config: f.config(s, false), Now: time.Now()}
	f.StringVar(&a.Env, "env", "", "environment whose next wave of stamps moves")
	f.BoolVar(&a.Force, "now", false, "move without waiting for the previous wave's soak time")
	f.StringVar(&a.Stamp, "stamp", "", "with --to: move this stamp alone (a per-stamp rollback)")
	f.StringVar(&a.To, "to", "", "with --stamp: the source (or rendered) commit the stamp takes")
	f.StringVar(&a.Branch, "branch", "rendered", "rendered branch the stamp branches follow")
	f.StringVar(&a.Remote, "remote", "origin", "remote holding them")
	format := f.format(report.TextJSON)
	if code, done := f.parse(args, 0, 0, "env"); done {
		return code
	}
	res, err := a.Run(ctx)
	var soak *action.SoakError
	if errors.As(err, &soak) {
		fmt.Fprintf(s.err, "gitops rollout: %v\n", err)
		return exitFindings
	}
	if err == nil {
		err = report.Rollout(s.out, *format, res)
	}
	return s.exit("rollout", err, nil)
}

// runVerifyProvenance checks one rendered commit against its provenance
// and a fresh render of its source.
func runVerifyProvenance(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "verify-provenance", "gitops verify-provenance [--remote origin] [--protected main] [--format text|json] REV", "gitops verify-provenance --remote origin --protected origin/main rendered-prod-weu-1")
	a := &action.VerifyProvenance{Config: f.config(s, false)}
	f.StringVar(&a.Remote, "remote", "", "fetch REV from this remote first")
	f.StringVar(&a.Protected, "protected", "main", "the reviewed branch: its environments name the trusted keys, keys/ holds them, and the source must be its ancestor")
	format := f.format(report.TextJSON)
	if code, done := f.parse(args, 1, 1); done {
		return code
	}
	a.Rev = f.args[0]
	rep, err := a.Run(ctx)
	if err == nil {
		err = report.Provenance(s.out, *format, rep)
	}
	return s.exit("verify-provenance", err, func() bool { return rep.Failed() })
}

func runImages(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "images", "gitops images --env ENV [--format text|json|az]", "gitops images --env prod --format az | bash")
	a := &action.Images{Config: f.config(s, false)}
	f.StringVar(&a.Env, "env", "", "environment whose images to list")
	format := f.format(report.ImageFormats)
	if code, done := f.parse(args, 0, 0, "env"); done {
		return code
	}
	imgs, err := a.Run(ctx)
	if err == nil {
		err = report.Images(s.out, *format, imgs)
	}
	return s.exit("images", err, func() bool { return slices.ContainsFunc(imgs, func(i action.Image) bool { return i.Problem != "" }) })
}
