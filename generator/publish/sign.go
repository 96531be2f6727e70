package publish

import (
	"context"
	"fmt"
	"strings"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/provenance"
)

// SigningError says a commit could not be signed with a key Argo CD
// trusts: nothing was pushed.
type SigningError struct {
	Keys []string
	Why  string
}

func (e *SigningError) Error() string {
	return fmt.Sprintf("Argo CD syncs only commits signed with %s (spec.argocd.signatureKeys): %s", strings.Join(e.Keys, " or "), e.Why)
}

// commitTree creates a commit with git commit-tree, signed (-S) with the
// key git is configured to sign with (user.signingkey; gpg.program
// signs) whenever one is: publish and rollout sign every commit they
// create. When keys are named, the commit must carry a good signature by
// one of them, or nothing is created.
func commitTree(ctx context.Context, repo git.Repo, keys []string, args ...string) (string, error) {
	key, _ := SigningKey(ctx, repo)
	if key == "" {
		if len(keys) > 0 {
			return "", &SigningError{Keys: keys, Why: "git has no signing key: set user.signingkey (publish.yml imports the key from its secret; docs/signing.md)"}
		}
		return repo.Run(ctx, append([]string{"commit-tree"}, args...)...)
	}
	commit, err := repo.Run(ctx, append([]string{"commit-tree", "-S"}, args...)...)
	if err != nil {
		return "", fmt.Errorf("sign the commit with %s: %w", key, err)
	}
	if len(keys) == 0 {
		return commit, nil
	}
	signer, err := Signer(ctx, repo, commit)
	if err != nil {
		return "", err
	}
	if !provenance.Trusted(signer, keys) {
		return "", &SigningError{Keys: keys, Why: fmt.Sprintf("user.signingkey %s signs as %s", key, signer)}
	}
	return commit, nil
}

// SigningKey returns the key git is configured to sign with
// (user.signingkey) and the program it signs through (gpg.program, "" for
// gpg); key is "" when git signs nothing.
func SigningKey(ctx context.Context, repo git.Repo) (key, program string) {
	key, _ = repo.Run(ctx, "config", "--get", "user.signingkey")
	program, _ = repo.Run(ctx, "config", "--get", "gpg.program")
	return strings.TrimSpace(key), strings.TrimSpace(program)
}

// Signer returns the fingerprint of the primary key whose good signature a
// commit carries; an error when it carries none, or a bad one.
func Signer(ctx context.Context, repo git.Repo, commit string) (string, error) {
	out, err := repo.Run(ctx, "log", "-1", "--format=%G?%n%GP%n%GK", commit)
	if err != nil {
		return "", err
	}
	f := strings.Split(out, "\n")
	for len(f) < 3 {
		f = append(f, "")
	}
	status, primary, key := strings.TrimSpace(f[0]), strings.TrimSpace(f[1]), strings.TrimSpace(f[2])
	if primary == "" {
		primary = key
	}
	switch status {
	case "G", "U": // good (U: good, of a key no one vouched for in this keyring)
		return primary, nil
	case "N":
		return "", fmt.Errorf("commit %s is not signed", git.Short(commit))
	case "B":
		return "", fmt.Errorf("commit %s carries a bad signature by %s: its content changed after signing", git.Short(commit), key)
	case "E":
		return "", fmt.Errorf("commit %s is signed by %s, whose public key is not in the keyring", git.Short(commit), key)
	default:
		return "", fmt.Errorf("commit %s: signature by %s is not good (git's %%G? is %q: expired or revoked)", git.Short(commit), key, status)
	}
}
