package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

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

// describeScope tells, on stderr, what --changed-since selected.
func describeScope(w io.Writer, cmd, rev string, s *scope.Scope) {
	units := s.Units()
	if len(units) == 0 {
		units = []string{"nothing (every unit read from rendered/)"}
	}
	fmt.Fprintf(w, "gitops %s: changed since %s: %s\n", cmd, rev, strings.Join(units, ", "))
}
