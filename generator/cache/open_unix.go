//go:build unix

package cache

import (
	"errors"
	"os"
	"syscall"
)

// openEntry opens an entry for reading without following a symbolic link
// and without waiting for a FIFO's writer.
func openEntry(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, errNotRegular
	}
	return f, err
}
