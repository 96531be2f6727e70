package check

import (
	"context"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/blobcache"
	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// sharedStore opens a job's store: an empty local cache in front of the
// shared one at url (file://), read-only as a pull request's job's.
func sharedStore(t *testing.T, url string, readOnly bool) *cache.Store {
	t.Helper()
	bucket, err := blobcache.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s = s.WithRemote(bucket, time.Minute, nil)
	if readOnly {
		s = s.ReadOnly()
	}
	return s
}

// renderRoot renders every unit of the platform at root from its sources.
func renderRoot(t *testing.T, root string) (*workspace.Workspace, *render.Result) {
	t.Helper()
	ws := workspace.Open(root)
	p, err := plan.New(ws, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Run(context.Background(), p, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ws, res
}

// committedSmall is a copy of the small platform in a git repository of
// one commit, base.
func committedSmall(t *testing.T) (root, base string) {
	t.Helper()
	root = platformtest.Small(t)
	gittest.Git(t, root, "init", "--quiet", "--initial-branch=main")
	gittest.Configure(t, root)
	return root, gittest.Commit(t, root, "platform")
}

// remoteHits counts what a store fetched from its shared tier.
func remoteHits(s *cache.Store) int64 {
	st, _ := s.Remote()
	return st.Hits
}
