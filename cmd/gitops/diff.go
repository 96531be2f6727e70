package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/report"
	"github.com/libertum/platform-gitops/generator/review"
)

func runDiff(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := review.Options{Today: time.Now()}
	var envs listFlag
	fs.StringVar(&o.Root, "root", ".", "the working tree (a git repository)")
	fs.StringVar(&o.Base, "base", "", "git ref to compare with, e.g. origin/main (required)")
	fs.Var(&envs, "env", "environment to compare (repeatable; default all)")
	fs.IntVar(&o.Workers, "jobs", 0, "parallel workers (default: number of CPUs)")
	var cf cacheFlags
	cf.register(fs)
	var since sinceFlag
	since.register(fs, "(usually the --base)")
	format := fs.String("format", "text", "output format: "+strings.Join(report.ReviewFormats, ", "))
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if o.Base == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: gitops diff --base REF [--env NAME]... [--format text|json|markdown]")
		return exitError
	}
	if !slices.Contains(report.ReviewFormats, *format) {
		fmt.Fprintf(stderr, "gitops diff: --format %q: want one of %s\n", *format, strings.Join(report.ReviewFormats, ", "))
		return exitError
	}
	o.Envs = envs
	o.Cache = cf.open()
	sel, err := since.selector(ctx, o.Root, "diff", stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gitops diff: %v\n", err)
		return exitError
	}
	o.Select = sel
	r, err := review.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "gitops diff: %v\n", err)
		return exitError
	}
	if err := report.WriteReview(stdout, *format, r); err != nil {
		fmt.Fprintf(stderr, "gitops diff: %v\n", err)
		return exitError
	}
	// A diff is information: it fails only when the change introduces violations.
	if len(r.Introduced) > 0 {
		return exitFindings
	}
	return exitOK
}
