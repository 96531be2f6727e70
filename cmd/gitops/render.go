package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/report"
)

func runRender(ctx context.Context, s *streams, args []string) int {
	f := newFlags(s, "render", "gitops render [--env NAME]... [--jobs N] [--out DIR] [--quiet]", "gitops render --env dev")
	a := &action.Render{Config: f.config(s, true)}
	envs := f.envs("environment to render")
	f.StringVar(&a.Out, "out", "", "rendered tree to replace (default <root>/rendered)")
	quiet := f.Bool("quiet", false, "print no summary")
	if code, done := f.parse(args, 0, 0); done {
		return code
	}
	a.Envs = *envs
	if isTerminal(s.err) {
		a.Progress = func(done, total int, unit string) {
			fmt.Fprintf(s.err, "\r\033[K[%d/%d] %s", done, total, unit)
			if done == total {
				fmt.Fprint(s.err, "\r\033[K")
			}
		}
	}
	res, err := a.Run(ctx)
	if err != nil {
		return s.fail("render", err)
	}
	if !*quiet {
		report.RenderSummary(s.out, res.Result, res.Wall)
	}
	return exitOK
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
