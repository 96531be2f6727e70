package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/git"
)

// Trailers on stamp branch commits.
const (
	RenderedTrailer = "Rendered-Commit"
	StampTrailer    = "Stamp"
)

// Stamp is one stamp's branch: what its Applications track.
type Stamp struct {
	Env    string `json:"environment"`
	Name   string `json:"stamp"`
	Branch string `json:"branch"`
}

func (s Stamp) String() string { return s.Env + "/" + s.Name }

// StampState is where a stamp's branch stands.
type StampState struct {
	Stamp
	// Commit is the branch's tip; empty when the branch does not exist.
	Commit string `json:"commit,omitempty"`
	// Rendered is the rendered-branch commit whose tree the stamp runs, and
	// Source the source commit that was rendered from.
	Rendered string `json:"rendered,omitempty"`
	Source   string `json:"source,omitempty"`
	// Since is when the branch was last moved.
	Since time.Time `json:"since,omitempty"`
}

// States reads where each stamp's branch stands on the remote.
func States(ctx context.Context, repo git.Repo, remote string, stamps []Stamp) ([]StampState, error) {
	out := make([]StampState, 0, len(stamps))
	for _, s := range stamps {
		st := StampState{Stamp: s}
		tip, err := repo.RemoteBranch(ctx, remote, s.Branch)
		if err != nil {
			return nil, err
		}
		if tip != "" {
			if err := repo.Fetch(ctx, remote, s.Branch); err != nil {
				return nil, err
			}
			last, err := moves(ctx, repo, s.Branch, tip, 1)
			if err != nil {
				return nil, err
			}
			if len(last) == 1 {
				st.Commit, st.Rendered, st.Source, st.Since = tip, last[0].Rendered, last[0].Source, last[0].From
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// Direction says whether a move may take a stamp to an older render.
type direction int

const (
	// forward leaves a stamp alone when it already runs a later commit of
	// the rendered branch: of two publishes at once, the older never wins.
	forward direction = iota
	// anyway moves the stamp wherever it is: a rollback asked for it.
	anyway
)

// move advances stamps to a rendered commit: on each stamp branch a new
// commit holding that commit's tree (never a force-push: a stamp that goes
// back gets a new commit with the older tree). All branches move in one
// atomic push; a remote that moved meanwhile is re-read and retried.
// Stamps already holding the tree are left alone, and so, moving forward,
// are stamps running a descendant of rendered on the rendered branch. It
// returns the moved stamps' new states.
func move(ctx context.Context, repo git.Repo, remote string, stamps []Stamp, rendered string, dir direction, retries int, why string, keys []string) ([]StampState, error) {
	tree, err := repo.Run(ctx, "rev-parse", rendered+"^{tree}")
	if err != nil {
		return nil, err
	}
	source, err := repo.Run(ctx, "log", "-1", "--format=%(trailers:key="+SourceTrailer+",valueonly)", rendered)
	if err != nil {
		return nil, err
	}
	source = strings.TrimSpace(source)
	if retries <= 0 {
		retries = 3
	}
	for attempt := 1; ; attempt++ {
		states, err := States(ctx, repo, remote, stamps)
		if err != nil {
			return nil, err
		}
		var refs []string
		var moved []StampState
		for _, st := range states {
			if st.Commit != "" {
				if t, err := repo.Run(ctx, "rev-parse", st.Commit+"^{tree}"); err == nil && t == tree {
					continue
				}
			}
			if dir == forward && descends(ctx, repo, remote, st.Rendered, rendered) {
				continue
			}
			msg := fmt.Sprintf("%s: %s takes the render of %s\n\n%s\n\n%s: %s\n%s: %s\n%s: %s\n",
				st.Stamp, st.Stamp, git.Short(source), why, SourceTrailer, source, RenderedTrailer, rendered, StampTrailer, st.Stamp)
			args := []string{tree, "-m", msg}
			if st.Commit != "" {
				args = append(args, "-p", st.Commit)
			}
			commit, err := commitTree(ctx, repo, keys, args...)
			if err != nil {
				return nil, err
			}
			refs = append(refs, commit+":refs/heads/"+st.Branch)
			st.Commit, st.Rendered, st.Source, st.Since = commit, rendered, source, time.Now()
			moved = append(moved, st)
		}
		if len(refs) == 0 {
			return nil, nil
		}
		_, err = repo.Run(ctx, append([]string{"push", "--quiet", "--atomic", remote}, refs...)...)
		switch {
		case err == nil:
			return moved, nil
		case rejected(err) && attempt < retries:
			continue
		}
		return nil, fmt.Errorf("move stamps %v to %s: %w", stamps, git.Short(rendered), err)
	}
}

// descends says whether commit is a later commit than base (base is its
// ancestor), fetching commit by name when it is not here: it may be
// another publish's, pushed meanwhile. A commit the remote does not give
// is not known to be later.
func descends(ctx context.Context, repo git.Repo, remote, commit, base string) bool {
	if commit == "" || commit == base {
		return false
	}
	if _, err := repo.Run(ctx, "cat-file", "-e", commit+"^{commit}"); err != nil {
		if _, err := repo.Run(ctx, "fetch", "--quiet", remote, commit); err != nil {
			return false
		}
	}
	_, err := repo.Run(ctx, "merge-base", "--is-ancestor", base, commit)
	return err == nil
}

// RolloutOptions say which environment's waves to advance.
type RolloutOptions struct {
	Root, Remote string
	// Waves are the environment's stamps in rollout order.
	Waves [][]Stamp
	Soak  time.Duration
	Now   time.Time
	// Force advances without waiting for the soak time.
	Force   bool
	Retries int
	// SignatureKeys are the keys Argo CD trusts: every commit is signed
	// with one (spec.argocd.signatureKeys).
	SignatureKeys []string
}

// RolloutResult says what a rollout did.
type RolloutResult struct {
	// Wave is the (1-based) wave that moved, 0 when every wave already runs
	// the same render.
	Wave     int          `json:"wave"`
	Moved    []StampState `json:"moved"`
	Rendered string       `json:"rendered,omitempty"`
	Source   string       `json:"source,omitempty"`
	// Pinned is the stamp rollout --stamp --to pinned to Rendered (moved
	// or already there).
	Pinned string `json:"pinned,omitempty"`
}

// SoakError says the previous wave has not run its render long enough.
type SoakError struct {
	Wave int
	Left time.Duration
	Prev []StampState
}

func (e *SoakError) Error() string {
	return fmt.Sprintf("wave %d waits: wave %d took %s at %s and soaks for %s more (--now to roll out anyway)",
		e.Wave, e.Wave-1, git.Short(e.Prev[0].Source), e.Prev[0].Since.Format(time.RFC3339), e.Left.Round(time.Second))
}

// Rollout advances the first wave that does not run what the wave before
// it runs: to the newest render the wave before ran for the whole soak
// time (its current one, or an earlier one when merges came faster than
// the soak), or, with Force, to what the wave before runs now.
func Rollout(ctx context.Context, o RolloutOptions) (*RolloutResult, error) {
	repo := git.Repo{Dir: o.Root, Env: identity(ctx, git.Repo{Dir: o.Root})}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var prev []StampState
	for i, wave := range o.Waves {
		states, err := States(ctx, repo, o.Remote, wave)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			if err := settled(states); err != nil {
				return nil, fmt.Errorf("wave 1: %w (gitops publish moves it)", err)
			}
			prev = states
			continue
		}
		current := prev[0].Rendered
		behind := false
		for _, st := range states {
			behind = behind || st.Rendered != current
		}
		if !behind {
			prev = states
			continue
		}
		// The render to take: what the wave before runs, with --now; else
		// the newest render it ran for the whole soak time, which need not
		// be its current one (merges more often than the soak would
		// otherwise starve this wave).
		want, source := current, prev[0].Source
		soaked := o.Force
		if !o.Force {
			r, ok, err := newestSoakedOf(ctx, repo, prev, o.Now, o.Soak)
			if err != nil {
				return nil, err
			}
			if ok && !ranOrPassed(ctx, repo, o.Remote, states, r.Rendered) {
				want, source, soaked = r.Rendered, r.Source, true
			}
		}
		if !soaked {
			since := prev[0].Since
			for _, st := range prev {
				if st.Since.After(since) {
					since = st.Since
				}
			}
			return nil, &SoakError{Wave: i + 1, Left: o.Soak - o.Now.Sub(since), Prev: prev}
		}
		moved, err := move(ctx, repo, o.Remote, wave, want, forward, o.Retries,
			fmt.Sprintf("Rolled out by gitops rollout: wave %d follows wave %d (%s).", i+1, i, stampNames(prev)), o.SignatureKeys)
		if err != nil {
			return nil, err
		}
		return &RolloutResult{Wave: i + 1, Moved: moved, Rendered: want, Source: source}, nil
	}
	res := &RolloutResult{}
	if len(prev) > 0 {
		res.Rendered, res.Source = prev[0].Rendered, prev[0].Source
	}
	return res, nil
}

// settled refuses a wave whose stamps run different renders, or none.
func settled(states []StampState) error {
	for _, st := range states {
		if st.Commit == "" {
			return fmt.Errorf("%s has no branch %s yet", st.Stamp, st.Branch)
		}
		if st.Rendered != states[0].Rendered {
			return fmt.Errorf("its stamps run different renders (%s: %s, %s: %s)", states[0].Stamp, git.Short(states[0].Rendered), st.Stamp, git.Short(st.Rendered))
		}
	}
	return nil
}

func stampNames(states []StampState) string {
	names := make([]string, len(states))
	for i, st := range states {
		names[i] = st.Stamp.String()
	}
	return strings.Join(names, ", ")
}

// Pin moves one stamp to a render of the rendered branch — a rollback or
// roll-forward of that stamp alone. rev is a rendered-branch commit or the
// source commit it was rendered from. The result names the render whether
// the stamp moved or already ran it.
func Pin(ctx context.Context, root, remote, branch string, stamp Stamp, rev string, retries int, keys []string) (*RolloutResult, error) {
	repo := git.Repo{Dir: root, Env: identity(ctx, git.Repo{Dir: root})}
	entries, err := History(ctx, root, remote, branch, "")
	if err != nil {
		return nil, err
	}
	full, _ := repo.Resolve(ctx, rev)
	for _, e := range entries {
		if e.Commit == rev || e.Commit == full || e.Source == full || (len(rev) >= 7 && (strings.HasPrefix(e.Commit, rev) || strings.HasPrefix(e.Source, rev))) {
			moved, err := move(ctx, repo, remote, []Stamp{stamp}, e.Commit, anyway, retries, "Pinned by gitops rollout --stamp (rollback or roll-forward of this stamp alone).", keys)
			return &RolloutResult{Moved: moved, Rendered: e.Commit, Source: e.Source, Pinned: stamp.String()}, err
		}
	}
	return nil, errors.New("rollout --to " + rev + ": no commit of " + remote + "/" + branch + " is, or was rendered from, that revision")
}

// newestSoakedOf reads the wave's stamp branches' histories and picks the
// newest render each ran for the whole soak time (newestSoaked).
func newestSoakedOf(ctx context.Context, repo git.Repo, wave []StampState, now time.Time, soak time.Duration) (stampRun, bool, error) {
	var waveRuns [][]stampRun
	for _, st := range wave {
		rs, err := runs(ctx, repo, st)
		if err != nil {
			return stampRun{}, false, err
		}
		waveRuns = append(waveRuns, rs)
	}
	r, ok := newestSoaked(waveRuns, now, soak)
	return r, ok, nil
}

// ranOrPassed says whether every stamp of a wave runs rendered or a later
// render already: taking it would move nothing forward.
func ranOrPassed(ctx context.Context, repo git.Repo, remote string, states []StampState, rendered string) bool {
	for _, st := range states {
		if st.Rendered != rendered && !descends(ctx, repo, remote, st.Rendered, rendered) {
			return false
		}
	}
	return true
}
