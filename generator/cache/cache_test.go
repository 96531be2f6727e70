package cache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func key(t *testing.T, parts ...string) Key {
	t.Helper()
	h := NewHasher("test/1")
	for i, p := range parts {
		h.String(fmt.Sprint(i), p)
	}
	k, err := h.Sum()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeysSeparateTheirInputs(t *testing.T) {
	// Concatenation must not collide: ("ab", "c") and ("a", "bc").
	if key(t, "ab", "c") == key(t, "a", "bc") {
		t.Error(`("ab", "c") and ("a", "bc") hash alike`)
	}
	if key(t, "a") != key(t, "a") {
		t.Error("the same inputs hash differently")
	}
	a, b := NewHasher("x"), NewHasher("x")
	a.Files("f", map[string][]byte{"1": []byte("one"), "2": []byte("two")})
	b.Files("f", map[string][]byte{"2": []byte("two"), "1": []byte("one")})
	ka, _ := a.Sum()
	kb, _ := b.Sum()
	if ka != kb {
		t.Error("file order changes the key")
	}
	bad := NewHasher("x")
	bad.JSON("ch", make(chan int))
	if _, err := bad.Sum(); err == nil {
		t.Error("an input JSON cannot encode gives no error")
	}
}

func TestPutGet(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := key(t, "unit")
	if _, ok := s.Get(k); ok {
		t.Fatal("empty store hit")
	}
	if err := s.Put(k, []byte("payload")); err != nil {
		t.Fatal(err)
	}
	got, ok := s.Get(k)
	if !ok || string(got) != "payload" {
		t.Fatalf("Get = %q, %v", got, ok)
	}
	if hits, misses := s.Stats(); hits != 1 || misses != 1 {
		t.Errorf("stats = %d hits, %d misses; want 1, 1", hits, misses)
	}
}

// TestCorruptEntriesAreMisses: a truncated, flipped or foreign file under a
// key is never returned, and is removed.
func TestCorruptEntriesAreMisses(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := key(t, "unit")
	whole := wrap([]byte("a payload long enough to damage"))
	for name, data := range map[string][]byte{
		"truncated":     whole[:len(whole)-3],
		"flipped byte":  append(append([]byte(nil), whole[:len(whole)-1]...), whole[len(whole)-1]^1),
		"header only":   whole[:len(magic)+10],
		"another magic": append([]byte("gitops-cache/0\n"), whole[len(magic):]...),
		"empty":         {},
	} {
		if err := os.MkdirAll(filepath.Dir(s.path(k)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.path(k), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, ok := s.Get(k); ok {
			t.Errorf("%s: Get returned %q", name, got)
		}
		if _, err := os.Stat(s.path(k)); !os.IsNotExist(err) {
			t.Errorf("%s: the corrupt entry was not removed (%v)", name, err)
		}
	}
}

// TestConcurrentRuns: many writers and readers of the same keys (run with
// -race) never see anything but a whole entry.
func TestConcurrentRuns(t *testing.T) {
	dir := t.TempDir()
	payload := bytes.Repeat([]byte("rendered objects "), 4096)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(dir) // a separate process would open its own store
			if err != nil {
				errs <- err
				return
			}
			for i := range 20 {
				k := key(t, fmt.Sprint(i%5))
				if w%2 == 0 {
					if err := s.Put(k, payload); err != nil {
						errs <- err
					}
				} else if got, ok := s.Get(k); ok && !bytes.Equal(got, payload) {
					errs <- fmt.Errorf("read a partial entry of %d bytes", len(got))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	entries, _, err := (&Store{dir: dir}).Size()
	if err != nil || entries != 5 {
		t.Errorf("store holds %d entries (%v), want 5 and no temporary files", entries, err)
	}
}

func TestNilStoreIsEmpty(t *testing.T) {
	var s *Store
	if _, ok := s.Get(Key{}); ok {
		t.Error("nil store hit")
	}
	if err := s.Put(Key{}, []byte("x")); err != nil {
		t.Error(err)
	}
}

func TestToolIDIsStable(t *testing.T) {
	id := ToolID()
	if id != ToolID() {
		t.Errorf("ToolID = %q, then %q", id, ToolID())
	}
	// On Linux the Go build ID is read from the ELF note: hashing the whole
	// binary instead would cost every run a tenth of a second.
	if runtime.GOOS == "linux" && !strings.HasPrefix(id, "go-buildid:") {
		t.Errorf("ToolID = %q, want the Go build ID", id)
	}
}

// TestPrune removes entries unused for longer than the age and leftover
// temporary files, keeps the rest, and a hit keeps an entry alive.
func TestPrune(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	old, used, fresh := key(t, "old"), key(t, "used"), key(t, "fresh")
	for _, k := range []Key{old, used, fresh} {
		if err := s.Put(k, []byte("payload")); err != nil {
			t.Fatal(err)
		}
	}
	longAgo := time.Now().Add(-60 * 24 * time.Hour)
	for _, k := range []Key{old, used} {
		if err := os.Chtimes(s.path(k), longAgo, longAgo); err != nil {
			t.Fatal(err)
		}
	}
	leftover := filepath.Join(filepath.Dir(s.path(fresh)), ".tmp-123")
	if err := os.WriteFile(leftover, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(leftover, longAgo, longAgo); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get(used); !ok {
		t.Fatal("miss on a stored entry")
	}
	files, _, err := s.Prune(30 * 24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if files != 2 {
		t.Errorf("pruned %d files, want 2 (the unused entry and the leftover)", files)
	}
	for k, want := range map[Key]bool{old: false, used: true, fresh: true} {
		if _, ok := s.Get(k); ok != want {
			t.Errorf("after prune, entry present = %v, want %v", ok, want)
		}
	}
}
