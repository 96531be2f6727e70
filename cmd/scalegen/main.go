// Command scalegen writes a synthetic platform of N services in three
// environments, for scripts/scale.sh.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("n", 10, "services per environment")
	out := flag.String("out", "", "directory to write (required)")
	repo := flag.String("repo", ".", "repo to copy policies/ and crds/ from")
	flag.Parse()
	if *out == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: scalegen -n N -out DIR")
		os.Exit(2)
	}
	if err := Generate(*out, *repo, *n); err != nil {
		fmt.Fprintf(os.Stderr, "scalegen: %v\n", err)
		os.Exit(2)
	}
}
