package action

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/libertum/platform-gitops/generator/check"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
)

// PlaintextRule names the findings of a render that would write a
// credential in the clear: the check step's rule, one verdict.
const PlaintextRule = check.PlaintextRule

// CredentialError refuses to write a render that carries credentials in
// the clear; nothing was written.
type CredentialError struct {
	Findings []policy.Finding
}

func (e *CredentialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to write rendered/: %d credentials in the clear", len(e.Findings))
	for _, f := range e.Findings {
		fmt.Fprintf(&b, "\n  %s\n      at %s", f, f.File)
	}
	return b.String()
}

// refuseCredentials returns a CredentialError when any object of the
// render carries a credential in the clear.
//
// Units are scanned in parallel (every leaf of every object is read).
func refuseCredentials(res *render.Result) error {
	found := make([][]policy.Finding, len(res.Units))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, u := range res.Units {
		g.Go(func() error {
			found[i] = credentialsOf(u)
			return nil
		})
	}
	_ = g.Wait()
	fs := slices.Concat(found...)
	if len(fs) == 0 {
		return nil
	}
	policy.Sort(fs)
	return &CredentialError{Findings: fs}
}

// credentialsOf lists the credentials a unit's objects carry in the clear.
func credentialsOf(u *render.Unit) []policy.Finding {
	var fs []policy.Finding
	for i, o := range u.Objects {
		fs = append(fs, check.Credentials(policy.Input{Unit: u.Unit, File: layout.RepoPath(u.Files[i].Path), Object: o})...)
	}
	return fs
}
