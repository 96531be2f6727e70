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

// ErrBadEntry wraps what a Tier returns when one entry cannot be read for
// what it holds (a checksum the store keeps beside it fails): that entry
// is refused and replaced, the tier stays on.
var ErrBadEntry = errors.New("bad entry")

// Tier is a shared second level behind the local store (a bucket that
// several runners read and write). Entries are content-addressed and
// written once; the store checks each against its key, its SHA-256 and,
// where configured, the writer's signature.
type Tier interface {
	Get(ctx context.Context, name string) ([]byte, error)
	// Put stores data under name; an existing entry is left as it is
	// (write-once) unless replace says it was refused.
	Put(ctx context.Context, name string, data []byte, replace bool) error
	// Size counts the tier's entries and their bytes.
	Size(ctx context.Context) (entries int, total int64, err error)
	String() string
}

// DefaultRemoteTimeout bounds each remote read or write.
const DefaultRemoteTimeout = 5 * time.Second

// remote is a Store's second tier and what happened with it.
type remote struct {
	tier     Tier
	timeout  time.Duration
	warn     func(format string, args ...any)
	readOnly bool

	down     atomic.Bool
	failures atomic.Int64 // consecutive failed calls
	warnOnce sync.Once
	hits     atomic.Int64
	misses   atomic.Int64
	puts     atomic.Int64
	refused  atomic.Int64

	mu      sync.Mutex
	replace map[Key]bool // refused entries, written over by the next put
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
	s.remote = &remote{tier: t, timeout: timeout, warn: warn, replace: map[Key]bool{}}
	if s.warn == nil {
		s.warn = warn
	}
	return s
}

// ReadOnly makes the second tier read-only: a pull request's job reads
// what the protected branch's jobs wrote and writes nothing back.
func (s *Store) ReadOnly() *Store {
	if s != nil && s.remote != nil {
		s.remote.readOnly = true
	}
	return s
}

// Shares reports whether Put also writes the shared tier: a result other
// machines would read.
func (s *Store) Shares() bool {
	return s != nil && s.writes()
}

// writes reports whether this run writes the shared tier: not when it is
// read-only, nor when its readers require a signature this run cannot
// make.
func (s *Store) writes() bool {
	r := s.remote
	return r != nil && !r.readOnly && !r.down.Load() && (s.verifier == nil || s.signer != nil)
}

// call runs one call to the tier with the tier's deadline, which holds
// even when the call blocks in a way its context cannot reach (a FIFO in a
// file:// store, a hung mount): the run goes on without its answer.
func call[T any](r *remote, op string, f func(ctx context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	type answer struct {
		v   T
		err error
	}
	done := make(chan answer, 1)
	go func() {
		v, err := f(ctx)
		done <- answer{v, err}
	}()
	select {
	case a := <-done:
		return a.v, a.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%s: %w within %s", op, errTimeout, r.timeout)
	}
}

// errTimeout is a call the tier did not answer within its deadline.
var errTimeout = errors.New("no answer")

// fail records a failed call: a tier that does not answer in time, or
// fails three calls in a row, is off for the rest of the run (one
// warning); one failed read of one entry is that entry's miss.
func (r *remote) fail(op string, err error) {
	if !errors.Is(err, errTimeout) && r.failures.Add(1) < 3 {
		return
	}
	r.down.Store(true)
	r.warnOnce.Do(func() {
		r.warn("warning: remote cache %s: %s failed (%v); rendering instead of using it for the rest of this run\n", r.tier, op, err)
	})
}

// ok records a call that worked.
func (r *remote) ok() { r.failures.Store(0) }

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
	b, err := call(r, "read", func(ctx context.Context) ([]byte, error) { return r.tier.Get(ctx, remoteName(k)) })
	why := ""
	switch {
	case errors.Is(err, ErrNotFound):
		r.ok()
		r.misses.Add(1)
		return nil, false
	case errors.Is(err, ErrBadEntry):
		why = err.Error()
	case err != nil:
		r.fail("read", err)
		return nil, false
	}
	r.ok()
	var payload []byte
	if why == "" {
		payload, why = unwrap(k, b, s.verifier)
	}
	if why != "" {
		// Never trust an entry that is not its key's, or not the
		// writer's: one refused entry is a miss, not the tier's end.
		r.refused.Add(1)
		r.mu.Lock()
		r.replace[k] = true
		r.mu.Unlock()
		s.refuse("shared ("+r.tier.String()+")", k, why)
		return nil, false
	}
	r.hits.Add(1)
	_ = s.putLocal(k, payload) // the next run finds it locally; a failed write only costs a fetch
	return payload, true
}

// store writes an entry back to the remote tier (over a refused one).
func (s *Store) store(k Key, payload []byte) {
	if !s.writes() {
		return
	}
	r := s.remote
	r.mu.Lock()
	replace := r.replace[k]
	delete(r.replace, k)
	r.mu.Unlock()
	data := wrap(k, payload, s.signer)
	if _, err := call(r, "write", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, r.tier.Put(ctx, remoteName(k), data, replace)
	}); err != nil {
		r.fail("write", err)
		return
	}
	r.ok()
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
func (s *Store) RemoteSize() (entries int, total int64, err error) {
	if s == nil || s.remote == nil {
		return 0, 0, fmt.Errorf("no remote cache")
	}
	type size struct {
		entries int
		total   int64
	}
	n, err := call(s.remote, "size", func(ctx context.Context) (size, error) {
		e, t, err := s.remote.tier.Size(ctx)
		return size{e, t}, err
	})
	return n.entries, n.total, err
}
