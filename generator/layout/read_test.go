package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadFileIsOSReadFile: readFile gives os.ReadFile's bytes for an
// empty file, a file within the scratch buffer and one several buffers
// long, and os.ReadFile's kind of error for a missing file, naming it.
func TestReadFileIsOSReadFile(t *testing.T) {
	dir := t.TempDir()
	buf := make([]byte, 16)
	for name, data := range map[string][]byte{
		"empty.yaml": {},
		"small.yaml": []byte("kind: Service\n"),
		"large.yaml": []byte(strings.Repeat("0123456789abcdef", 40) + "tail\n"),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readFile(p, buf)
		want, _ := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) || got == nil {
			t.Errorf("%s: readFile = %q, %v; want %q", name, got, err, want)
		}
	}
	missing := filepath.Join(dir, "missing.yaml")
	_, err := readFile(missing, buf)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("readFile of a missing file = %v; want fs.ErrNotExist naming it", err)
	}
	if _, err := readFile(dir, buf); err == nil {
		t.Error("readFile of a folder gave no error")
	}
}

// BenchmarkRead reads a rendered tree of 3,000 files of 1 KB (make bench):
// what verify pays to read a large platform's committed tree, file by file.
func BenchmarkRead(b *testing.B) {
	dir := b.TempDir()
	data := bytes.Repeat([]byte("x"), 1024)
	for i := range 3000 {
		p := filepath.Join(dir, "dev", "weu-1", "svc", fmt.Sprintf("Service-%04d.yaml", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		files, err := Read(dir, nil)
		if err != nil || len(files) != 3000 {
			b.Fatalf("Read = %d files, %v", len(files), err)
		}
	}
}
