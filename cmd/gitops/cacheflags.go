package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/scope"
)

// cacheFlags are the flags of commands that render: where the cache of
// rendered units and findings lives, or that there is none.
type cacheFlags struct {
	dir string
	off bool
}

func (c *cacheFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dir, "cache-dir", "", "cache of rendered units and findings (default $"+cache.EnvDir+" or the user cache dir)")
	fs.BoolVar(&c.off, "no-cache", false, "render and check everything, reading and writing no cache")
}

// open returns the store to use, or nil when caching is off. A cache that
// cannot be opened (read-only home, no cache dir) only costs speed, so it
// turns caching off rather than failing the command.
func (c *cacheFlags) open() *cache.Store {
	if c.off {
		return nil
	}
	dir := c.dir
	if dir == "" {
		d, err := cache.DefaultDir()
		if err != nil {
			return nil
		}
		dir = d
	}
	s, err := cache.Open(dir)
	if err != nil {
		return nil
	}
	return s
}

// sinceFlag is --changed-since, shared by the commands that render.
type sinceFlag struct{ rev string }

func (f *sinceFlag) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&f.rev, "changed-since", "", strings.Join(strings.Fields("render only the units changes since this git ref "+what+" can affect; read the rest from rendered/"), " "))
}

// selector returns the units the changes since the ref can affect (nil,
// meaning all, when the flag is unset) and says on stderr which they are.
func (f *sinceFlag) selector(ctx context.Context, root, cmd string, stderr io.Writer) (func(env, component string) bool, error) {
	if f.rev == "" {
		return nil, nil
	}
	s, err := scope.Since(ctx, root, f.rev)
	if err != nil {
		return nil, err
	}
	units := s.Units()
	if len(units) == 0 {
		units = []string{"nothing (every unit read from rendered/)"}
	}
	fmt.Fprintf(stderr, "gitops %s: changed since %s: %s\n", cmd, f.rev, strings.Join(units, ", "))
	return s.Has, nil
}

// runCache is `gitops cache`: where the cache is, how big, and pruning it.
func runCache(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("cache-dir", "", "the cache (default $"+cache.EnvDir+" or the user cache dir)")
	age := fs.Duration("older-than", 30*24*time.Hour, "prune: remove entries not used for this long")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	// Flags may follow the subcommand too.
	sub, rest := fs.Arg(0), fs.Args()[min(1, fs.NArg()):]
	if code, done := parseFlags(fs, rest); done {
		return code
	}
	if fs.NArg() != 0 || !slices.Contains([]string{"dir", "stats", "prune"}, sub) {
		fmt.Fprintln(stderr, "usage: gitops cache [--cache-dir DIR] dir|stats|prune [--older-than 720h]")
		return exitError
	}
	path := *dir
	if path == "" {
		d, err := cache.DefaultDir()
		if err != nil {
			fmt.Fprintf(stderr, "gitops cache: %v\n", err)
			return exitError
		}
		path = d
	}
	if sub == "dir" {
		fmt.Fprintln(stdout, path)
		return exitOK
	}
	s, err := cache.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "gitops cache: %v\n", err)
		return exitError
	}
	if sub == "prune" {
		files, bytes, err := s.Prune(*age)
		if err != nil {
			fmt.Fprintf(stderr, "gitops cache: %v\n", err)
			return exitError
		}
		fmt.Fprintf(stdout, "removed %d files (%d bytes) not used for %s from %s\n", files, bytes, *age, path)
		return exitOK
	}
	entries, bytes, err := s.Size()
	if err != nil {
		fmt.Fprintf(stderr, "gitops cache: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "%s: %d entries, %d bytes\n", path, entries, bytes)
	return exitOK
}
