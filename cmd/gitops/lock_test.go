package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestConcurrentRendersLoseNoUpdate: dev and prod each get a new api tag
// and are rendered at the same time; both updates land.
func TestConcurrentRendersLoseNoUpdate(t *testing.T) {
	for try := range 3 {
		root := platformtest.Small(t)
		gittest.Edit(t, root, "environments/dev.yaml", "tag: 9f2c4e1a7b3d", "tag: 0000000dddd1")
		gittest.Edit(t, root, "environments/prod.yaml", "tag: 9f2c4e1a7b3d", "tag: 0000000eeee2")
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, env := range []string{"dev", "prod"} {
			wg.Go(func() {
				codes[i], _, _ = gitops(t, "render", "--root", root, "--no-cache", "--quiet", "--env", env)
			})
		}
		wg.Wait()
		if codes[0] != exitOK || codes[1] != exitOK {
			t.Fatalf("try %d: exits %v", try, codes)
		}
		for file, tag := range map[string]string{
			"rendered/dev/weu-1/api/Deployment_api.yaml":  "0000000dddd1",
			"rendered/prod/neu-1/api/Deployment_api.yaml": "0000000eeee2",
		} {
			if b, _ := os.ReadFile(filepath.Join(root, file)); !strings.Contains(string(b), tag) {
				t.Errorf("try %d: %s lost its update to %s", try, file, tag)
			}
		}
	}
}

// TestRenderWaitsThenGivesUp: while another writer holds the checkout, a
// render says so, waits its bound, exits 2 and leaves rendered/ alone.
func TestRenderWaitsThenGivesUp(t *testing.T) {
	root := platformtest.Small(t)
	unlock, err := layout.Lock(context.Background(), filepath.Join(root, layout.Dir), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	before := readRendered(t, root)
	code, _, stderr := gitops(t, "render", "--root", root, "--no-cache", "--lock-timeout", "300ms")
	if code != exitError || !strings.Contains(stderr, "waiting up to 300ms") || !strings.Contains(stderr, "gave up") {
		t.Errorf("exit %d, want 2 after waiting:\n%s", code, stderr)
	}
	if after := readRendered(t, root); !cmp.Equal(before, after, cmpopts.EquateEmpty()) {
		t.Error("a render that gave up changed rendered/")
	}
}

// TestRenderRefusesAFileForATree: rendered/ that is not a folder is bad
// input (exit 2), and stays as it is.
func TestRenderRefusesAFileForATree(t *testing.T) {
	root := platformtest.Small(t)
	if err := os.RemoveAll(filepath.Join(root, layout.Dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, layout.Dir), []byte("not a tree"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := gitops(t, "render", "--root", root, "--no-cache"); code != exitError || !strings.Contains(stderr, "not a folder") {
		t.Errorf("exit %d, want 2:\n%s", code, stderr)
	}
}
