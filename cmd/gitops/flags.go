package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/action"
)

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, s *streams, args []string) int
}

// streams are a command's standard input, output and error.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// fail prints a command's error and returns its exit code: 1 when the
// error is findings (it lists them), 2 for bad input.
func (s *streams) fail(cmd string, err error) int {
	fmt.Fprintf(s.err, "gitops %s: %v\n", cmd, err)
	if found := (*action.CredentialError)(nil); errors.As(err, &found) {
		return exitFindings
	}
	return exitError
}

// exit prints err, if any, and picks the exit code: 2 for an error, 1 for
// findings, 0 otherwise.
func (s *streams) exit(cmd string, err error, findings func() bool) int {
	switch {
	case err != nil:
		return s.fail(cmd, err)
	case findings != nil && findings():
		return exitFindings
	}
	return exitOK
}

// flags is a subcommand's flag set with its synopsis and example, which
// -h prints before the flags.
type flags struct {
	*flag.FlagSet
	name string
	args []string // positional arguments, wherever they stood among the flags
	// cfg, when the command takes the cache flags, is checked once parsed.
	cfg *action.Config
}

func newFlags(s *streams, name, synopsis, example string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintf(s.err, "usage: %s\n\nexample:\n  %s\n\nflags:\n", synopsis, example)
		fs.PrintDefaults()
	}
	return &flags{FlagSet: fs, name: name}
}

// parse parses args, flags before or after the positional arguments, and
// checks that between lo and hi positional arguments were given (hi < 0:
// no upper bound) and the required flags set; done reports that the
// command should return code at once (-h, or an error already printed
// with the usage).
func (f *flags) parse(args []string, lo, hi int, required ...string) (code int, done bool) {
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK, true
			}
			return exitError, true
		}
		if f.NArg() == 0 {
			break
		}
		f.args, args = append(f.args, f.Arg(0)), f.Args()[1:]
	}
	problem := ""
	if n := len(f.args); n < lo || (hi >= 0 && n > hi) {
		problem = fmt.Sprintf("unexpected or missing arguments %q", f.args)
	}
	for _, name := range required {
		if f.Lookup(name).Value.String() == "" {
			problem = "--" + name + " is required"
		}
	}
	if f.cfg != nil && !f.cfg.NoCache && problem == "" {
		if err := f.cfg.CheckCache(); err != nil {
			problem = err.Error()
		}
	}
	if problem != "" {
		fmt.Fprintf(f.Output(), "gitops %s: %s\n", f.name, problem)
		f.Usage()
		return exitError, true
	}
	return 0, false
}

// config registers the flags every repo command shares.
func (f *flags) config(s *streams, cache bool) *action.Config {
	c := &action.Config{Log: s.err}
	f.StringVar(&c.Root, "root", ".", "repo root")
	f.IntVar(&c.Workers, "jobs", 0, "parallel workers (default: number of CPUs)")
	f.DurationVar(&c.PolicyTimeout, "policy-timeout", action.DefaultPolicyTimeout, "bound on each environment's policy evaluation")
	if cache {
		f.StringVar(&c.CacheDir, "cache-dir", "", "cache of rendered units and findings (default $GITOPS_CACHE_DIR or the user cache dir)")
		f.BoolVar(&c.NoCache, "no-cache", false, "render and check everything, reading and writing no cache")
		f.StringVar(&c.CacheURL, "cache-url", "", "shared remote cache behind the local one: azblob://CONTAINER, s3://BUCKET, file:///DIR (default $GITOPS_CACHE_URL)")
		f.BoolVar(&c.CacheReadOnly, "cache-read-only", false, "read the shared cache, write nothing to it (default $GITOPS_CACHE_READ_ONLY; a pull request's jobs)")
		f.cfg = c
		f.DurationVar(&c.LockWait, "lock-timeout", 2*time.Minute, "how long a command that writes waits for another writer of the checkout")
		f.StringVar(&c.Shard, "shard", "", "I/N: render this runner's share of the units, read the rest from rendered/")
	}
	return c
}

func (f *flags) envs(usage string) *listFlag {
	var l listFlag
	f.Var(&l, "env", usage+" (repeatable; default all)")
	return &l
}

func (f *flags) format(formats []string) *string {
	v := &choiceFlag{value: "text", choices: formats}
	f.Var(v, "format", "output format: "+strings.Join(formats, ", "))
	return &v.value
}

func (f *flags) changedSince(what string) *string {
	return f.String("changed-since", "", "render only the units changes since this git ref "+what+"can affect; read the rest from rendered/")
}

func (f *flags) today() *dateFlag {
	var d dateFlag
	f.Var(&d, "today", "judge exception expiry as of this date (YYYY-MM-DD; default today)")
	return &d
}

// choiceFlag is a string flag that takes one of a fixed set of values.
type choiceFlag struct {
	value   string
	choices []string
}

func (c *choiceFlag) String() string { return c.value }
func (c *choiceFlag) Set(v string) error {
	if !slices.Contains(c.choices, v) {
		return fmt.Errorf("%q: want one of %s", v, strings.Join(c.choices, ", "))
	}
	c.value = v
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type dateFlag struct{ t time.Time }

func (d *dateFlag) String() string {
	if d.t.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

func (d *dateFlag) Set(v string) error {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return fmt.Errorf("%q: want YYYY-MM-DD", v)
	}
	d.t = t
	return nil
}
