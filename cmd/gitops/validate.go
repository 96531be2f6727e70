package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/schema"
	"github.com/libertum/platform-gitops/generator/validate"
)

// runValidate has a real API server judge every rendered object.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var envs listFlag
	root := fs.String("root", ".", "repo root")
	kubeconfig := fs.String("server", "", "kubeconfig of a throwaway API server (required; namespaces and CRDs are created there)")
	fs.Var(&envs, "env", "environment to validate (repeatable; default all)")
	workers := fs.Int("jobs", 8, "objects sent at once")
	format := fs.String("format", "text", "text or json")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "gitops validate: %v\n", err)
		return exitError
	}
	if *kubeconfig == "" || fs.NArg() > 0 {
		return fail(fmt.Errorf("usage: gitops validate --server KUBECONFIG [--env NAME]..."))
	}
	if *format != "text" && *format != "json" {
		return fail(fmt.Errorf("--format %q: want text or json", *format))
	}
	res, err := render.Run(ctx, render.Options{Root: *root, Envs: envs})
	if err != nil {
		return fail(err)
	}
	crds, err := validate.LoadCRDs(filepath.Join(*root, schema.Dir))
	if err != nil {
		return fail(err)
	}
	var inputs []validate.Input
	stamps := map[string]bool{}
	for _, u := range res.Units {
		stamps[u.Env+"/"+u.Stamp] = true
		for i, o := range u.Objects {
			inputs = append(inputs, validate.Input{Env: u.Env, Stamp: u.Stamp, Component: u.Component,
				File: path.Join(layout.Dir, u.Files[i].Path), Object: o})
		}
	}
	cfg, err := validate.Config(*kubeconfig)
	if err != nil {
		return fail(err)
	}
	out, err := validate.Run(ctx, cfg, crds, inputs, *workers)
	if err != nil {
		return fail(err)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(err)
		}
	} else {
		for _, r := range out.Rejected {
			fmt.Fprintln(stdout, r)
		}
		for _, w := range sortedWarnings(out.Warnings) {
			fmt.Fprintf(stdout, "server warning (%d objects): %s\n", out.Warnings[w], w)
		}
		rate := float64(out.Checked) / out.Elapsed.Seconds()
		fmt.Fprintf(stdout, "%d objects of %d environments (%d stamps and bootstraps) checked by kube-apiserver %s in %s (%.0f objects/s): %d rejected\n",
			out.Checked, len(res.Envs), len(stamps), out.ServerVersion, out.Elapsed.Round(time.Millisecond), rate, len(out.Rejected))
	}
	if len(out.Rejected) > 0 {
		return exitFindings
	}
	return exitOK
}

func sortedWarnings(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for w := range m {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}
