package action

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/provenance"
	"github.com/libertum/platform-gitops/generator/publish"
)

// InputDirs are the folders of the source repository a render reads:
// environment files, bases and charts, overlays, policies and CRDs.
var InputDirs = []string{"environments", "base", "overlays", "policies", "crds"}

// renderInputs digests every file of the folders a render reads, by path
// in the repository (sorted).
func renderInputs(root string) ([]provenance.Digest, error) {
	var out []provenance.Digest
	for _, d := range InputDirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) && p == filepath.Join(root, d) {
					return filepath.SkipDir
				}
				return err
			}
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			out = append(out, provenance.Of(filepath.ToSlash(rel), data))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// verdictOf summarises a verify report for the provenance.
func verdictOf(rep *Report) provenance.Verdict {
	var v provenance.Verdict
	for _, f := range rep.Findings {
		switch {
		case f.Level == policy.Deny:
			v.Denied++
			if strings.HasPrefix(f.Rule, "programs.connect") || strings.HasPrefix(f.Rule, "network.") {
				v.Connectivity++
			}
		default:
			v.Warnings++
			if f.Exception != "" {
				v.Waived++
			}
		}
	}
	v.Drift = len(rep.Drift)
	return v
}

// attester returns the publish's provenance: the statement for the
// render of src (rendered from the files under srcRoot, judged by rep),
// signed with git's signing key; nil when git signs nothing.
func attester(ctx context.Context, root, srcRoot, repoURL, source string, rep *Report) func(context.Context, []provenance.Digest) ([]byte, error) {
	key, program := publish.SigningKey(ctx, git.Repo{Dir: root})
	if key == "" {
		return nil
	}
	return func(ctx context.Context, files []provenance.Digest) ([]byte, error) {
		inputs, err := renderInputs(srcRoot)
		if err != nil {
			return nil, err
		}
		st, err := provenance.Statement(provenance.Build{RepoURL: repoURL, Source: source, Inputs: inputs, Tool: cache.ToolID(), Verdict: verdictOf(rep)}, files)
		if err != nil {
			return nil, err
		}
		return provenance.Envelope(ctx, st, provenance.GPG{Program: program, Key: key})
	}
}
