package render

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestStreamIsRun: the small platform streamed environment by environment
// gives, one environment per Result and in order, the units and files a
// render of the whole plan gives, derived units included.
func TestStreamIsRun(t *testing.T) {
	p, err := plan.New(workspace.Open(platformtest.Small(t)), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	whole, err := Run(ctx, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		units []*Unit
		envs  []string
	)
	err = Stream(ctx, p, Options{}, func(res *Result) error {
		if len(res.Envs) != 1 {
			t.Fatalf("a streamed Result holds %d environments", len(res.Envs))
		}
		for _, u := range res.Units {
			if u.Env != res.Envs[0].Name() {
				t.Errorf("%s's Result holds %s", res.Envs[0].Name(), u.Unit)
			}
		}
		envs = append(envs, res.Envs[0].Name())
		units = append(units, res.Units...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := envs, whole.EnvNames(); len(got) != len(want) || len(want) < 2 {
		t.Fatalf("streamed %v, want %v (at least two)", got, want)
	}
	if len(units) != len(whole.Units) {
		t.Fatalf("streamed %d units, the whole render %d", len(units), len(whole.Units))
	}
	for i, u := range units {
		w := whole.Units[i]
		if u.Unit != w.Unit || len(u.Files) != len(w.Files) {
			t.Fatalf("unit %d: streamed %s with %d files, the whole render %s with %d", i, u.Unit, len(u.Files), w.Unit, len(w.Files))
		}
		for j, f := range u.Files {
			if f.Path != w.Files[j].Path || !bytes.Equal(f.Data, w.Files[j].Data) {
				t.Errorf("%s: streamed %s differs from the whole render's %s", u.Unit, f.Path, w.Files[j].Path)
			}
		}
	}
}

// TestStreamStopsAtUsersError: an error from use ends the stream with that
// error, and no later environment reaches use.
func TestStreamStopsAtUsersError(t *testing.T) {
	p, err := plan.New(workspace.Open(platformtest.Small(t)), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err = Stream(context.Background(), p, Options{}, func(*Result) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Stream = %v after %d calls; want the user's error after one", err, calls)
	}
}
