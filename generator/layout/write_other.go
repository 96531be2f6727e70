//go:build !linux

package layout

import "os"

// createFile writes data to a new file at p (see write_linux.go for why it
// exists).
func createFile(p string, data []byte, mode uint32) error {
	return os.WriteFile(p, data, os.FileMode(mode))
}
