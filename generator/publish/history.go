package publish

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/libertum/platform-gitops/generator/git"
)

// Entry is one commit of the rendered branch.
type Entry struct {
	Commit  string   `json:"commit"`
	Date    string   `json:"date"`
	Subject string   `json:"subject"`
	Source  string   `json:"source"`
	Envs    []string `json:"environments"`
	// Stamps are the stamps (env/stamp) that run this commit's render.
	Stamps []string `json:"stamps,omitempty"`
}

// History lists the rendered branch's commits, newest first, with the
// source commits they were rendered from; env limits it to commits that
// changed that environment.
func History(ctx context.Context, root, remote, branch, env string) ([]Entry, error) {
	repo := git.Repo{Dir: root}
	ref := "refs/remotes/" + remote + "/" + branch
	if err := repo.Fetch(ctx, remote, branch); err != nil {
		// Offline or no remote: fall back to what is known locally.
		if _, lerr := repo.Run(ctx, "rev-parse", "--verify", ref); lerr != nil {
			return nil, fmt.Errorf("history of %s/%s: %w", remote, branch, err)
		}
	}
	const sep, end = "\x1f", "\x1e"
	format := strings.Join([]string{"%H", "%cI", "%s",
		"%(trailers:key=" + SourceTrailer + ",valueonly,separator=%x2C)",
		"%(trailers:key=" + EnvsTrailer + ",valueonly,separator=%x2C)"}, "%x1f") + "%x1e"
	out, err := repo.Run(ctx, "log", "--format="+format, ref)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for _, rec := range strings.Split(out, end) {
		rec = strings.TrimSpace(rec)
		if rec == "" {
			continue
		}
		f := strings.Split(rec, sep)
		if len(f) != 5 {
			return nil, fmt.Errorf("history: unexpected log record %q", rec)
		}
		e := Entry{Commit: f[0], Date: f[1], Subject: f[2], Source: strings.TrimSpace(f[3])}
		for _, name := range strings.Split(f[4], ",") {
			if name = strings.TrimSpace(name); name != "" {
				e.Envs = append(e.Envs, name)
			}
		}
		if env != "" && !slices.Contains(e.Envs, env) {
			continue
		}
		entries = append(entries, e)
	}
	return entries, nil
}
