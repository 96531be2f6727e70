package podrun

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInRoot: a container path resolves inside its root, following the
// image's symbolic links (absolute ones too) without leaving the root.
func TestInRoot(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"run", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/run", filepath.Join(root, "var", "run")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../..", filepath.Join(root, "etc", "up")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"/var/run/secrets/token": "/run/secrets/token",
		"/etc/resolv.conf":       "/etc/resolv.conf",
		"/etc/up/x":              "/x",
	} {
		got, err := inRoot(root, p)
		if err != nil {
			t.Fatal(err)
		}
		if got != filepath.Join(root, want) {
			t.Errorf("inRoot(%s) = %s, want %s", p, got, filepath.Join(root, want))
		}
	}
}

// TestStubFiles: the stub refuses a private file others may read, as
// mongod does, and a path it cannot write.
func TestStubFiles(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "keyfile")
	if err := os.WriteFile(key, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkFiles(Stub{Program: "mongod", Private: []string{key}}); err == nil {
		t.Error("a 0644 keyfile passes")
	}
	if err := os.Chmod(key, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := checkFiles(Stub{Program: "mongod", Private: []string{key}, Writes: []string{dir + "/"}}); err != nil {
		t.Error(err)
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		if err := checkFiles(Stub{Program: "loki", Writes: []string{ro}}); err == nil {
			t.Error("a read-only directory is writable")
		}
	}
}
