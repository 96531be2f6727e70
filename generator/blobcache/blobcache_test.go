package blobcache

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/cache"
)

func key(t testing.TB, s string) cache.Key {
	t.Helper()
	h := cache.NewHasher("test")
	h.String("k", s)
	k, err := h.Sum()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// tiered opens a fresh local store backed by the bucket at u.
func tiered(t *testing.T, u string, warn func(string, ...any)) *cache.Store {
	t.Helper()
	s, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return s.WithRemote(b, time.Second, warn)
}

func fileURL(t *testing.T) (string, string) {
	dir := t.TempDir()
	return "file://" + filepath.ToSlash(dir), dir
}

// TestReadThroughWriteBack: what one runner puts, another with an empty
// local cache reads from the bucket, and then keeps locally.
func TestReadThroughWriteBack(t *testing.T) {
	u, _ := fileURL(t)
	a, b := tiered(t, u, nil), tiered(t, u, nil)
	k := key(t, "unit")
	if err := a.Put(k, []byte("rendered")); err != nil {
		t.Fatal(err)
	}
	got, ok := b.Get(k)
	if !ok || string(got) != "rendered" {
		t.Fatalf("second runner: %q, %v", got, ok)
	}
	if st, _ := b.Remote(); st.Hits != 1 {
		t.Errorf("remote hits = %d, want 1", st.Hits)
	}
	if _, ok := b.Get(k); !ok {
		t.Fatal("lost after the first read")
	}
	if st, _ := b.Remote(); st.Hits != 1 {
		t.Errorf("the second read went to the bucket again (hits %d): the entry was not kept locally", st.Hits)
	}
	if n, _, err := a.RemoteSize(); err != nil || n != 1 {
		t.Errorf("bucket holds %d entries (%v), want 1", n, err)
	}
}

// TestCorruptRemoteEntryIsRefused: an entry that does not match its
// SHA-256 is a miss with a warning, never a payload.
func TestCorruptRemoteEntryIsRefused(t *testing.T) {
	u, dir := fileURL(t)
	var warned []string
	var mu sync.Mutex
	warn := func(f string, args ...any) { mu.Lock(); warned = append(warned, fmt.Sprintf(f, args...)); mu.Unlock() }
	a := tiered(t, u, nil)
	k := key(t, "unit")
	if err := a.Put(k, []byte("rendered")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, k.String()[:2], k.String())
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := tiered(t, u, warn)
	if got, ok := c.Get(k); ok {
		t.Fatalf("a corrupt remote entry was used: %q", got)
	}
	if st, _ := c.Remote(); st.Refused != 1 || st.Down || len(warned) != 1 || !strings.Contains(warned[0], "SHA-256") {
		t.Errorf("refused %d, warnings %q", st.Refused, warned)
	}
}

// TestStoreDownOrSlowNeverFails: a bucket that cannot be reached fails
// only its open (the caller renders without it); one that hangs costs one
// bounded timeout, one warning, and is off for the rest of the run.
func TestStoreDownOrSlowNeverFails(t *testing.T) {
	t.Setenv("AZURE_STORAGE_ACCOUNT", "devstoreaccount1")
	t.Setenv("AZURE_STORAGE_KEY", "ZGV2c3RvcmVhY2NvdW50MQ==") // not a real key: the endpoint never answers
	closed := "azblob://cache?localemu=true&protocol=http&domain=127.0.0.1:1"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Open(ctx, closed); err == nil || strings.Contains(err.Error(), "ZGV2") {
		t.Errorf("opening a store that is down: err = %v, want an error without the key", err)
	}

	// A store that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	s, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var warned int
	hang := &hangingTier{addr: ln.Addr().String()}
	s.WithRemote(hang, 200*time.Millisecond, func(string, ...any) { warned++ })
	start := time.Now()
	for i := 0; i < 5; i++ {
		if _, ok := s.Get(key(t, fmt.Sprint(i))); ok {
			t.Fatal("a hanging store returned an entry")
		}
		if err := s.Put(key(t, fmt.Sprint(i)), []byte("x")); err != nil {
			t.Fatalf("a hanging store failed a put: %v", err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ten operations took %s: the timeout did not bound them", d)
	}
	if st, _ := s.Remote(); !st.Down || warned != 1 || hang.calls.Load() != 1 {
		t.Errorf("down %v, %d warnings, %d calls; want off after one timed-out call and one warning", st.Down, warned, hang.calls.Load())
	}
	if _, ok := s.Get(key(t, "0")); !ok {
		t.Error("the local tier lost what it was given while the remote was down")
	}
}

// hangingTier dials a server that never answers and waits for it, as a
// bucket behind a dead network path does.
type hangingTier struct {
	addr  string
	calls atomic.Int64
}

func (h *hangingTier) wait(ctx context.Context) error {
	h.calls.Add(1)
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	<-ctx.Done()
	return ctx.Err()
}

func (h *hangingTier) Get(ctx context.Context, _ string) ([]byte, error) { return nil, h.wait(ctx) }
func (h *hangingTier) Put(ctx context.Context, _ string, _ []byte, _ bool) error {
	return h.wait(ctx)
}
func (h *hangingTier) Size(ctx context.Context) (int, int64, error) { return 0, 0, h.wait(ctx) }
func (h *hangingTier) String() string                               { return "tcp://" + h.addr }

// TestTwoWritersOneBucket: runners writing the same entries at once leave
// every entry whole.
func TestTwoWritersOneBucket(t *testing.T) {
	u, _ := fileURL(t)
	a, b := tiered(t, u, nil), tiered(t, u, nil)
	var wg sync.WaitGroup
	for _, s := range []*cache.Store{a, b} {
		wg.Add(1)
		go func(s *cache.Store) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := s.Put(key(t, fmt.Sprint(i)), []byte(strings.Repeat(fmt.Sprint(i), 1000))); err != nil {
					t.Error(err)
				}
			}
		}(s)
	}
	wg.Wait()
	c := tiered(t, u, nil)
	for i := 0; i < 50; i++ {
		got, ok := c.Get(key(t, fmt.Sprint(i)))
		if !ok || string(got) != strings.Repeat(fmt.Sprint(i), 1000) {
			t.Fatalf("entry %d: ok %v, %d bytes", i, ok, len(got))
		}
	}
	if st, _ := c.Remote(); st.Refused != 0 || st.Hits != 50 {
		t.Errorf("third runner: %+v", st)
	}
}

// signer returns a key pair for the shared tier's writer.
func signer(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// entryPath is where a file:// bucket keeps an entry.
func entryPath(dir string, k cache.Key) string { return filepath.Join(dir, k.String()[:2], k.String()) }

// TestSwappedSharedEntry: an older entry of a unit copied over the new
// key in the shared store is refused (not served as the new render), the
// tier stays on, and the runner's fresh render replaces it for the next.
func TestSwappedSharedEntry(t *testing.T) {
	u, dir := fileURL(t)
	pub, priv := signer(t)
	ci := tiered(t, u, nil).Sign(priv).Verify(pub)
	old, now := key(t, "api tag 1"), key(t, "api tag 2")
	if err := ci.Put(old, []byte("image: api:1")); err != nil {
		t.Fatal(err)
	}
	if err := ci.Put(key(t, "web"), []byte("image: web:1")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(entryPath(dir, old))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(entryPath(dir, now)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(entryPath(dir, now), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var warned []string
	runner := tiered(t, u, func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }).Sign(priv).Verify(pub)
	if got, ok := runner.Get(now); ok {
		t.Fatalf("the old render was served for the new key: %q", got)
	}
	if _, ok := runner.Get(key(t, "web")); !ok {
		t.Error("one refused entry turned the shared tier off")
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "entry of key "+old.String()) {
		t.Errorf("warnings %q", warned)
	}
	if err := runner.Put(now, []byte("image: api:2")); err != nil {
		t.Fatal(err)
	}
	next := tiered(t, u, nil).Verify(pub)
	if got, ok := next.Get(now); !ok || string(got) != "image: api:2" {
		t.Errorf("after the runner's render: %q, %v: the refused entry was not replaced", got, ok)
	}
}

// TestOnlySignedEntriesAreRead: a reader given the public key refuses
// entries nobody signed (a pull request with a write token) or another
// key signed; a run that cannot sign does not write where readers verify,
// and a read-only one writes nothing.
func TestOnlySignedEntriesAreRead(t *testing.T) {
	u, dir := fileURL(t)
	pub, priv := signer(t)
	_, mallory := signer(t)
	k := key(t, "unit")
	for name, w := range map[string]*cache.Store{
		"unsigned":              tiered(t, u, nil),
		"signed by another key": tiered(t, u, nil).Sign(mallory),
	} {
		if err := w.Put(k, []byte("planted")); err != nil {
			t.Fatal(err)
		}
		reader := tiered(t, u, nil).Verify(pub)
		if got, ok := reader.Get(k); ok {
			t.Errorf("%s: the reader took %q", name, got)
		}
		os.Remove(entryPath(dir, k))
	}
	pr := tiered(t, u, nil).Verify(pub)
	if err := pr.Put(k, []byte("from a pull request")); err != nil {
		t.Fatal(err)
	}
	readOnly := tiered(t, u, nil).Sign(priv).Verify(pub).ReadOnly()
	if err := readOnly.Put(key(t, "other"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if n, _, err := pr.RemoteSize(); err != nil || n != 0 {
		t.Errorf("the shared tier holds %d entries (%v): a run that cannot sign, or a read-only one, wrote", n, err)
	}
	ci := tiered(t, u, nil).Sign(priv).Verify(pub)
	if err := ci.Put(k, []byte("rendered by CI")); err != nil {
		t.Fatal(err)
	}
	if got, ok := tiered(t, u, nil).Verify(pub).Get(k); !ok || string(got) != "rendered by CI" {
		t.Errorf("CI's signed entry: %q, %v", got, ok)
	}
}

// TestFIFOInAFileStore: an entry that blocks (a FIFO; a hung mount) costs
// one bounded call, then the tier is off; the run goes on.
func TestFIFOInAFileStore(t *testing.T) {
	u, dir := fileURL(t)
	k := key(t, "unit")
	if err := os.MkdirAll(filepath.Dir(entryPath(dir, k)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(entryPath(dir, k), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	s := tiered(t, u, nil)
	// Let the read that blocked go when the test is done.
	t.Cleanup(func() {
		if f, err := os.OpenFile(entryPath(dir, k), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	start := time.Now()
	if _, ok := s.Get(k); ok {
		t.Fatal("a FIFO was an entry")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the read took %s", d)
	}
	if st, _ := s.Remote(); !st.Down {
		t.Error("a store that blocked is still used")
	}
}

// TestFileStoreWithoutTMPDIR: a file:// store writes its temporary files
// beside its entries, so it works when $TMPDIR is on another file system
// (or, here, not writable at all).
func TestFileStoreWithoutTMPDIR(t *testing.T) {
	u, _ := fileURL(t)
	s := tiered(t, u, nil)
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	if err := s.Put(key(t, "unit"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.RemoteSize(); err != nil || n != 1 {
		t.Errorf("the store holds %d entries (%v), want 1", n, err)
	}
}

func TestCheckURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"azblob://cache": true, "s3://bucket": true, "file:///var/cache/gitops": true,
		"http://cache.example.com": false, "https://x": false, "/var/cache": false, "": false,
	} {
		if err := CheckURL(u); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v", u, err)
		}
	}
}
