// Package publish commits rendered trees to the branch Argo CD syncs from.
// Every commit there names the source commit it was rendered from, history
// is only ever appended to (no force pushes), and a rollback is a new
// commit holding an older source's render.
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/provenance"
)

// Trailer keys on rendered commits.
const (
	SourceTrailer = "Source-Commit"
	EnvsTrailer   = "Environments"
)

// Options say how to publish to a target.
type Options struct {
	Branch string
	// Retries bounds how often a push is retried when the remote moved.
	Retries int
	// BeforePush, if set, runs before each push (tests use it to move the
	// remote underneath a publish).
	BeforePush func(attempt int)
	// BeforeMove, if set, runs between the rendered branch's push and the
	// stamps' move (tests use it to publish concurrently).
	BeforeMove func()
	// RepoURL is the source repository, recorded with the source commit in
	// each commit's hydrator.metadata (the contract PR-based promoters read).
	RepoURL string
	// Stamps are the stamps a publish moves (each environment's first
	// wave); the later waves follow with Rollout.
	Stamps []Stamp
	// Later are the later waves' stamps. A publish moves one of them only
	// when it has never run a render (a new stamp: nothing to protect) —
	// or, for a rollback (--source), all of them at once: a rollback is the
	// emergency path, and waits for no soak.
	Later []Stamp
	// Proposed hands the stamps to a promoter instead of moving them: the
	// render goes to every stamp's proposed branch (its branch with the
	// ProposedSuffix, the hydrator contract of gitops-promoter), in every
	// wave, and no stamp branch moves; the promoter's pull request from
	// the proposed branch into the stamp branch (or a reviewer's) gates
	// each stamp, a rollback too.
	Proposed bool
	// SignatureKeys are the keys Argo CD trusts: every commit is signed
	// with one (spec.argocd.signatureKeys of every environment).
	SignatureKeys []string
	// Attest, if set, returns the provenance envelope of a rendered tree,
	// given the digest of each of its files; it is committed beside
	// hydrator.metadata (provenance.File).
	Attest func(ctx context.Context, files []provenance.Digest) ([]byte, error)
}

// ProposedSuffix names a stamp's proposed branch after its branch:
// gitops-promoter reads the render awaiting promotion from
// "<active branch>-next" (a fixed convention of the promoter, documented in
// its "Building a Custom Hydrator").
const ProposedSuffix = "-next"

// Proposed returns the stamp with its proposed branch.
func (s Stamp) Proposed() Stamp {
	s.Branch += ProposedSuffix
	return s
}

// MetadataFile is the hydrator contract file at the root of every rendered
// commit: the source ("dry") commit it was rendered from.
const MetadataFile = "hydrator.metadata"

// metadata is the hydrator.metadata file's content: the source commit
// (drySha, the one field a promoter requires) and, for the promoter's
// view, that commit's author, date and message.
type metadata struct {
	RepoURL  string   `json:"repoURL"`
	DrySHA   string   `json:"drySha"`
	Commands []string `json:"commands"`
	Author   string   `json:"author,omitempty"`
	Date     string   `json:"date,omitempty"`
	Subject  string   `json:"subject,omitempty"`
	Body     string   `json:"body,omitempty"`
}

// Metadata returns the hydrator.metadata file of a render of source, as
// publish writes it (verify-provenance compares it too).
func Metadata(ctx context.Context, repo git.Repo, repoURL, source string) ([]byte, error) {
	m, err := sourceMetadata(ctx, repo, repoURL, source)
	if err != nil {
		return nil, err
	}
	return append(m, '\n'), nil
}

// sourceMetadata describes the source commit for hydrator.metadata.
func sourceMetadata(ctx context.Context, repo git.Repo, repoURL, source string) ([]byte, error) {
	m := metadata{RepoURL: repoURL, DrySHA: source, Commands: []string{"gitops publish"}}
	out, err := repo.Run(ctx, "show", "-s", "--format=%an <%ae>%x00%aI%x00%s%x00%b", source)
	if err != nil {
		return nil, err
	}
	if f := strings.SplitN(out, "\x00", 4); len(f) == 4 {
		m.Author, m.Date, m.Subject, m.Body = f[0], f[1], f[2], strings.TrimSpace(f[3])
	}
	return json.MarshalIndent(m, "", "  ")
}

// Result says what a publish did.
type Result struct {
	Source string
	// Commit is the rendered branch's commit after the publish.
	Commit string
	// Created is true when the publish created the branch.
	Created bool
	// Unchanged is true when the branch already held this tree: no commit.
	Unchanged bool
	// Envs are the environments whose rendered files changed.
	Envs     []string
	Attempts int
	// Stamps are the stamp branches the publish moved: with Proposed, the
	// proposed branches.
	Stamps []StampState
	// Proposed says the render was proposed to the stamps, not deployed.
	Proposed bool
	// Superseded names the later source commit whose render the branch
	// already holds: a publish of an older commit that lost the race
	// commits nothing and moves no stamp.
	Superseded string
}

// DirtyError refuses a publish from a working tree with uncommitted
// changes: the rendered branch must trace back to a commit.
type DirtyError struct{ Files []string }

func (e *DirtyError) Error() string {
	const show = 10
	files := e.Files
	more := ""
	if len(files) > show {
		more = fmt.Sprintf("\n  ... and %d more", len(files)-show)
		files = files[:show]
	}
	return fmt.Sprintf("refusing to publish from a dirty working tree; commit or stash first:\n  %s%s", strings.Join(files, "\n  "), more)
}

// Target is where verified renders are published. Open picks one by the
// remote's URL scheme, as blobcache picks a store by its URL; a git
// remote's rendered branch is the one kind today. Verifying what is
// published is the caller's: a target publishes the files it is given.
type Target interface {
	// Publish commits files, the render of src, as the newest rendered
	// tree, and moves the stamps o names to it.
	Publish(ctx context.Context, src *Source, files []layout.File, o Options) (*Result, error)
}

// gitSchemes are the URL schemes of git remotes; a remote without one is a
// remote's name, a path or an scp-like user@host:path.
var gitSchemes = map[string]bool{"file": true, "ssh": true, "git": true, "http": true, "https": true}

// Open returns the publish target for remote, from the repository at root.
func Open(root, remote string) (Target, error) {
	if remote == "" {
		return nil, errors.New("publish: a remote is required")
	}
	if scheme, _, ok := strings.Cut(remote, "://"); ok && !gitSchemes[scheme] {
		return nil, fmt.Errorf("publish: no target for %s:// remotes (a git remote: its name, a path, or a file, ssh, git or http(s) URL)", scheme)
	}
	return &gitTarget{root: root, remote: remote}, nil
}

// gitTarget publishes to a git remote's rendered branch and its stamp
// branches.
type gitTarget struct{ root, remote string }

// Publish commits files to the rendered branch and moves the first wave.
func (g *gitTarget) Publish(ctx context.Context, src *Source, files []layout.File, o Options) (*Result, error) {
	if o.Branch == "" {
		return nil, errors.New("publish: a branch is required")
	}
	if o.Retries <= 0 {
		o.Retries = 3
	}
	repo := git.Repo{Dir: g.root, Env: identity(ctx, git.Repo{Dir: g.root})}
	res, err := commitAndPush(ctx, repo, g.remote, o, src, files)
	if err != nil || len(o.Stamps)+len(o.Later) == 0 || res.Superseded != "" {
		return res, err
	}
	if o.BeforeMove != nil {
		o.BeforeMove()
	}
	if o.Proposed {
		// Every stamp's proposed branch holds the newest render (forward
		// only, as stamps move); nothing deploys until it is promoted.
		var proposed []Stamp
		for _, s := range slices.Concat(o.Stamps, o.Later) {
			proposed = append(proposed, s.Proposed())
		}
		why := "Proposed by gitops publish --proposed: the stamp runs it once the promotion (a pull request into its branch) merges."
		res.Stamps, err = move(ctx, repo, g.remote, proposed, res.Commit, forward, o.Retries, why, o.SignatureKeys)
		if err != nil {
			return nil, fmt.Errorf("published %s, but %w", git.Short(res.Commit), err)
		}
		res.Proposed = true
		return res, nil
	}
	why := "Published by gitops publish: the first wave takes every render."
	if src.Rollback {
		why = "Published by gitops publish --source (a rollback or roll-forward): every wave takes it at once."
	}
	// Forward only: when another publish moved the stamps to a later
	// render meanwhile, this one leaves them there. (A rollback is a new
	// commit on the rendered branch too: forward.)
	if res.Stamps, err = move(ctx, repo, g.remote, o.Stamps, res.Commit, forward, o.Retries, why, o.SignatureKeys); err != nil {
		return nil, fmt.Errorf("published %s, but %w", git.Short(res.Commit), err)
	}
	later, whyLater := o.Later, why
	if !src.Rollback {
		if later, err = unborn(ctx, repo, g.remote, o.Later); err != nil {
			return nil, fmt.Errorf("published %s, but %w", git.Short(res.Commit), err)
		}
		whyLater = "Published by gitops publish: a stamp that has run no render takes the first one at once (nothing to protect)."
	}
	if len(later) > 0 {
		moved, err := move(ctx, repo, g.remote, later, res.Commit, forward, o.Retries, whyLater, o.SignatureKeys)
		if err != nil {
			return nil, fmt.Errorf("published %s, but %w", git.Short(res.Commit), err)
		}
		res.Stamps = append(res.Stamps, moved...)
	}
	return res, nil
}

// unborn returns the stamps whose branch does not exist yet on the remote
// (asked only whether it exists: nothing is fetched).
func unborn(ctx context.Context, repo git.Repo, remote string, stamps []Stamp) ([]Stamp, error) {
	var out []Stamp
	for _, s := range stamps {
		tip, err := repo.RemoteBranch(ctx, remote, s.Branch)
		if err != nil {
			return nil, err
		}
		if tip == "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// identity supplies a committer when the repository has none configured (a
// fresh CI machine), so publish never fails on git's identity check.
func identity(ctx context.Context, r git.Repo) []string {
	if email, err := r.Run(ctx, "config", "user.email"); err == nil && email != "" {
		return nil
	}
	return []string{
		"GIT_AUTHOR_NAME=gitops publish", "GIT_AUTHOR_EMAIL=gitops@libertum.io",
		"GIT_COMMITTER_NAME=gitops publish", "GIT_COMMITTER_EMAIL=gitops@libertum.io",
	}
}

// Source is what a publish renders: a commit, and the tree to render it
// from.
type Source struct {
	// Commit is the source commit.
	Commit string
	// Root is the tree to render: the working tree, or a worktree of an
	// older commit.
	Root string
	// Rollback says Root is a worktree of the commit --source named (a
	// rollback or roll-forward): its render is checked, not its committed
	// rendered/, which an older tool wrote; and it may take the rendered
	// branch back.
	Rollback bool

	remove func()
}

// Close removes a rollback's worktree.
func (s *Source) Close() {
	if s.remove != nil {
		s.remove()
	}
}

// Checkout returns the source of a publish from the repository at root:
// the working tree at HEAD, refused when it has uncommitted changes (the
// rendered branch must trace back to a commit), or a worktree of rev.
func Checkout(ctx context.Context, root, rev string) (*Source, error) {
	repo := git.Repo{Dir: root}
	if rev != "" {
		commit, err := repo.Resolve(ctx, rev)
		if err != nil {
			return nil, fmt.Errorf("publish --source %s: %w", rev, err)
		}
		tree, remove, err := repo.Worktree(ctx, commit)
		if err != nil {
			return nil, err
		}
		return &Source{Commit: commit, Root: tree, Rollback: true, remove: remove}, nil
	}
	// The render lock is the tool's, not a change: a killed render leaves
	// it behind.
	dirty, err := repo.Dirty(ctx, filepath.Base(layout.LockFile(filepath.Join(root, layout.Dir))))
	if err != nil {
		return nil, err
	}
	if len(dirty) > 0 {
		return nil, &DirtyError{Files: dirty}
	}
	commit, err := repo.Head(ctx)
	if err != nil {
		return nil, err
	}
	return &Source{Commit: commit, Root: root}, nil
}

func commitAndPush(ctx context.Context, repo git.Repo, remote string, o Options, src *Source, files []layout.File) (*Result, error) {
	source := src.Commit
	meta, err := Metadata(ctx, repo, o.RepoURL, source) // the file, newline included
	if err != nil {
		return nil, err
	}
	var attestation []byte
	if o.Attest != nil {
		digests := make([]provenance.Digest, 0, len(files)+1)
		for _, f := range files {
			digests = append(digests, provenance.Of(f.Path, f.Data))
		}
		digests = append(digests, provenance.Of(MetadataFile, meta))
		if attestation, err = o.Attest(ctx, digests); err != nil {
			return nil, err
		}
	}
	tree, err := writeTree(ctx, repo, files, meta, attestation)
	if err != nil {
		return nil, err
	}
	res := &Result{Source: source}
	for attempt := 1; attempt <= o.Retries; attempt++ {
		res.Attempts = attempt
		parent, err := repo.RemoteBranch(ctx, remote, o.Branch)
		if err != nil {
			return nil, err
		}
		res.Created = parent == ""
		if parent != "" {
			if err := repo.Fetch(ctx, remote, o.Branch); err != nil {
				return nil, err
			}
			parentTree, err := repo.Run(ctx, "rev-parse", parent+"^{tree}")
			if err != nil {
				return nil, err
			}
			if parentTree == tree {
				res.Commit, res.Unchanged = parent, true
				return res, nil
			}
			if !src.Rollback {
				later, err := laterSource(ctx, repo, remote, parent, source)
				if err != nil {
					return nil, err
				}
				if later != "" {
					// Another publish of a later commit got there first:
					// rendering an older one on top would take every stamp
					// back. A rollback says so with --source.
					res.Commit, res.Superseded = parent, later
					return res, nil
				}
			}
		}
		res.Envs, err = changedEnvs(ctx, repo, parent, tree)
		if err != nil {
			return nil, err
		}
		if parent != "" && len(res.Envs) == 0 {
			// Only the source commit in hydrator.metadata differs.
			res.Commit, res.Unchanged = parent, true
			return res, nil
		}
		args := []string{tree, "-m", message(source, res.Envs)}
		if parent != "" {
			args = append(args, "-p", parent)
		}
		commit, err := commitTree(ctx, repo, o.SignatureKeys, args...)
		if err != nil {
			return nil, err
		}
		if o.BeforePush != nil {
			o.BeforePush(attempt)
		}
		// No force: a moved remote rejects the push, and we build on its tip.
		if _, err := repo.Run(ctx, "push", "--quiet", remote, commit+":refs/heads/"+o.Branch); err != nil {
			if rejected(err) && attempt < o.Retries {
				continue
			}
			return nil, fmt.Errorf("publish to %s/%s: %w", remote, o.Branch, err)
		}
		res.Commit = commit
		return res, nil
	}
	return nil, fmt.Errorf("publish to %s/%s: the remote kept moving; gave up after %d attempts", remote, o.Branch, o.Retries)
}

// laterSource returns the source commit the rendered commit parent was
// rendered from when it is a later commit than source; "" otherwise.
func laterSource(ctx context.Context, repo git.Repo, remote, parent, source string) (string, error) {
	theirs, err := repo.Run(ctx, "log", "-1", "--format=%(trailers:key="+SourceTrailer+",valueonly)", parent)
	if err != nil {
		return "", err
	}
	if theirs = strings.TrimSpace(theirs); !descends(ctx, repo, remote, theirs, source) {
		return "", nil
	}
	return theirs, nil
}

func rejected(err error) bool {
	s := err.Error()
	return strings.Contains(s, "[rejected]") || strings.Contains(s, "non-fast-forward") || strings.Contains(s, "fetch first") || strings.Contains(s, "stale info")
}

// writeTree stores files as a git tree, through a throwaway index so
// neither the working tree nor the real index is touched.
func writeTree(ctx context.Context, repo git.Repo, files []layout.File, meta, attestation []byte) (string, error) {
	tmp, err := os.MkdirTemp("", "gitops-publish-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, layout.Dir)
	envs := map[string]bool{}
	for _, f := range files {
		envs[layout.Env(f.Path)] = true
	}
	if err := layout.Replace(dir, slices.Sorted(maps.Keys(envs)), files); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, MetadataFile), meta, 0o644); err != nil {
		return "", err
	}
	if attestation != nil {
		if err := os.WriteFile(filepath.Join(dir, provenance.File), attestation, 0o644); err != nil {
			return "", err
		}
	}
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	if _, err := repo.RunEnv(ctx, env, "--work-tree="+dir, "add", "--all", "--force", "."); err != nil {
		return "", err
	}
	return repo.RunEnv(ctx, env, "write-tree")
}

// changedEnvs lists the environments (top-level folders) whose files differ
// between the parent commit and tree; all of them for a first commit.
func changedEnvs(ctx context.Context, repo git.Repo, parent, tree string) ([]string, error) {
	var out string
	var err error
	if parent == "" {
		out, err = repo.Run(ctx, "ls-tree", "-d", "--name-only", tree)
	} else {
		out, err = repo.Run(ctx, "diff-tree", "-r", "--name-only", parent, tree)
	}
	if err != nil {
		return nil, err
	}
	envs := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if line == "" || !strings.Contains(line, "/") && parent != "" {
			continue // a file at the root (hydrator.metadata, the provenance), not an environment's
		}
		envs[layout.Env(line)] = true
	}
	return slices.Sorted(maps.Keys(envs)), nil
}

func message(source string, envs []string) string {
	short := source
	if len(short) > 12 {
		short = short[:12]
	}
	return fmt.Sprintf("Render %s for %s\n\nRendered from %s by gitops publish.\n\n%s: %s\n%s: %s\n",
		short, strings.Join(envs, ", "), source, SourceTrailer, source, EnvsTrailer, strings.Join(envs, ", "))
}
