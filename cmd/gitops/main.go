// Command gitops renders the Libertum platform's environments to plain
// Kubernetes manifests under rendered/, in process.
//
// Exit codes: 0 ok, 1 findings (violations or drift), 2 bad input or an
// internal error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
)

// Exit codes.
const (
	exitOK       = 0
	exitFindings = 1
	exitError    = 2
)

const usage = `usage: gitops <command> [flags]

commands:
  render        render environments to rendered/<env>/<stamp>/<component>/
  verify        render in memory, check schemas and policies, and compare with rendered/
  diff          what a change does: per-resource diff and policy delta against --base REF
  policy check  run the policies on arbitrary manifests (--env NAME FILE...)
  policy test   run the Rego unit tests under policies/
  set-image     pin component images in an environment file (--env NAME COMPONENT=TAG...)
  promote       copy image tags from one environment to another (--from ENV --to ENV [COMPONENT...])
  validate      dry-run every rendered object on a real API server (--server KUBECONFIG)
  publish       commit rendered/ to the branch Argo CD syncs from (--source SHA to roll back)
  history       the rendered branch's commits and the source commits they came from
  cache         where the render cache is (dir), its size (stats), prune old entries (prune)

Run 'gitops <command> -h' for a command's flags.
`

// profileEnv names a file to write a CPU profile of the whole command to,
// for finding where a slow run spends its time.
const profileEnv = "GITOPS_CPUPROFILE"

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	stopProfile := startProfile(os.Getenv(profileEnv))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// tuneGC trades memory for time: a render allocates a lot of short-lived
// YAML, and with the default GOGC the collector took a third of the CPU of
// a cold verify. gitops is a short-lived command, so the collector runs only
// when the heap nears a soft limit well under the 1 GiB a 1,000-component
// platform may use (the repo's own platform stays far below it and never
// collects). GOGC and GOMEMLIMIT, when set, win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(768 << 20)
	}
}

func startProfile(file string) (stop func()) {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gitops: %s: %v\n", profileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// run is the whole command line: args to exit code. It is what tests call.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	switch args[0] {
	case "render":
		return runRender(ctx, args[1:], stdout, stderr)
	case "verify":
		return runVerify(ctx, args[1:], stdout, stderr)
	case "policy":
		return runPolicy(ctx, args[1:], stdout, stderr)
	case "diff":
		return runDiff(ctx, args[1:], stdout, stderr)
	case "set-image":
		return runSetImage(ctx, args[1:], stdout, stderr)
	case "promote":
		return runPromote(ctx, args[1:], stdout, stderr)
	case "validate":
		return runValidate(ctx, args[1:], stdout, stderr)
	case "publish":
		return runPublish(ctx, args[1:], stdout, stderr)
	case "history":
		return runHistory(ctx, args[1:], stdout, stderr)
	case "cache":
		return runCache(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "gitops: unknown command %q\n\n%s", args[0], usage)
	return exitError
}

// parseFlags parses a subcommand's flags; done reports that the command
// should return code at once (-h, or a flag error the flag package has
// already printed).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitError, true
	}
	return 0, false
}
