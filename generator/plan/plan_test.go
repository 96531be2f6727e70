package plan

import (
	"context"
	"fmt"
	"testing"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestNew: one unit per (environment, stamp, component), sorted, with its
// base and overlays; keys only when asked.
func TestNew(t *testing.T) {
	ws := workspace.Open(platformtest.Small(t))
	p, err := New(ws, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range p.Units {
		got = append(got, u.String())
		if u.Key != (cache.Key{}) || u.Committed != nil {
			t.Errorf("%s: key or committed files without being asked", u)
		}
	}
	want := []string{"dev/weu-1/api", "dev/weu-1/redis", "prod/neu-1/api", "prod/neu-1/redis", "prod/weu-1/api", "prod/weu-1/redis"}
	if len(got) != len(want) {
		t.Fatalf("units = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("units = %v, want %v", got, want)
		}
	}
	api := p.Units[4]
	if api.Base != "base/api" || len(api.Overlays) != 2 || api.Overlays[0] != "overlays/prod" || api.Overlays[1] != "overlays/prod/api" {
		t.Errorf("prod/weu-1/api: base %s, overlays %v", api.Base, api.Overlays)
	}
	if files := p.OverlayFiles(api); len(files) != 3 {
		t.Errorf("prod/weu-1/api reads overlay files %v, want the environment's kustomization and api's two files", files)
	}
}

// TestNewScoped: a unit the change cannot affect carries its committed
// files and no cache key; an affected one has a key and no files.
func TestNewScoped(t *testing.T) {
	work, _ := gittest.Platform(t)
	gittest.Edit(t, work, "environments/prod.yaml", "tag: 9f2c4e1a7b3d", "tag: 0123456789ab")
	ws := workspace.Open(work)
	s, err := Since(context.Background(), ws, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(ws, Options{Scope: s, Keys: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range p.Units {
		affected := u.Env == "prod" && u.Component == "api"
		if affected != (len(u.Committed) == 0) {
			t.Errorf("%s: %d committed files; affected = %v", u, len(u.Committed), affected)
		}
		if affected == (u.Key == (cache.Key{})) {
			t.Errorf("%s: key %v; affected = %v (only a unit that is rendered is looked up in the cache)", u, u.Key, affected)
		}
	}
}

// TestShards: N shards are disjoint, complete and balanced, the same on
// every run; a unit outside the shard carries its committed files.
func TestShards(t *testing.T) {
	ws := workspace.Open(platformtest.Small(t))
	owner := map[string]int{}
	for n := 1; n <= 4; n++ {
		counts := make([]int, n+1)
		for i := 1; i <= n; i++ {
			sh, err := ParseShard(fmt.Sprintf("%d/%d", i, n))
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(ws, Options{Shard: sh})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range p.Units {
				if len(u.Committed) > 0 {
					continue
				}
				counts[i]++
				if n == 3 {
					if prev, ok := owner[u.String()]; ok {
						t.Errorf("%s in shards %d and %d of 3", u, prev, i)
					}
					owner[u.String()] = i
				}
			}
		}
		total, lo, hi := 0, counts[1], counts[1]
		for _, c := range counts[1:] {
			total += c
			lo, hi = min(lo, c), max(hi, c)
		}
		if total != 6 || hi-lo > 1 {
			t.Errorf("%d shards render %v units: want 6 in all, balanced", n, counts[1:])
		}
	}
	if len(owner) != 6 {
		t.Errorf("3 shards cover %d of 6 units", len(owner))
	}
	for _, bad := range []string{"0/2", "3/2", "1/0", "x", "1/2/3"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}
