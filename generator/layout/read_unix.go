//go:build unix

package layout

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// readFile reads a whole file, as os.ReadFile does, in fewer system calls:
// open, reads until one returns nothing, close. os.ReadFile also sizes its
// buffer with fstat and offers the file to the runtime's poller (which
// refuses a regular file: one more call), and a rendered tree is tens of
// thousands of small files, each costing these calls on a VM where a
// system call is dear. buf is scratch space of the caller's, one per
// goroutine.
func readFile(p string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	out := []byte{}
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		case n == 0:
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
}
