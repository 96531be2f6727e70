package layout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Lock takes the advisory lock of the rendered tree dir, so one checkout
// has one writer at a time. A second writer polls until the holder is done
// or wait has passed; it calls waiting once, naming the holder, when it has
// to wait. Holding the lock, it removes the temporary trees a killed
// writer left beside dir. It refuses a dir that is not a writable folder.
// The returned unlock releases the lock.
func Lock(ctx context.Context, dir string, wait time.Duration, waiting func(holder string)) (unlock func(), err error) {
	dir = filepath.Clean(dir)
	if info, err := os.Stat(dir); err == nil {
		if !info.IsDir() {
			return nil, fmt.Errorf("write %s: not a folder", dir)
		}
		if err := writable(dir); err != nil {
			return nil, fmt.Errorf("write %s: %w", dir, err)
		}
		if info.Mode().Perm()&0o200 == 0 {
			// Root may write anyway; a folder made read-only says not to.
			return nil, fmt.Errorf("write %s: the folder is read-only (mode %#o); make it writable to render into it", dir, info.Mode().Perm())
		}
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	name := LockFile(dir)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	deadline := time.Now().Add(wait)
	told := false
	for {
		held, err := tryLock(f)
		if held {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		if !told && waiting != nil {
			waiting(holder(name))
			told = true
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%s is being written by another gitops (%s); gave up after %s", dir, holder(name), wait)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	removeStale(parent, filepath.Base(dir))
	return func() {
		_ = f.Truncate(0)
		release(f)
		f.Close()
	}, nil
}

// holder names the process holding the lock, as far as its file says.
func holder(lockFile string) string {
	b, err := os.ReadFile(lockFile)
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return "pid " + pid
	}
	return "another process"
}

// removeStale removes the temporary trees (".<base>.new-*") that a writer
// killed between building and swapping left behind; only a lock holder
// calls it, so none of them is in use.
func removeStale(parent, base string) {
	matches, _ := filepath.Glob(filepath.Join(parent, "."+base+".new-*"))
	for _, m := range matches {
		_ = os.RemoveAll(m)
	}
}

// LockFile is the file Lock holds for dir: beside it, named after it. It
// outlives a killed writer (holding its pid), and is no change to the
// checkout.
func LockFile(dir string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".lock")
}
