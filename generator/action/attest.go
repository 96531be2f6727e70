package action

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/provenance"
	"github.com/libertum/platform-gitops/generator/publish"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// renderInputs digests every file the workspace's render read, sorted by
// path.
func renderInputs(ws *workspace.Workspace) ([]provenance.Digest, error) {
	files, err := ws.Inputs()
	if err != nil {
		return nil, err
	}
	out := make([]provenance.Digest, 0, len(files))
	for _, p := range slices.Sorted(maps.Keys(files)) {
		out = append(out, provenance.Of(p, files[p]))
	}
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
// render of ws (at commit source, judged by rep), signed with git's
// signing key in root; nil when git signs nothing.
func attester(ctx context.Context, root string, ws *workspace.Workspace, repoURL, source string, rep *Report) func(context.Context, []provenance.Digest) ([]byte, error) {
	key, program := publish.SigningKey(ctx, git.Repo{Dir: root})
	if key == "" {
		return nil
	}
	return func(ctx context.Context, files []provenance.Digest) ([]byte, error) {
		inputs, err := renderInputs(ws)
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
