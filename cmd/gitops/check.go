package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/report"
)

func runVerify(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "verify", "gitops verify [--env NAME]... [--format F] [--changed-since REF] [--today YYYY-MM-DD]", "gitops verify --format markdown --changed-since origin/main")
	a := &action.Verify{Config: f.config(s, true)}
	envs := f.envs("environment to verify")
	format := f.format(report.Formats)
	since := f.changedSince("")
	today := f.today()
	if code, done := f.parse(args, 0, 0); done {
		return code
	}
	a.Envs, a.ChangedSince, a.Today = *envs, *since, today.t
	rep, err := a.Run(ctx)
	if err == nil {
		err = report.Write(s.out, *format, rep)
	}
	return s.exit("verify", err, func() bool { return rep.Failed() })
}

func runDiff(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "diff", "gitops diff --base REF [--env NAME]... [--format text|json|markdown] [--changed-since REF | --full]", "gitops diff --base origin/main --format markdown")
	a := &action.Diff{Config: f.config(s, true)}
	f.StringVar(&a.Base, "base", "", "git ref to compare with, e.g. origin/main (required)")
	envs := f.envs("environment to compare")
	format := f.format(report.ReviewFormats)
	since := f.changedSince("(default the --base) ")
	f.BoolVar(&a.Full, "full", false, "render every unit of both sides from its sources, reading neither side's rendered/")
	if code, done := f.parse(args, 0, 0, "base"); done {
		return code
	}
	a.Envs, a.ChangedSince = *envs, *since
	if a.Full && a.ChangedSince != "" {
		fmt.Fprintln(f.Output(), "gitops diff: --full renders every unit, --changed-since limits them: give one")
		f.Usage()
		return exitError
	}
	r, err := a.Run(ctx)
	if err == nil {
		err = report.WriteReview(s.out, *format, r)
	}
	// A diff is information: it fails only when the change introduces violations.
	return s.exit("diff", err, func() bool { return len(r.Introduced) > 0 })
}

func runPolicy(ctx context.Context, s *streams, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return runPolicyCheck(ctx, s, args[1:])
		case "test":
			return runPolicyTest(ctx, s, args[1:])
		}
	}
	fmt.Fprint(s.err, "usage: gitops policy check --env NAME FILE|DIR|-... | gitops policy test\n\nexample:\n  gitops policy check --env prod rendered/prod/weu-1\n")
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		return exitOK
	}
	return exitError
}

// runPolicyCheck runs verify's check step on arbitrary manifests, as
// conftest does. Broken documents are reported on stderr with file and
// line (exit 2) after the others are checked and reported.
func runPolicyCheck(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "policy check", "gitops policy check --env NAME [--format F] FILE|DIR|-...", "helm template ./chart | gitops policy check --env prod -")
	a := &action.PolicyCheck{Config: f.config(s, false), Stdin: s.in}
	f.StringVar(&a.Env, "env", "", "environment whose spec the policies judge against (required)")
	format := f.format(report.Formats)
	today := f.today()
	if code, done := f.parse(args, 1, -1, "env"); done {
		return code
	}
	a.Paths, a.Today = f.args, today.t
	res, err := a.Run(ctx)
	if err == nil {
		err = report.Write(s.out, *format, res.Report)
	}
	if err == nil {
		for _, sk := range res.Skipped {
			fmt.Fprintf(s.err, "gitops policy check: skipped %s: %s\n", sk.Path, sk.Why)
		}
	}
	if err == nil && len(res.Broken) > 0 {
		err = errors.Join(res.Broken...) // bad input, though the rest was checked
	}
	return s.exit("policy check", err, func() bool { return res.Failed() })
}

// runPolicyTest runs the Rego unit tests under policies/.
func runPolicyTest(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "policy test", "gitops policy test [--format text|json]", "gitops policy test --format json")
	a := &action.PolicyTest{Config: f.config(s, false)}
	format := f.format(report.TextJSON)
	if code, done := f.parse(args, 0, 0); done {
		return code
	}
	results, err := a.Run(ctx)
	if err == nil {
		err = report.PolicyTests(s.out, *format, results)
	}
	return s.exit("policy test", err, results.Failed)
}
