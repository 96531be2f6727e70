package cache

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"runtime"
	"sync"
)

var toolID = sync.OnceValue(computeToolID)

// ToolID identifies the running binary's code: its Go build ID (which
// changes whenever any source or dependency it was built from changes) or,
// where the executable has none we can read, the hash of its bytes. A key
// that includes it never serves results an older or newer tool computed.
func ToolID() string { return toolID() }

func computeToolID() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown-executable/" + runtime.Version()
	}
	if id, ok := goBuildID(exe); ok {
		return id
	}
	f, err := os.Open(exe)
	if err != nil {
		return "unreadable-executable/" + runtime.Version()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unreadable-executable/" + runtime.Version()
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// goBuildID reads the build ID the Go linker writes into an ELF note.
func goBuildID(exe string) (string, bool) {
	f, err := elf.Open(exe)
	if err != nil {
		return "", false
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return "", false
	}
	b, err := s.Data()
	if err != nil || len(b) == 0 {
		return "", false
	}
	sum := sha256.Sum256(b)
	return "go-buildid:" + hex.EncodeToString(sum[:]), true
}
