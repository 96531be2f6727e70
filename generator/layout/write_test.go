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

// TestCreateFileIsWriteFile: the bytes and mode os.WriteFile leaves, for a
// new file, over a longer one (truncated) and over a shorter one, and the
// same errors (naming the file) where the folder is missing or the path is
// a folder.
func TestCreateFileIsWriteFile(t *testing.T) {
	dir := t.TempDir()
	for i, data := range [][]byte{
		nil,
		[]byte("kind: Service\n"),
		bytes.Repeat([]byte("x"), 300<<10),
		[]byte("short\n"),
	} {
		got, want := filepath.Join(dir, "got"), filepath.Join(dir, "want")
		if err := createFile(got, data, fileMode); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if err := os.WriteFile(want, data, fileMode); err != nil {
			t.Fatal(err)
		}
		gb, _ := os.ReadFile(got)
		wb, _ := os.ReadFile(want)
		gs, _ := os.Stat(got)
		ws, _ := os.Stat(want)
		if !bytes.Equal(gb, wb) || gs.Mode() != ws.Mode() {
			t.Fatalf("case %d: %d bytes, mode %v; os.WriteFile: %d bytes, mode %v", i, len(gb), gs.Mode(), len(wb), ws.Mode())
		}
	}
	missing := filepath.Join(dir, "missing", "f")
	if err := createFile(missing, []byte("x"), fileMode); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing folder: %v, want a not-exist error naming the file", err)
	}
	err := createFile(dir, []byte("x"), fileMode)
	osErr := os.WriteFile(dir, []byte("x"), fileMode)
	if err == nil || osErr == nil || err.Error() != osErr.Error() {
		t.Errorf("folder: %v, want %v as os.WriteFile says", err, osErr)
	}
}
