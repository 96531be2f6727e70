package publish

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/git"
)

// stampRun is one render a stamp ran: from From until To (zero: it runs it
// still).
type stampRun struct {
	Rendered, Source string
	From, To         time.Time
}

// runs lists the renders a stamp's branch has run, newest first, from its
// history (each commit of a stamp branch is one move, made when the stamp
// took that render).
func runs(ctx context.Context, repo git.Repo, st StampState) ([]stampRun, error) {
	if st.Commit == "" {
		return nil, nil
	}
	return moves(ctx, repo, st.Branch, st.Commit, 0)
}

// moves reads the last limit moves (all when limit is 0) of a stamp branch
// from its tip: when each was made, the render it took and that render's
// source.
func moves(ctx context.Context, repo git.Repo, branch, tip string, limit int) ([]stampRun, error) {
	args := []string{"log", "--format=%cI%x1f%(trailers:key=" + RenderedTrailer + ",valueonly)%x1f%(trailers:key=" + SourceTrailer + ",valueonly)%x1e"}
	if limit > 0 {
		args = append(args, fmt.Sprintf("-%d", limit))
	}
	out, err := repo.Run(ctx, append(args, tip)...)
	if err != nil {
		return nil, err
	}
	var rs []stampRun
	for _, rec := range strings.Split(out, "\x1e") {
		rec = strings.TrimSpace(rec)
		if rec == "" {
			continue
		}
		f := strings.Split(rec, "\x1f")
		if len(f) != 3 {
			return nil, fmt.Errorf("stamp branch %s: unexpected log record %q", branch, rec)
		}
		from, err := time.Parse(time.RFC3339, f[0])
		if err != nil {
			return nil, fmt.Errorf("stamp branch %s: %w", branch, err)
		}
		r := stampRun{Rendered: strings.TrimSpace(f[1]), Source: strings.TrimSpace(f[2]), From: from}
		if len(rs) > 0 {
			r.To = rs[len(rs)-1].From
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// newestSoaked picks, from the runs of a wave's stamps (each newest
// first), the newest render every stamp of the wave ran for at least soak
// without interruption, as of now; ok is false when none did. A render a
// stamp ran more than once counts its longest run.
//
// A later wave takes that render, not necessarily the one the wave before
// runs now: when merges come more often than the soak time, the render
// before the newest has soaked, and the later wave moves to it instead of
// waiting for a render that is never left alone long enough.
func newestSoaked(waveRuns [][]stampRun, now time.Time, soak time.Duration) (stampRun, bool) {
	if len(waveRuns) == 0 {
		return stampRun{}, false
	}
	ranFor := func(runs []stampRun, rendered string) time.Duration {
		var longest time.Duration
		for _, r := range runs {
			if r.Rendered != rendered {
				continue
			}
			to := r.To
			if to.IsZero() {
				to = now
			}
			longest = max(longest, to.Sub(r.From))
		}
		return longest
	}
	for _, cand := range waveRuns[0] {
		soaked := true
		for _, runs := range waveRuns {
			if ranFor(runs, cand.Rendered) < soak {
				soaked = false
				break
			}
		}
		if soaked {
			return cand, true
		}
	}
	return stampRun{}, false
}
