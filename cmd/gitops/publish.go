package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/libertum/platform-gitops/generator/publish"
	"github.com/libertum/platform-gitops/generator/report"
)

func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := publish.Options{Today: time.Now()}
	fs.StringVar(&o.Root, "root", ".", "the source repository's working tree")
	fs.StringVar(&o.Branch, "branch", "rendered", "branch Argo CD syncs from")
	fs.StringVar(&o.Remote, "remote", "origin", "remote to push to")
	fs.StringVar(&o.Source, "source", "", "publish this commit's render instead of the working tree's (rollback)")
	fs.IntVar(&o.Retries, "retries", 3, "push attempts when the remote moved")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gitops publish: unexpected arguments %q\n", fs.Args())
		return exitError
	}
	res, err := publish.Run(ctx, o)
	var failed *publish.VerifyError
	switch {
	case errors.As(err, &failed):
		_ = report.Text(stderr, failed.Report)
		fmt.Fprintf(stderr, "gitops publish: %v\n", err)
		return exitFindings
	case err != nil:
		fmt.Fprintf(stderr, "gitops publish: %v\n", err)
		return exitError
	case res.Unchanged:
		fmt.Fprintf(stdout, "%s/%s already holds the render of %s (%s): nothing to publish\n", o.Remote, o.Branch, short(res.Source), short(res.Commit))
	default:
		verb := "updated"
		if res.Created {
			verb = "created"
		}
		fmt.Fprintf(stdout, "%s %s/%s at %s: render of %s for %s\n", verb, o.Remote, o.Branch, short(res.Commit), short(res.Source), strings.Join(res.Envs, ", "))
	}
	return exitOK
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "the source repository's working tree")
	branch := fs.String("branch", "rendered", "rendered branch")
	remote := fs.String("remote", "origin", "remote holding it")
	env := fs.String("env", "", "only commits that changed this environment")
	format := fs.String("format", "text", "text or json")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	entries, err := publish.History(ctx, *root, *remote, *branch, *env)
	if err != nil {
		fmt.Fprintf(stderr, "gitops history: %v\n", err)
		return exitError
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(entries); err != nil {
			fmt.Fprintf(stderr, "gitops history: %v\n", err)
			return exitError
		}
	case "text":
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RENDERED\tDATE\tSOURCE\tENVIRONMENTS\tSUBJECT")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", short(e.Commit), e.Date, short(e.Source), strings.Join(e.Envs, ","), e.Subject)
		}
		tw.Flush()
		fmt.Fprintf(stdout, "roll back with: gitops publish --source <SOURCE>\n")
	default:
		fmt.Fprintf(stderr, "gitops history: --format %q: want text or json\n", *format)
		return exitError
	}
	return exitOK
}
