package action

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/provenance"
	"github.com/libertum/platform-gitops/generator/publish"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// VerifyProvenance checks a rendered commit: signed by a key the protected
// branch trusts, its provenance signed by one too and naming every file of
// the commit, its source commit reviewed (an ancestor of the protected
// branch), and its tree byte for byte what that source renders to now.
type VerifyProvenance struct {
	*Config
	// Rev is the rendered commit: a branch, a commit, or with Remote a
	// branch of that remote (fetched first).
	Rev, Remote string
	// Protected is the reviewed branch: its environment files name the
	// trusted keys (spec.argocd.signatureKeys) and keys/<ID>.asc holds
	// them; the source commit must be its ancestor.
	Protected string
}

// Check is one verdict of verify-provenance.
type Check struct {
	Name   string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// ProvenanceReport is what verify-provenance found.
type ProvenanceReport struct {
	Commit string  `json:"commit"`
	Source string  `json:"source,omitempty"`
	Checks []Check `json:"checks"`
	// Differ are the files whose bytes differ from a re-render of the
	// source (changed, only in the commit, or only in the re-render).
	Differ []string `json:"differ"`
}

// Failed says whether any check failed.
func (r *ProvenanceReport) Failed() bool {
	return slices.ContainsFunc(r.Checks, func(c Check) bool { return !c.OK })
}

func (r *ProvenanceReport) add(name string, err error, ok string) {
	if err != nil {
		r.Checks = append(r.Checks, Check{Name: name, Detail: err.Error()})
		return
	}
	r.Checks = append(r.Checks, Check{Name: name, OK: true, Detail: ok})
}

// Run verifies the commit. An error is bad input (no such revision, no
// trusted key); a failed check is in the report.
func (v *VerifyProvenance) Run(ctx context.Context) (*ProvenanceReport, error) {
	root := v.Workspace().Root
	repo := git.Repo{Dir: root}
	rev := v.Rev
	if v.Remote != "" {
		if _, err := repo.Run(ctx, "fetch", "--quiet", v.Remote, v.Rev); err != nil {
			return nil, fmt.Errorf("verify-provenance: fetch %s %s: %w", v.Remote, v.Rev, err)
		}
		rev = "FETCH_HEAD"
	}
	commit, err := repo.Resolve(ctx, rev)
	if err != nil {
		return nil, fmt.Errorf("verify-provenance %s: %w", v.Rev, err)
	}
	protected := v.Protected
	if protected == "" {
		protected = "main"
	}
	if _, err := repo.Resolve(ctx, protected); err != nil {
		return nil, fmt.Errorf("verify-provenance: protected branch %s: %w", protected, err)
	}
	keys, home, err := trustedKeys(ctx, repo, protected)
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		_ = os.RemoveAll(home)
	}()
	rep := &ProvenanceReport{Commit: commit, Differ: []string{}}
	trusting := fmt.Sprintf("trusted by %s's spec.argocd.signatureKeys", protected)

	// 1. The commit's signature, against the protected branch's keys only.
	verifier := git.Repo{Dir: root, Env: []string{"GNUPGHOME=" + home, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=gpg.program", "GIT_CONFIG_VALUE_0=gpg"}}
	signer, err := publish.Signer(ctx, verifier, commit)
	if err == nil && !provenance.Trusted(signer, keys) {
		err = fmt.Errorf("commit %s is signed by %s, which is not one of %s", git.Short(commit), signer, strings.Join(keys, ", "))
	}
	rep.add("signature", err, fmt.Sprintf("signed by %s, %s", signer, trusting))

	// 2. The provenance: signed by a trusted key, naming every file.
	files, err := treeFiles(ctx, root, commit)
	if err != nil {
		return nil, err
	}
	envelope, ok := files[provenance.File]
	delete(files, provenance.File)
	source, signedBy, err := checkProvenance(ctx, envelope, ok, files, home, keys)
	rep.add("provenance", err, fmt.Sprintf("in-toto statement (SLSA provenance v1) signed by %s, %s; its %d subjects are the commit's files", signedBy, trusting, len(files)))
	rep.Source = source

	// 3. The source commit: here, and reviewed.
	if source == "" {
		rep.add("source", errors.New("no source commit: the provenance does not name one"), "")
		return rep, nil
	}
	if _, err := repo.Run(ctx, "cat-file", "-e", source+"^{commit}"); err != nil {
		rep.add("source", fmt.Errorf("source commit %s is not in this repository", git.Short(source)), "")
		return rep, nil
	}
	if _, err := repo.Run(ctx, "merge-base", "--is-ancestor", source, protected); err != nil {
		rep.add("source", fmt.Errorf("source commit %s is not an ancestor of %s: it was never merged", git.Short(source), protected), "")
	} else {
		rep.add("source", nil, fmt.Sprintf("%s is an ancestor of %s", git.Short(source), protected))
	}

	// 4. The tree, against a fresh render of the source.
	differ, err := v.rerender(ctx, root, source, files)
	if err != nil {
		return nil, err
	}
	rep.Differ = differ
	if len(differ) > 0 {
		rep.add("re-render", fmt.Errorf("%d files differ from a render of %s: %s", len(differ), git.Short(source), strings.Join(firstN(differ, 5), ", ")), "")
	} else {
		rep.add("re-render", nil, fmt.Sprintf("the tree is byte for byte the render of %s (%d files)", git.Short(source), len(files)))
	}
	return rep, nil
}

// rerender renders source afresh and lists the files that differ from
// the commit's (provenance excepted).
func (v *VerifyProvenance) rerender(ctx context.Context, root, source string, files map[string][]byte) ([]string, error) {
	src, err := publish.Checkout(ctx, root, source)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	ws := workspace.Open(src.Root)
	rep, err := (&Verify{Config: v.Config, Today: time.Now()}).run(ctx, ws, nil, nil, false)
	if err != nil {
		return nil, fmt.Errorf("re-render %s: %w", git.Short(source), err)
	}
	envs, err := ws.Environments(nil)
	if err != nil {
		return nil, err
	}
	repoURL := repoURLOf(envs)
	want := map[string][]byte{}
	for _, f := range rep.Files {
		want[f.Path] = f.Data
	}
	meta, err := publish.Metadata(ctx, git.Repo{Dir: root}, repoURL, source)
	if err != nil {
		return nil, err
	}
	want[publish.MetadataFile] = meta
	var out []string
	for p, d := range files {
		if w, ok := want[p]; !ok {
			out = append(out, p+" (only in the commit)")
		} else if !bytes.Equal(w, d) {
			out = append(out, p+" (changed)")
		}
	}
	for p := range want {
		if _, ok := files[p]; !ok {
			out = append(out, p+" (missing from the commit)")
		}
	}
	sort.Strings(out)
	return out, nil
}

// checkProvenance opens the commit's envelope with the trusted keys and
// holds its subjects to the commit's other files. It returns the source
// commit the statement names whenever the statement can be read, so the
// later checks run even when the subjects do not match.
func checkProvenance(ctx context.Context, envelope []byte, present bool, files map[string][]byte, home string, keys []string) (source, signedBy string, err error) {
	if !present {
		return "", "", fmt.Errorf("the commit has no %s", provenance.File)
	}
	v := &provenance.Verifier{Home: home, Keys: keys}
	st, err := provenance.Open(ctx, envelope, v)
	if err != nil {
		return "", "", err
	}
	prov, err := provenance.Predicate(st)
	if err != nil {
		return "", "", err
	}
	return provenance.SourceOf(prov), v.Signed, subjectsMatch(st.GetSubject(), files)
}

// subjectsMatch says whether the statement's subjects are exactly the
// files, digest for digest.
func subjectsMatch(subjects []*intoto.ResourceDescriptor, files map[string][]byte) error {
	seen := map[string]bool{}
	for _, s := range subjects {
		data, ok := files[s.GetName()]
		if !ok {
			return fmt.Errorf("subject %s is not a file of the commit", s.GetName())
		}
		if got := provenance.Of(s.GetName(), data).SHA256; got != s.GetDigest()["sha256"] {
			return fmt.Errorf("%s changed after signing: sha256 %s, the provenance says %s", s.GetName(), got[:12], s.GetDigest()["sha256"])
		}
		seen[s.GetName()] = true
	}
	for p := range files {
		if !seen[p] {
			return fmt.Errorf("%s is not among the provenance's subjects: added after signing", p)
		}
	}
	return nil
}

// trustedKeys reads the trusted key IDs from the protected branch's
// environment files and imports their public halves (keys/<ID>.asc at
// that branch) into a keyring of their own, which it returns.
func trustedKeys(ctx context.Context, repo git.Repo, protected string) ([]string, string, error) {
	names, err := repo.Run(ctx, "ls-tree", "--name-only", protected+":environments")
	if err != nil {
		return nil, "", fmt.Errorf("verify-provenance: %s has no environments/: %w", protected, err)
	}
	var keys []string
	for _, n := range strings.Split(names, "\n") {
		if !strings.HasSuffix(n, ".yaml") {
			continue
		}
		data, err := repo.Run(ctx, "show", protected+":environments/"+n)
		if err != nil {
			return nil, "", err
		}
		e, err := spec.Parse(path.Join("environments", n), []byte(data))
		if err != nil {
			return nil, "", fmt.Errorf("verify-provenance: %s at %s: %w", n, protected, err)
		}
		for _, k := range e.Spec.ArgoCD.SignatureKeys {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return nil, "", fmt.Errorf("verify-provenance: no environment at %s names spec.argocd.signatureKeys: nothing to trust", protected)
	}
	sort.Strings(keys)
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		return nil, "", err
	}
	for _, k := range keys {
		asc, err := repo.Run(ctx, "show", protected+":keys/"+k+".asc")
		if err != nil {
			// The ID is what the protected branch trusts; the key itself
			// may come from the local keyring (git's gpg.program), which
			// holds it when this machine signs.
			if asc, err = localPublicKey(ctx, repo, k); err != nil {
				os.RemoveAll(home)
				return nil, "", fmt.Errorf("verify-provenance: key %s is trusted at %s, but keys/%s.asc is not there and the local keyring does not hold it", k, protected, k)
			}
		}
		cmd := exec.CommandContext(ctx, "gpg", "--homedir", home, "--batch", "--no-tty", "--import")
		cmd.Stdin = strings.NewReader(asc + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(home)
			return nil, "", fmt.Errorf("verify-provenance: import keys/%s.asc: %w: %s", k, err, out)
		}
	}
	return keys, home, nil
}

// localPublicKey exports a key's public half from the keyring git signs
// with (its gpg.program).
func localPublicKey(ctx context.Context, repo git.Repo, id string) (string, error) {
	_, program := publish.SigningKey(ctx, repo)
	out, err := provenance.GPG{Program: program}.Export(ctx, id)
	return string(out), err
}

// treeFiles reads every file of a commit (git archive), by path.
func treeFiles(ctx context.Context, root, commit string) (map[string][]byte, error) {
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", commit)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git archive %s: %w", git.Short(commit), err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[h.Name] = data
	}
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}
