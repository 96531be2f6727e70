// Command cliplan writes the inputs of the CLI pipeline (helm template,
// kustomize build, conftest, kubeconform) that make bench times against
// gitops: see plan.go and scripts/bench-cli.sh.
//
// Usage: cliplan [-root DIR] [-env NAME]... -out DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	root := flag.String("root", ".", "repo root")
	out := flag.String("out", "", "folder to create")
	var envs listFlag
	flag.Var(&envs, "env", "environment (repeatable; default all)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: cliplan [-root DIR] [-env NAME]... -out DIR")
		os.Exit(2)
	}
	if err := Write(context.Background(), *root, *out, envs); err != nil {
		fmt.Fprintln(os.Stderr, "cliplan:", err)
		os.Exit(2)
	}
}
