package provenance

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// GPG signs with GnuPG, the way git signs commits: Program is git's
// gpg.program ("gpg" by default) and Key its user.signingkey. Env adds to
// the program's environment (GNUPGHOME).
type GPG struct {
	Program, Key string
	Env          []string
}

func (g GPG) program() string {
	if g.Program == "" {
		return "gpg"
	}
	return g.Program
}

func (g GPG) run(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, g.program(), args...)
	cmd.Env = append(os.Environ(), g.Env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", g.program(), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Sign returns a detached binary OpenPGP signature of data (DSSE signs
// the envelope's pre-authentication encoding).
func (g GPG) Sign(ctx context.Context, data []byte) ([]byte, error) {
	return g.run(ctx, data, "--batch", "--no-tty", "--detach-sign", "--local-user", g.Key)
}

// Export returns the armored public half of a key in the program's
// keyring.
func (g GPG) Export(ctx context.Context, id string) ([]byte, error) {
	out, err := g.run(ctx, nil, "--batch", "--armor", "--export", id)
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("gpg: no public key %s in the keyring", id)
	}
	return out, err
}

// KeyID is the signing key's fingerprint.
func (g GPG) KeyID() (string, error) {
	out, err := g.run(context.Background(), nil, "--batch", "--with-colons", "--fingerprint", g.Key)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Split(sc.Text(), ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9], nil
		}
	}
	return "", fmt.Errorf("gpg: no fingerprint for key %q", g.Key)
}

// Verifier checks OpenPGP signatures against a keyring (Home, a GNUPGHOME
// holding the trusted public keys only), accepting those of Keys (long key
// IDs) alone. Signed is the primary key fingerprint of the last good
// signature.
type Verifier struct {
	Program, Home string
	Keys          []string
	Signed        string
}

// Verify checks sig over data.
func (v *Verifier) Verify(ctx context.Context, data, sig []byte) error {
	f, err := os.CreateTemp("", "gitops-sig-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(sig); err != nil {
		f.Close()
		return err
	}
	f.Close()
	g := GPG{Program: v.Program, Env: []string{"GNUPGHOME=" + v.Home}}
	out, err := g.run(ctx, data, "--batch", "--no-tty", "--status-fd", "1", "--verify", f.Name(), "-")
	primary := validSig(out)
	if err != nil || primary == "" {
		return fmt.Errorf("no good signature by a trusted key: %w", err)
	}
	if !Trusted(primary, v.Keys) {
		return fmt.Errorf("signed by %s, which is not one of %s", primary, strings.Join(v.Keys, ", "))
	}
	v.Signed = primary
	return nil
}

// validSig returns the primary key fingerprint of gpg's VALIDSIG status.
func validSig(status []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "[GNUPG:]" && f[1] == "VALIDSIG" {
			if len(f) >= 12 {
				return f[11]
			}
			return f[2]
		}
	}
	return ""
}

// KeyID is empty: every signature of the envelope is tried.
func (v *Verifier) KeyID() (string, error) { return "", nil }

// Public is not known as a crypto.PublicKey: gpg holds the keys.
func (v *Verifier) Public() crypto.PublicKey { return nil }

// Trusted says whether a key (a fingerprint or a key ID) is one of keys,
// long key IDs as Argo CD's AppProjects name them: a fingerprint's last 16
// hex digits.
func Trusted(key string, keys []string) bool {
	key = strings.ToUpper(key)
	for _, k := range keys {
		if k = strings.ToUpper(k); k != "" && strings.HasSuffix(key, k) {
			return true
		}
	}
	return false
}
