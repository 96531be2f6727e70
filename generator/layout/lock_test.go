package layout

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLock: a second writer waits, says who holds the lock, and gives up
// after its bound; once free, the lock is taken and stale temporary trees
// are removed.
func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rendered")
	unlock, err := Lock(context.Background(), dir, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	var told string
	_, err = Lock(context.Background(), dir, 200*time.Millisecond, func(h string) { told = h })
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("second writer: err = %v, want it to give up", err)
	}
	if want := "pid " + strconv.Itoa(os.Getpid()); told != want {
		t.Errorf("waiting was told %q, want %q", told, want)
	}
	stale := filepath.Join(filepath.Dir(dir), ".rendered.new-123")
	if err := os.MkdirAll(filepath.Join(stale, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	unlock()
	unlock2, err := Lock(context.Background(), dir, time.Second, nil)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	defer unlock2()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary tree left: %v", err)
	}
}

// TestLockRefusesReadOnly: a rendered/ made read-only is an error, even for
// root.
func TestLockRefusesReadOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rendered")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	if _, err := Lock(context.Background(), dir, time.Second, nil); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("err = %v, want it refused naming %s", err, dir)
	}
}

// TestLockRefusesAFile: a rendered/ that is not a folder is an error.
func TestLockRefusesAFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rendered")
	if err := os.WriteFile(dir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(context.Background(), dir, time.Second, nil); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("err = %v, want not a folder", err)
	}
}
