package layout

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReaderReadsWholeFiles: what os.ReadFile reads, from empty files to
// files larger than the reader's buffer, one reader for them all, and the
// same errors (naming the file) for a missing file and a folder.
func TestReaderReadsWholeFiles(t *testing.T) {
	dir := t.TempDir()
	sizes := []int{0, 1, 4095, 64 << 10, 64<<10 + 1, 300 << 10, 10}
	var r reader
	for i, n := range sizes {
		want := bytes.Repeat([]byte{byte('a' + i)}, n)
		p := filepath.Join(dir, "f"+strings.Repeat("x", i))
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := r.readFile(p)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: read %d bytes, want %d", n, len(got), n)
		}
	}
	missing := filepath.Join(dir, "missing")
	if _, err := r.readFile(missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v, want a not-exist error naming it", err)
	}
	_, err := r.readFile(dir)
	_, osErr := os.ReadFile(dir)
	if err == nil || osErr == nil || err.Error() != osErr.Error() {
		t.Errorf("folder: %v, want %v as os.ReadFile says", err, osErr)
	}
}
