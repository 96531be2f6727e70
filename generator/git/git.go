// Package git runs the git CLI against one repository. It is the only
// package that executes git.
package git

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Repo is a git working tree (or bare repository) on disk.
type Repo struct {
	Dir string
	// Env is added to the environment of every git command.
	Env []string
}

// Run runs git with args and returns its trimmed standard output. The error
// carries git's standard error.
func (r Repo) Run(ctx context.Context, args ...string) (string, error) {
	return r.RunEnv(ctx, nil, args...)
}

// RunEnv is Run with extra environment variables for this command only.
func (r Repo) RunEnv(ctx context.Context, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"), r.Env...), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Head returns the commit HEAD points at.
func (r Repo) Head(ctx context.Context) (string, error) {
	return r.Run(ctx, "rev-parse", "--verify", "HEAD^{commit}")
}

// Resolve returns the full commit id of a revision.
func (r Repo) Resolve(ctx context.Context, rev string) (string, error) {
	return r.Run(ctx, "rev-parse", "--verify", rev+"^{commit}")
}

// Dirty lists uncommitted changes and untracked files, as git status
// --porcelain prints them, but those at the paths except (relative to the
// top of the working tree); empty means clean.
func (r Repo) Dirty(ctx context.Context, except ...string) ([]string, error) {
	args := []string{"status", "--porcelain", "--untracked-files=all", "--"}
	for _, e := range except {
		args = append(args, ":(exclude,top)"+e)
	}
	out, err := r.Run(ctx, args...)
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// RemoteBranch returns the commit a remote's branch points at, or "" if the
// remote has no such branch.
func (r Repo) RemoteBranch(ctx context.Context, remote, branch string) (string, error) {
	out, err := r.Run(ctx, "ls-remote", "--heads", remote, "refs/heads/"+branch)
	if err != nil || out == "" {
		return "", err
	}
	sha, _, _ := strings.Cut(out, "\t")
	return sha, nil
}

// Fetch fetches a remote branch into its remote-tracking ref.
func (r Repo) Fetch(ctx context.Context, remote, branch string) error {
	_, err := r.Run(ctx, "fetch", "--quiet", remote, fmt.Sprintf("+refs/heads/%s:refs/remotes/%s/%s", branch, remote, branch))
	return err
}

// Worktree checks rev out, detached, into a new temporary directory without
// touching the repository's own working tree, leaving out the folders
// without names (repo-relative: a diff's base needs its sources, not the
// thousands of rendered files). Call remove when done.
func (r Repo) Worktree(ctx context.Context, rev string, without ...string) (dir string, remove func(), err error) {
	tmp, err := os.MkdirTemp("", "gitops-worktree-*")
	if err != nil {
		return "", nil, err
	}
	dir = filepath.Join(tmp, "tree")
	add := []string{"worktree", "add", "--detach", "--quiet", dir, rev}
	if len(without) > 0 {
		add = []string{"worktree", "add", "--detach", "--quiet", "--no-checkout", dir, rev}
	}
	if _, err := r.Run(ctx, add...); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	remove = func() {
		_, _ = r.Run(context.WithoutCancel(ctx), "worktree", "remove", "--force", dir)
		os.RemoveAll(tmp)
	}
	if len(without) > 0 {
		// Every path but those: the index and the files of the rest.
		spec := []string{"checkout", rev, "--", "."}
		for _, w := range without {
			spec = append(spec, ":(exclude)"+w)
		}
		if _, err := (Repo{Dir: dir}).Run(ctx, spec...); err != nil {
			remove()
			return "", nil, err
		}
	}
	return dir, remove, nil
}

// Changed lists the repo-relative paths that differ between rev and the
// working tree: committed, staged and unstaged changes (both sides of a
// rename) and untracked files, sorted and without duplicates.
func (r Repo) Changed(ctx context.Context, rev string) ([]string, error) {
	// Both at once: each walks the whole working tree (tens of thousands
	// of rendered files on a large platform), one stat-ing what the index
	// holds, the other listing what it does not.
	var (
		untracked string
		uerr      error
		done      = make(chan struct{})
	)
	go func() {
		defer close(done)
		untracked, uerr = r.Run(ctx, "ls-files", "--others", "--exclude-standard", "-z")
	}()
	diff, err := r.Run(ctx, "diff", "--name-only", "--no-renames", "-z", rev, "--")
	<-done
	if err != nil {
		return nil, err
	}
	if uerr != nil {
		return nil, uerr
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range strings.Split(diff+"\x00"+untracked, "\x00") {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Show returns a file's content at rev; ok is false when rev has no such file.
func (r Repo) Show(ctx context.Context, rev, path string) (data []byte, ok bool, err error) {
	if _, err := r.Run(ctx, "cat-file", "-e", rev+":"+path); err != nil {
		return nil, false, nil
	}
	cmd := exec.CommandContext(ctx, "git", "show", rev+":"+path)
	cmd.Dir = r.Dir
	cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"), r.Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, false, fmt.Errorf("git show %s:%s: %w: %s", rev, path, err, strings.TrimSpace(stderr.String()))
	}
	return b, true, nil
}

// Blobs lists the files under dir (relative to r.Dir) at rev, each by its
// path relative to r.Dir and its blob id; none when rev has no such folder.
func (r Repo) Blobs(ctx context.Context, rev, dir string) (map[string]string, error) {
	out, err := r.Run(ctx, "ls-tree", "-r", "-z", rev, "--", dir+"/")
	if err != nil {
		return nil, err
	}
	blobs := map[string]string{}
	for _, line := range strings.Split(out, "\x00") {
		if line == "" {
			continue
		}
		// <mode> SP <type> SP <id> TAB <path>
		meta, path, ok := strings.Cut(line, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 3 {
			return nil, fmt.Errorf("git ls-tree %s: unexpected line %q", rev, line)
		}
		if fields[1] == "blob" {
			blobs[path] = fields[2]
		}
	}
	return blobs, nil
}

// BlobID is the id git gives a file of this content in a repository of
// SHA-1 object names (git's default): what Blobs lists for it.
func BlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// Short abbreviates a commit hash to the 12 characters reports show.
func Short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
