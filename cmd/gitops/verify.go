package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/report"
	"github.com/libertum/platform-gitops/generator/verify"
)

// verifyConfig is what `gitops verify` was asked to do.
type verifyConfig struct {
	root    string
	envs    []string
	workers int
	format  string
	today   time.Time
	cache   cacheFlags
	since   sinceFlag
}

// parseFormat checks a --format value.
func parseFormat(f string) error {
	if !slices.Contains(report.Formats, f) {
		return fmt.Errorf("--format %q: want one of %s", f, strings.Join(report.Formats, ", "))
	}
	return nil
}

func parseVerify(args []string, stderr io.Writer, now time.Time) (verifyConfig, error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := verifyConfig{today: now}
	var envs listFlag
	var today string
	fs.StringVar(&c.root, "root", ".", "repo root")
	fs.Var(&envs, "env", "environment to verify (repeatable; default all)")
	fs.IntVar(&c.workers, "jobs", 0, "parallel workers (default: number of CPUs)")
	fs.StringVar(&c.format, "format", "text", "output format: "+strings.Join(report.Formats, ", "))
	c.cache.register(fs)
	c.since.register(fs, "")
	fs.StringVar(&today, "today", "", "judge exception expiry as of this date (YYYY-MM-DD; default today)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("verify takes no arguments, got %q", fs.Args())
	}
	if err := parseFormat(c.format); err != nil {
		return c, err
	}
	if today != "" {
		t, err := time.Parse(time.DateOnly, today)
		if err != nil {
			return c, fmt.Errorf("--today %q: want YYYY-MM-DD", today)
		}
		c.today = t
	}
	c.envs = envs
	return c, nil
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseVerify(args, stderr, time.Now())
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "gitops verify: %v\n", err)
		return exitError
	}
	sel, err := c.since.selector(ctx, c.root, "verify", stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gitops verify: %v\n", err)
		return exitError
	}
	rep, err := verify.Run(ctx, verify.Options{Root: c.root, Envs: c.envs, Workers: c.workers, Today: c.today, Drift: true, Cache: c.cache.open(), Select: sel})
	if err == nil && sel != nil {
		fmt.Fprintf(stderr, "gitops verify: rendered %d units, %d from the cache, %d unaffected read from rendered/\n", rep.Rendered, rep.Cached, rep.Reused)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gitops verify: %v\n", err)
		return exitError
	}
	if err := report.Write(stdout, c.format, rep); err != nil {
		fmt.Fprintf(stderr, "gitops verify: %v\n", err)
		return exitError
	}
	if rep.Failed() {
		return exitFindings
	}
	return exitOK
}
