package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/render"
)

// renderConfig is what `gitops render` was asked to do.
type renderConfig struct {
	root    string
	out     string
	envs    []string
	workers int
	quiet   bool
	cache   cacheFlags
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseRender turns render's arguments into a config; a pure function.
func parseRender(args []string, stderr io.Writer) (renderConfig, error) {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c renderConfig
	var envs listFlag
	fs.StringVar(&c.root, "root", ".", "repo root holding environments/, base/ and overlays/")
	fs.StringVar(&c.out, "out", "", "rendered tree to replace (default <root>/rendered)")
	fs.Var(&envs, "env", "environment to render (repeatable; default all)")
	fs.IntVar(&c.workers, "jobs", 0, "units rendered at once (default: number of CPUs)")
	fs.BoolVar(&c.quiet, "quiet", false, "print no summary")
	c.cache.register(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("render takes no arguments, got %q", fs.Args())
	}
	c.envs = envs
	if c.out == "" {
		c.out = filepath.Join(c.root, layout.Dir)
	}
	return c, nil
}

func runRender(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseRender(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "gitops render: %v\n", err)
		return exitError
	}
	start := time.Now()
	opts := render.Options{Root: c.root, Envs: c.envs, Workers: c.workers, Cache: c.cache.open()}
	if isTerminal(stderr) {
		opts.Progress = func(done, total int, u *render.Unit) {
			fmt.Fprintf(stderr, "\r\033[K[%d/%d] %s/%s/%s", done, total, u.Env, u.Stamp, u.Component)
			if done == total {
				fmt.Fprint(stderr, "\r\033[K")
			}
		}
	}
	res, err := render.Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "gitops render: %v\n", err)
		return exitError
	}
	if err := layout.Replace(c.out, res.EnvNames(), res.Files()); err != nil {
		fmt.Fprintf(stderr, "gitops render: %v\n", err)
		return exitError
	}
	if !c.quiet {
		printSummary(stdout, res, time.Since(start))
	}
	return exitOK
}

// printSummary writes one row per (environment, stamp).
func printSummary(w io.Writer, res *render.Result, total time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ENV\tSTAMP\tCOMPONENTS\tOBJECTS\tBYTES\tTIME\t")
	type key struct{ env, stamp string }
	var order []key
	rows := map[key]*struct {
		components, objects, bytes int
		elapsed                    time.Duration
	}{}
	var objects, bytes int
	for _, u := range res.Units {
		k := key{u.Env, u.Stamp}
		r, ok := rows[k]
		if !ok {
			r = &struct {
				components, objects, bytes int
				elapsed                    time.Duration
			}{}
			rows[k] = r
			order = append(order, k)
		}
		r.components++
		r.objects += len(u.Objects)
		r.bytes += u.Bytes()
		r.elapsed += u.Elapsed
		objects += len(u.Objects)
		bytes += u.Bytes()
	}
	for _, k := range order {
		r := rows[k]
		if k.stamp == "" {
			k.stamp = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t\n", k.env, k.stamp, r.components, r.objects, r.bytes, r.elapsed.Round(time.Millisecond))
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%d\t%s\t\n", len(res.Units), objects, bytes, total.Round(time.Millisecond))
	tw.Flush()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
