// Command gitops renders the Libertum platform's environments to plain
// Kubernetes manifests under rendered/, in process.
//
// Exit codes: 0 ok, 1 findings (violations or drift), 2 bad input or an
// internal error, 3 out of memory, 130 interrupted.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/libertum/platform-gitops/generator/proc"
)

// Exit codes.
const (
	exitOK       = 0
	exitFindings = 1
	exitError    = 2
	// exitMemory: the run ran out of memory (not the input's fault).
	exitMemory = 3
	// exitInterrupted: Ctrl-C or SIGTERM.
	exitInterrupted = 130
)

// interruptGrace is how long a command may take to stop after an
// interrupt before the process ends anyway: what it renders or commits is
// written aside and renamed into place, so stopping never leaves half of it.
const interruptGrace = 2 * time.Second

// commands are every subcommand, in the order usage lists them.
var commands = []command{
	{"render", "render environments to rendered/<env>/<stamp>/<component>/", runRender},
	{"verify", "render in memory, check schemas and policies, and compare with rendered/", runVerify},
	{"diff", "what a change does: per-resource diff and policy delta against --base REF", runDiff},
	{"policy", "check: run the policies on any manifests; test: run the Rego unit tests", runPolicy},
	{"set-image", "pin component images in an environment file", runSetImage},
	{"promote", "copy image tags from one environment to another", runPromote},
	{"validate", "dry-run every rendered object on a real API server", runValidate},
	{"publish", "commit rendered/ to the branch Argo CD syncs from (--source SHA to roll back)", runPublish},
	{"history", "the rendered branch's commits, the source commits they came from, the stamps running each", runHistory},
	{"rollout", "move an environment's next wave of stamps once the previous has soaked (--stamp --to: one stamp)", runRollout},
	{"verify-provenance", "check a rendered commit: signed by a trusted key, its provenance, its source reviewed, its tree a re-render", runVerifyProvenance},
	{"images", "every image an environment runs; az acr import commands for the third-party ones", runImages},
	{"cache", "where the render cache is (dir), its size (stats), prune old entries (prune)", runCache},
}

func usage() string {
	var b strings.Builder
	b.WriteString("usage: gitops <command> [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'gitops <command> -h' for a command's synopsis, flags and an example.\n")
	return b.String()
}

func main() {
	if code, ok := supervise(); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A command stops at its next look at ctx; one blocked elsewhere (a
	// hung store, a policy that never ends) is not waited for.
	go func() {
		<-ctx.Done()
		time.Sleep(interruptGrace)
		fmt.Fprintln(os.Stderr, "gitops: interrupted")
		os.Exit(exitInterrupted)
	}()
	stopProfile := proc.StartProfile()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	if ctx.Err() != nil && code != exitOK {
		code = exitInterrupted
	}
	stop()
	os.Exit(code)
}

// run is the whole command line: args to exit code. It is what tests call.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWithInput(ctx, args, os.Stdin, stdout, stderr)
}

func runWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitError
	}
	s := &streams{in: stdin, out: stdout, err: stderr}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, s, args[1:])
		}
	}
	switch args[0] {
	case "-h", "--help", "help":
		// help COMMAND is COMMAND -h: the command's synopsis, example
		// and flags, on stdout.
		if len(args) > 1 {
			for _, c := range commands {
				if c.name == args[1] {
					return c.run(ctx, &streams{in: stdin, out: stdout, err: stdout}, append(args[2:], "-h"))
				}
			}
			fmt.Fprintf(stderr, "gitops help: unknown command %q\n\n%s", args[1], usage())
			return exitError
		}
		fmt.Fprint(stdout, usage())
		return exitOK
	}
	fmt.Fprintf(stderr, "gitops: unknown command %q\n\n%s", args[0], usage())
	return exitError
}
