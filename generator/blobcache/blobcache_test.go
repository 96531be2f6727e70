package blobcache

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	if n, _, err := a.RemoteSize(context.Background()); err != nil || n != 1 {
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
	if st, _ := c.Remote(); st.Refused != 1 || len(warned) != 1 || !strings.Contains(warned[0], "SHA-256") {
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
	if st, _ := s.Remote(); !st.Down || warned != 1 || hang.calls != 1 {
		t.Errorf("down %v, %d warnings, %d calls; want off after one timed-out call and one warning", st.Down, warned, hang.calls)
	}
	if _, ok := s.Get(key(t, "0")); !ok {
		t.Error("the local tier lost what it was given while the remote was down")
	}
}

// hangingTier dials a server that never answers and waits for it, as a
// bucket behind a dead network path does.
type hangingTier struct {
	addr  string
	calls int
}

func (h *hangingTier) wait(ctx context.Context) error {
	h.calls++
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	<-ctx.Done()
	return ctx.Err()
}

func (h *hangingTier) Get(ctx context.Context, _ string) ([]byte, error) { return nil, h.wait(ctx) }
func (h *hangingTier) Put(ctx context.Context, _ string, _ []byte) error { return h.wait(ctx) }
func (h *hangingTier) Size(ctx context.Context) (int, int64, error)      { return 0, 0, h.wait(ctx) }
func (h *hangingTier) String() string                                    { return "tcp://" + h.addr }

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
