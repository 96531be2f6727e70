package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/report"
	"github.com/libertum/platform-gitops/generator/verify"
)

func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage: gitops policy check --env NAME FILE... | gitops policy test\n")
		return exitError
	}
	switch args[0] {
	case "check":
		return runPolicyCheck(ctx, args[1:], stdout, stderr)
	case "test":
		return runPolicyTest(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "gitops policy: unknown subcommand %q (want check or test)\n", args[0])
	return exitError
}

// runPolicyCheck runs the platform's policies on arbitrary manifests, as
// conftest does, with the named environment's spec as context.
func runPolicyCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "repo root")
	env := fs.String("env", "", "environment whose spec the policies judge against (required)")
	format := fs.String("format", "text", "output format: "+strings.Join(report.Formats, ", "))
	if code, done := parseFlags(fs, args); done {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "gitops policy check: %v\n", err)
		return exitError
	}
	if *env == "" || fs.NArg() == 0 {
		return fail(errors.New("usage: gitops policy check --env NAME FILE..."))
	}
	if err := parseFormat(*format); err != nil {
		return fail(err)
	}
	envs, err := render.LoadEnvironments(*root, []string{*env})
	if err != nil {
		return fail(err)
	}
	engine, err := policy.Load(filepath.Join(*root, policy.Dir))
	if err != nil {
		return fail(err)
	}
	exceptions, err := policy.LoadExceptions(filepath.Join(*root, policy.Dir, policy.ExceptionsFile))
	if err != nil {
		return fail(err)
	}
	var inputs []policy.Input
	rep := &verify.Report{Envs: []string{*env}}
	for _, file := range fs.Args() {
		data, err := os.ReadFile(file)
		if err != nil {
			return fail(err)
		}
		objs, err := manifest.Decode(file, data)
		if err != nil {
			return fail(err)
		}
		for _, o := range objs {
			labels := manifest.Labels(o)
			in := policy.Input{Stamp: labels["libertum.io/stamp"], Component: labels["app.kubernetes.io/name"], File: file, Object: o}
			inputs = append(inputs, in)
			rep.Objects = append(rep.Objects, verify.Object{Env: *env, Stamp: in.Stamp, Component: in.Component, File: file, Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()})
		}
	}
	findings, err := engine.Evaluate(ctx, policy.EnvironmentOf(envs[0]), inputs, 0)
	if err != nil {
		return fail(err)
	}
	rep.Findings = exceptions.Apply(findings, time.Now())
	if err := report.Write(stdout, *format, rep); err != nil {
		return fail(err)
	}
	if rep.Failed() {
		return exitFindings
	}
	return exitOK
}

// runPolicyTest runs the Rego unit tests under policies/.
func runPolicyTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "repo root")
	format := fs.String("format", "text", "output format: text or json")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	results, err := policy.Test(ctx, filepath.Join(*root, policy.Dir))
	if err != nil {
		fmt.Fprintf(stderr, "gitops policy test: %v\n", err)
		return exitError
	}
	failed := 0
	for _, r := range results {
		if !r.Pass {
			failed++
		}
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fmt.Fprintf(stderr, "gitops policy test: %v\n", err)
			return exitError
		}
	case "text":
		for _, r := range results {
			if !r.Pass {
				fmt.Fprintf(stdout, "FAIL %s %s.%s %s\n", r.Location, r.Package, r.Name, r.Error)
			}
		}
		fmt.Fprintf(stdout, "PASS: %d/%d\n", len(results)-failed, len(results))
	default:
		fmt.Fprintf(stderr, "gitops policy test: --format %q: want text or json\n", *format)
		return exitError
	}
	if failed > 0 {
		return exitFindings
	}
	return exitOK
}
