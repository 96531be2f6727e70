package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotFound is what a Tier returns for a key it does not hold.
var ErrNotFound = errors.New("not in the remote cache")

// Tier is a shared second level behind the local store (a bucket that
// several runners read and write). Entries are content-addressed and
// written once; the local store checks each against its SHA-256.
type Tier interface {
	Get(ctx context.Context, name string) ([]byte, error)
	// Put stores data under name unless name exists (write-once).
	Put(ctx context.Context, name string, data []byte) error
	// Size counts the tier's entries and their bytes.
	Size(ctx context.Context) (entries int, total int64, err error)
	String() string
}

// DefaultRemoteTimeout bounds each remote read or write.
const DefaultRemoteTimeout = 5 * time.Second

// remote is a Store's second tier and what happened with it.
type remote struct {
	tier    Tier
	timeout time.Duration
	warn    func(format string, args ...any)

	down     atomic.Bool
	warnOnce sync.Once
	hits     atomic.Int64
	misses   atomic.Int64
	puts     atomic.Int64
	refused  atomic.Int64
}

// WithRemote makes t the store's second tier: a local miss reads through
// to it (a hit is kept locally), a local put writes back to it. A tier
// that errs or takes longer than timeout is off for the rest of the run,
// with one warning: the run renders instead, it never fails for it.
func (s *Store) WithRemote(t Tier, timeout time.Duration, warn func(format string, args ...any)) *Store {
	if s == nil || t == nil {
		return s
	}
	if timeout <= 0 {
		timeout = DefaultRemoteTimeout
	}
	if warn == nil {
		warn = func(string, ...any) {}
	}
	s.remote = &remote{tier: t, timeout: timeout, warn: warn}
	return s
}

func (r *remote) fail(op string, err error) {
	r.down.Store(true)
	r.warnOnce.Do(func() {
		r.warn("warning: remote cache %s: %s failed (%v); rendering instead of using it for the rest of this run\n", r.tier, op, err)
	})
}

func remoteName(k Key) string {
	hex := k.String()
	return hex[:2] + "/" + hex
}

// fetch reads k from the remote tier, checks it and keeps it locally.
func (s *Store) fetch(k Key) ([]byte, bool) {
	r := s.remote
	if r == nil || r.down.Load() {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	b, err := r.tier.Get(ctx, remoteName(k))
	switch {
	case errors.Is(err, ErrNotFound):
		r.misses.Add(1)
		return nil, false
	case err != nil:
		r.fail("read", err)
		return nil, false
	}
	payload, ok := unwrap(b)
	if !ok {
		// Never trust an entry that does not match its content address.
		r.refused.Add(1)
		r.warn("warning: remote cache %s: entry %s fails its SHA-256 check; refused\n", r.tier, k)
		return nil, false
	}
	r.hits.Add(1)
	_ = s.putLocal(k, payload) // the next run finds it locally; a failed write only costs a fetch
	return payload, true
}

// store writes an entry back to the remote tier.
func (s *Store) store(k Key, payload []byte) {
	r := s.remote
	if r == nil || r.down.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	if err := r.tier.Put(ctx, remoteName(k), wrap(payload)); err != nil {
		r.fail("write", err)
		return
	}
	r.puts.Add(1)
}

// RemoteStats says what the remote tier did in this run.
type RemoteStats struct {
	Tier                        string
	Hits, Misses, Puts, Refused int64
	Down                        bool
}

// Remote returns the remote tier's figures, or false without one.
func (s *Store) Remote() (RemoteStats, bool) {
	if s == nil || s.remote == nil {
		return RemoteStats{}, false
	}
	r := s.remote
	return RemoteStats{Tier: r.tier.String(), Hits: r.hits.Load(), Misses: r.misses.Load(), Puts: r.puts.Load(), Refused: r.refused.Load(), Down: r.down.Load()}, true
}

// RemoteSize counts the remote tier's entries.
func (s *Store) RemoteSize(ctx context.Context) (entries int, total int64, err error) {
	if s == nil || s.remote == nil {
		return 0, 0, fmt.Errorf("no remote cache")
	}
	return s.remote.tier.Size(ctx)
}
