package podrun

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
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

// TestHealthServiceStub: the HealthService's stub answers its probe path
// 200 only while its checks pass (503 before), its kubelet probe path and
// /metrics always, and 404 anywhere else; another stub answers anything.
func TestHealthServiceStub(t *testing.T) {
	var healthy atomic.Bool
	h := handler(Stub{HealthPath: "/health/stamp", ProbePaths: []string{"/livez"}}, &healthy)
	get := func(path string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Code
	}
	for path, want := range map[string]int{"/health/stamp": 503, "/livez": 200, "/metrics": 200, "/": 404, "/health": 404} {
		if got := get(path); got != want {
			t.Errorf("unhealthy: %s answers %d, want %d", path, got, want)
		}
	}
	healthy.Store(true)
	if got := get("/health/stamp"); got != 200 {
		t.Errorf("healthy: the probe path answers %d, want 200", got)
	}
	w := httptest.NewRecorder()
	handler(Stub{}, &healthy).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/anything", nil))
	if w.Code != 200 {
		t.Errorf("another stub answers %d, want 200", w.Code)
	}
}
