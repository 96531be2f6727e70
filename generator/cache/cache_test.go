package cache

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
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
	whole := wrap(k, []byte("a payload long enough to damage"), nil)
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

// TestEntryIsItsKeys: an entry copied under another key (an older render
// of the unit over the new key) is a miss, reported once and removed;
// the unit renders again and its own entry replaces it.
func TestEntryIsItsKeys(t *testing.T) {
	var warned []string
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Warn(func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) })
	old, now := key(t, "unit", "tag 1"), key(t, "unit", "tag 2")
	if err := s.Put(old, []byte("image: api:1")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.path(old))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path(now)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.path(now), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Get(now); ok {
		t.Fatalf("the old unit's entry was served for the new key: %q", got)
	}
	if s.Refused() != 1 || len(warned) != 1 || !strings.Contains(warned[0], "entry of key "+old.String()) {
		t.Errorf("refused %d, warned %q", s.Refused(), warned)
	}
	if _, err := os.Stat(s.path(now)); !os.IsNotExist(err) {
		t.Errorf("the swapped entry was not removed (%v)", err)
	}
	if err := s.Put(now, []byte("image: api:2")); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Get(now); !ok || string(got) != "image: api:2" {
		t.Errorf("after the render: %q, %v", got, ok)
	}
}

// TestEntryThatBlocksIsAMiss: a FIFO (or anything but a regular file)
// where an entry should be never blocks the reader.
func TestEntryThatBlocksIsAMiss(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := key(t, "unit")
	if err := os.MkdirAll(filepath.Dir(s.path(k)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(s.path(k), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	done := make(chan bool)
	go func() { _, ok := s.Get(k); done <- ok }()
	select {
	case ok := <-done:
		if ok {
			t.Error("a FIFO was an entry")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Get blocks on a FIFO")
	}
	if s.Refused() != 1 {
		t.Errorf("refused %d, want 1", s.Refused())
	}
}

// TestSignatures: a signed entry verifies with its public key; an
// unsigned or foreign one does not.
func TestSignatures(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, otherPriv, _ := ed25519.GenerateKey(nil)
	k := key(t, "unit")
	signed := wrap(k, []byte("p"), priv)
	if _, why := unwrap(k, signed, pub); why != "" {
		t.Errorf("a signed entry: %s", why)
	}
	for name, b := range map[string][]byte{
		"unsigned":              wrap(k, []byte("p"), nil),
		"signed by another key": wrap(k, []byte("p"), otherPriv),
	} {
		if _, why := unwrap(k, b, pub); why == "" {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, why := unwrap(k, signed, otherPub); why == "" {
		t.Error("accepted with another public key")
	}
	// A signature is over the key: re-filing a signed entry under
	// another key does not make it that key's.
	if _, why := unwrap(key(t, "other"), signed, pub); why == "" {
		t.Error("a signed entry filed under another key was accepted")
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
