// Package gittest builds real git repositories in temp dirs for tests: a
// bare "remote" and a clone holding a copy of the platform.
package gittest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// Git runs git in dir and fails the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := git.Repo{Dir: dir}.Run(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Platform creates a bare remote and a clone of it whose main branch holds
// the small test platform (platformtest), committed and pushed. It returns
// the clone's and the remote's paths.
func Platform(t testing.TB) (work, remote string) {
	return PlatformFrom(t, platformtest.CopySmall)
}

// PlatformFrom is Platform with the platform that fill copies into a folder.
func PlatformFrom(t testing.TB, fill func(testing.TB, string)) (work, remote string) {
	t.Helper()
	base := t.TempDir()
	remote = filepath.Join(base, "remote.git")
	work = filepath.Join(base, "work")
	Git(t, base, "init", "--quiet", "--bare", "--initial-branch=main", remote)
	Git(t, base, "clone", "--quiet", remote, work)
	Configure(t, work)
	fill(t, work)
	Commit(t, work, "Add the platform")
	Git(t, work, "push", "--quiet", "origin", "HEAD:main")
	return work, remote
}

// Configure gives a clone a committer identity of its own, so tests never
// depend on the machine's git configuration.
func Configure(t testing.TB, dir string) {
	t.Helper()
	Git(t, dir, "config", "user.name", "Test")
	Git(t, dir, "config", "user.email", "test@libertum.io")
	Git(t, dir, "config", "commit.gpgsign", "false")
}

// Commit stages everything in dir and commits it, returning the commit id.
func Commit(t testing.TB, dir, msg string) string {
	t.Helper()
	Git(t, dir, "add", "--all")
	Git(t, dir, "commit", "--quiet", "-m", msg)
	return Git(t, dir, "rev-parse", "HEAD")
}

// Edit replaces the first old with new in root/file, failing the test when
// the file does not contain old (so a test cannot silently edit nothing).
func Edit(t testing.TB, root, file, old, new string) {
	t.Helper()
	p := filepath.Join(root, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Signer is a GnuPG key made for one test: its long key ID, its keyring
// (Home) and a gpg program that uses it (the clone's gpg.program).
type Signer struct {
	KeyID, Home, Program string
}

// SigningKey makes a passphrase-less ed25519 key in a keyring of its own
// and configures the clone to sign with it, as publish.yml configures the
// runner: user.signingkey and gpg.program. The keyring and its agent go
// when the test ends.
func SigningKey(t testing.TB, dir string) Signer {
	t.Helper()
	s := NewSigner(t, "Test signer <test@libertum.io>")
	Git(t, dir, "config", "user.signingkey", s.KeyID)
	Git(t, dir, "config", "gpg.program", s.Program)
	return s
}

// NewSigner makes a key in a keyring of its own (a short path: gpg-agent's
// socket must fit a Unix socket name).
func NewSigner(t testing.TB, uid string) Signer {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		_ = os.RemoveAll(home)
	})
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	gpg := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--no-tty"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	gpg("--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
	var id string
	for _, l := range strings.Split(gpg("--with-colons", "--list-keys"), "\n") {
		if f := strings.Split(l, ":"); len(f) > 4 && f[0] == "pub" {
			id = f[4]
		}
	}
	if id == "" {
		t.Fatal("gpg made no key")
	}
	prog := filepath.Join(home, "gpg.sh")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\nexec gpg --homedir "+home+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Signer{KeyID: id, Home: home, Program: prog}
}

// PublicKey returns the key's armored public half.
func (s Signer) PublicKey(t testing.TB) []byte {
	t.Helper()
	out, err := exec.Command("gpg", "--homedir", s.Home, "--batch", "--armor", "--export", s.KeyID).Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("export %s: %v", s.KeyID, err)
	}
	return out
}

// Trust makes the platform in root trust the key alone: every
// environment's spec.argocd.signatureKeys names it, and keys/<ID>.asc
// holds its public half (what the protected branch would hold).
func (s Signer) Trust(t testing.TB, root string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "environments", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`signatureKeys: \[[^\]]*\]`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out := re.ReplaceAll(b, []byte("signatureKeys: ["+s.KeyID+"]"))
		if !re.Match(b) {
			out = []byte(strings.Replace(string(b), "    targetRevision: rendered\n", "    targetRevision: rendered\n    signatureKeys: ["+s.KeyID+"]\n", 1))
		}
		if err := os.WriteFile(f, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "keys", s.KeyID+".asc"), s.PublicKey(t), 0o644); err != nil {
		t.Fatal(err)
	}
}
