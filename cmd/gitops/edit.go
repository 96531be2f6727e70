package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/specedit"
)

// runSetImage pins component images in one environment file.
func runSetImage(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("set-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "repo root")
	env := fs.String("env", "", "environment to change (required)")
	rerender := fs.Bool("render", false, "re-render the environment into rendered/ afterwards")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "gitops set-image: %v\n", err)
		return exitError
	}
	if *env == "" || fs.NArg() == 0 {
		return fail(errors.New("usage: gitops set-image --env NAME COMPONENT=TAG... (COMPONENT/IMAGE=TAG for components with several images)"))
	}
	var changes []specedit.ImageTag
	for _, arg := range fs.Args() {
		c, err := specedit.ParseImageTag(arg)
		if err != nil {
			return fail(err)
		}
		changes = append(changes, c)
	}
	edits, err := specedit.Apply(*root, *env, changes)
	if err != nil {
		return fail(err)
	}
	return reportEdits(ctx, stdout, stderr, *root, *env, edits, *rerender)
}

// runPromote gives one environment the image tags another runs.
func runPromote(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("promote", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "repo root")
	from := fs.String("from", "", "environment whose tags to copy (required)")
	to := fs.String("to", "", "environment to change (required)")
	rerender := fs.Bool("render", false, "re-render the target environment into rendered/ afterwards")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "gitops promote: %v\n", err)
		return exitError
	}
	if *from == "" || *to == "" || *from == *to {
		return fail(errors.New("usage: gitops promote --from ENV --to ENV [COMPONENT...]"))
	}
	envs, err := render.LoadEnvironments(*root, []string{*from, *to})
	if err != nil {
		return fail(err)
	}
	src, dst := envs[0], envs[1]
	if src.Name() != *from {
		src, dst = dst, src
	}
	changes, err := specedit.Promotions(src, dst, fs.Args())
	if err != nil {
		return fail(err)
	}
	edits, err := specedit.Apply(*root, *to, changes)
	if err != nil {
		return fail(err)
	}
	return reportEdits(ctx, stdout, stderr, *root, *to, edits, *rerender)
}

func reportEdits(ctx context.Context, stdout, stderr io.Writer, root, env string, edits []specedit.Edit, rerender bool) int {
	if len(edits) == 0 {
		fmt.Fprintf(stdout, "environments/%s.yaml: every tag already set; nothing changed\n", env)
		return exitOK
	}
	for _, e := range edits {
		fmt.Fprintf(stdout, "environments/%s.yaml:%d: %s %s: %s -> %s\n", env, e.Line, e.Component, e.Image, e.Old, e.New)
	}
	if !rerender {
		fmt.Fprintln(stdout, "run gitops render to update rendered/")
		return exitOK
	}
	res, err := render.Run(ctx, render.Options{Root: root, Envs: []string{env}})
	if err == nil {
		err = layout.Replace(filepath.Join(root, layout.Dir), res.EnvNames(), res.Files())
	}
	if err != nil {
		fmt.Fprintf(stderr, "gitops: render %s: %v\n", env, err)
		return exitError
	}
	fmt.Fprintf(stdout, "rendered %s\n", env)
	return exitOK
}
