//go:build !linux

package layout

import "os"

// reader reads whole files (see read_linux.go for why it exists).
type reader struct{}

func (*reader) readFile(p string) ([]byte, error) { return os.ReadFile(p) }
