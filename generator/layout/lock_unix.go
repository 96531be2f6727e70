//go:build unix

package layout

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// writable reports why the process may not write in dir, if it may not.
func writable(dir string) error { return unix.Access(dir, unix.W_OK) }

// tryLock takes f's exclusive advisory lock without waiting: held is false
// and err nil when another process holds it.
func tryLock(f *os.File) (held bool, err error) {
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return false, nil
	}
	return false, err
}

func release(f *os.File) { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN) }
