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
)

// Trailer keys on rendered commits.
const (
	SourceTrailer = "Source-Commit"
	EnvsTrailer   = "Environments"
)

// Options say what to publish where.
type Options struct {
	// Root is the source repository's working tree.
	Root   string
	Remote string
	Branch string
	// Source, when set, publishes that commit's render instead of the
	// working tree's rendered/ (a rollback or roll-forward).
	Source string
	// Retries bounds how often a push is retried when the remote moved.
	Retries int
	// Check renders and checks the tree at root (the working tree, or a
	// worktree of Source) and returns the files to publish; an error, such
	// as a failing verify, refuses the publish. drift says to compare with
	// the tree's committed rendered/ too (off for a rollback, whose
	// rendered/ an older tool wrote).
	Check func(ctx context.Context, root string, drift bool) ([]layout.File, error)
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
}

// MetadataFile is the hydrator contract file at the root of every rendered
// commit: the source ("dry") commit it was rendered from.
const MetadataFile = "hydrator.metadata"

// metadata is the hydrator.metadata file's content.
type metadata struct {
	RepoURL  string   `json:"repoURL"`
	DrySHA   string   `json:"drySha"`
	Commands []string `json:"commands"`
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
	// Stamps are the stamp branches the publish moved.
	Stamps []StampState
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

// Run checks the source and commits its render to the rendered branch.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Remote == "" || o.Branch == "" || o.Check == nil {
		return nil, errors.New("publish: remote, branch and check are required")
	}
	if o.Retries <= 0 {
		o.Retries = 3
	}
	repo := git.Repo{Dir: o.Root, Env: identity(ctx, git.Repo{Dir: o.Root})}
	source, files, err := sourceRender(ctx, repo, o)
	if err != nil {
		return nil, err
	}
	res, err := commitAndPush(ctx, repo, o, source, files)
	if err != nil || len(o.Stamps) == 0 || res.Superseded != "" {
		return res, err
	}
	why := "Published by gitops publish: the first wave takes every render."
	if o.Source != "" {
		why = "Published by gitops publish --source (a rollback or roll-forward): the first wave takes it."
	}
	if o.BeforeMove != nil {
		o.BeforeMove()
	}
	// Forward only: when another publish moved the stamps to a later
	// render meanwhile, this one leaves them there.
	if res.Stamps, err = move(ctx, repo, o.Remote, o.Stamps, res.Commit, forward, o.Retries, why); err != nil {
		return nil, fmt.Errorf("published %s, but %w", short(res.Commit), err)
	}
	return res, nil
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

// sourceRender returns the source commit and the files to publish: the
// working tree's verified rendered/, or a fresh render of o.Source.
func sourceRender(ctx context.Context, repo git.Repo, o Options) (string, []layout.File, error) {
	root := o.Root
	var source string
	if o.Source == "" {
		// The render lock is the tool's, not a change: a killed render
		// leaves it behind.
		dirty, err := repo.Dirty(ctx, filepath.Base(layout.LockFile(filepath.Join(o.Root, layout.Dir))))
		if err != nil {
			return "", nil, err
		}
		if len(dirty) > 0 {
			return "", nil, &DirtyError{Files: dirty}
		}
		if source, err = repo.Head(ctx); err != nil {
			return "", nil, err
		}
	} else {
		var err error
		if source, err = repo.Resolve(ctx, o.Source); err != nil {
			return "", nil, fmt.Errorf("publish --source %s: %w", o.Source, err)
		}
		tree, remove, err := repo.Worktree(ctx, source)
		if err != nil {
			return "", nil, err
		}
		defer remove()
		root = tree
	}
	// A rollback re-renders an older source with today's tool: only its
	// render is checked, not its committed rendered/ (which an older tool wrote).
	files, err := o.Check(ctx, root, o.Source == "")
	if err != nil {
		return "", nil, err
	}
	return source, files, nil
}

func commitAndPush(ctx context.Context, repo git.Repo, o Options, source string, files []layout.File) (*Result, error) {
	meta, err := json.MarshalIndent(metadata{RepoURL: o.RepoURL, DrySHA: source, Commands: []string{"gitops publish"}}, "", "  ")
	if err != nil {
		return nil, err
	}
	tree, err := writeTree(ctx, repo, files, meta)
	if err != nil {
		return nil, err
	}
	res := &Result{Source: source}
	for attempt := 1; attempt <= o.Retries; attempt++ {
		res.Attempts = attempt
		parent, err := repo.RemoteBranch(ctx, o.Remote, o.Branch)
		if err != nil {
			return nil, err
		}
		res.Created = parent == ""
		if parent != "" {
			if err := repo.Fetch(ctx, o.Remote, o.Branch); err != nil {
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
			if o.Source == "" {
				later, err := laterSource(ctx, repo, o.Remote, parent, source)
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
		args := []string{"commit-tree", tree, "-m", message(source, res.Envs)}
		if parent != "" {
			args = append(args, "-p", parent)
		}
		commit, err := repo.Run(ctx, args...)
		if err != nil {
			return nil, err
		}
		if o.BeforePush != nil {
			o.BeforePush(attempt)
		}
		// No force: a moved remote rejects the push, and we build on its tip.
		if _, err := repo.Run(ctx, "push", "--quiet", o.Remote, commit+":refs/heads/"+o.Branch); err != nil {
			if rejected(err) && attempt < o.Retries {
				continue
			}
			return nil, fmt.Errorf("publish to %s/%s: %w", o.Remote, o.Branch, err)
		}
		res.Commit = commit
		return res, nil
	}
	return nil, fmt.Errorf("publish to %s/%s: the remote kept moving; gave up after %d attempts", o.Remote, o.Branch, o.Retries)
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
func writeTree(ctx context.Context, repo git.Repo, files []layout.File, meta []byte) (string, error) {
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
	if err := os.WriteFile(filepath.Join(dir, MetadataFile), append(meta, '\n'), 0o644); err != nil {
		return "", err
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
			continue // a file at the root (hydrator.metadata), not an environment's
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
