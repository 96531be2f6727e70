package main

import (
	"context"
	"fmt"

	"github.com/libertum/platform-gitops/generator/action"
)

// runSetImage pins component images in one environment file.
func runSetImage(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "set-image", "gitops set-image --env NAME [--render] COMPONENT=TAG|COMPONENT/IMAGE=TAG...", "gitops set-image --env dev --render api=9f2c4e1a7b3d")
	a := &action.SetImage{Config: f.config(s, true)}
	f.StringVar(&a.Env, "env", "", "environment to change (required)")
	f.BoolVar(&a.Render, "render", false, "re-render the environment into rendered/ afterwards")
	if code, done := f.parse(args, 1, -1); done {
		return code
	}
	a.Changes = f.args
	res, err := a.Run(ctx)
	return reportEdits(s, "set-image", res, err)
}

// runPromote gives one environment the image tags another runs.
func runPromote(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "promote", "gitops promote --from ENV --to ENV [--render] [COMPONENT...]", "gitops promote --from staging --to prod api web")
	a := &action.Promote{Config: f.config(s, true)}
	f.StringVar(&a.From, "from", "", "environment whose tags to copy (required)")
	f.StringVar(&a.To, "to", "", "environment to change (required)")
	f.BoolVar(&a.Render, "render", false, "re-render the target environment into rendered/ afterwards")
	if code, done := f.parse(args, 0, -1); done {
		return code
	}
	a.Components = f.args
	res, err := a.Run(ctx)
	return reportEdits(s, "promote", res, err)
}

func reportEdits(s *streams, cmd string, res *action.EditResult, err error) int {
	if err != nil {
		return s.fail(cmd, err)
	}
	if len(res.Edits) == 0 {
		fmt.Fprintf(s.out, "%s: nothing changed: %s\n", res.File, res.Unchanged)
		return exitOK
	}
	for _, e := range res.Edits {
		fmt.Fprintf(s.out, "%s:%d: %s %s: %s -> %s\n", res.File, e.Line, e.Component, e.Image, e.Old, e.New)
	}
	if res.Rendered {
		fmt.Fprintln(s.out, "rendered", res.Env)
	} else {
		fmt.Fprintln(s.out, "run gitops render to update rendered/")
	}
	return exitOK
}
