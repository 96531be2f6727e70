package main

import (
	"context"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/report"
)

func runRender(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "render", "gitops render [--env NAME]... [--jobs N] [--out DIR] [--quiet] [--format text|json]", "gitops render --env dev")
	a := &action.Render{Config: f.config(s, true)}
	envs := f.envs("environment to render")
	f.StringVar(&a.Out, "out", "", "rendered tree to replace (default <root>/rendered)")
	quiet := f.Bool("quiet", false, "print no summary")
	format := f.format(report.TextJSON)
	if code, done := f.parse(args, 0, 0); done {
		return code
	}
	a.Envs, a.Progress = *envs, report.Progress(s.err)
	res, err := a.Run(ctx)
	if err != nil {
		return s.fail("render", err)
	}
	switch {
	case *quiet:
	case *format == "json":
		err = report.RenderJSON(s.out, res.Result, res.Wall)
	default:
		report.RenderSummary(s.out, res.Result, res.Wall)
	}
	return s.exit("render", err, nil)
}
