// Package cache is a content-addressed store on disk: a key is the SHA-256
// of everything a result was computed from (the inputs and the version of
// the tool that computed it), the value is the result's bytes.
//
// Entries are written to a temporary file and renamed into place, so
// concurrent runs never see half an entry; every entry carries the checksum
// of its payload, so a corrupt or truncated one is a miss (and is removed),
// never a result.
package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// EnvDir names the environment variable that overrides the cache directory.
const EnvDir = "GITOPS_CACHE_DIR"

// magic starts every entry; a format change bumps its version.
const magic = "gitops-cache/1\n"

// Key identifies a cached result.
type Key [sha256.Size]byte

func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Hasher builds a Key from named inputs. Every input is written with its
// name and length, so two different input sets never hash alike by
// concatenation.
type Hasher struct {
	h   hash.Hash
	err error
}

// NewHasher starts a key for results of the given kind (e.g. "render-unit/1").
func NewHasher(kind string) *Hasher {
	h := &Hasher{h: sha256.New()}
	h.Bytes("kind", []byte(kind))
	return h
}

// Bytes adds a named input.
func (h *Hasher) Bytes(name string, b []byte) {
	var n [8]byte
	for _, part := range [][]byte{[]byte(name), b} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.h.Write(n[:])
		h.h.Write(part)
	}
}

// String adds a named string input.
func (h *Hasher) String(name, s string) { h.Bytes(name, []byte(s)) }

// JSON adds a named input as its JSON encoding (struct fields in declaration
// order, map keys sorted, so equal values hash alike).
func (h *Hasher) JSON(name string, v any) {
	b, err := json.Marshal(v)
	if err != nil && h.err == nil {
		h.err = fmt.Errorf("cache key input %s: %w", name, err)
	}
	h.Bytes(name, b)
}

// Files adds a set of files, by path, in sorted path order.
func (h *Hasher) Files(name string, files map[string][]byte) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h.String(name, fmt.Sprint(len(paths)))
	for _, p := range paths {
		h.Bytes(p, files[p])
	}
}

// Sum returns the key, or an error if an input could not be encoded.
func (h *Hasher) Sum() (Key, error) {
	var k Key
	copy(k[:], h.h.Sum(nil))
	return k, h.err
}

// Store is a cache directory. A nil *Store is a valid, always-empty cache.
type Store struct {
	dir          string
	hits, misses atomic.Int64
	// remote is the optional shared second tier.
	remote *remote
}

// DefaultDir is $GITOPS_CACHE_DIR, or libertum-gitops under the user cache
// directory (~/.cache on Linux).
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache directory: %w (set %s)", err, EnvDir)
	}
	return filepath.Join(base, "libertum-gitops"), nil
}

// Open returns the store in dir, creating it if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is where the store keeps its entries.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(k Key) string {
	hex := k.String()
	return filepath.Join(s.dir, hex[:2], hex)
}

// Get returns the payload stored under k. A missing, unreadable, truncated
// or corrupt entry is a miss; a corrupt one is removed.
func (s *Store) Get(k Key) ([]byte, bool) {
	if s == nil {
		return nil, false
	}
	b, err := os.ReadFile(s.path(k))
	if err == nil {
		payload, ok := unwrap(b)
		if ok {
			s.hits.Add(1)
			s.touch(s.path(k))
			return payload, true
		}
		os.Remove(s.path(k))
	}
	if payload, ok := s.fetch(k); ok {
		s.hits.Add(1)
		return payload, true
	}
	s.misses.Add(1)
	return nil, false
}

// touchEvery is how stale an entry's modification time may get before a
// hit refreshes it; Prune judges entries by it.
const touchEvery = time.Hour

// touch marks an entry as used, at most once per touchEvery.
func (s *Store) touch(p string) {
	info, err := os.Stat(p)
	if err == nil && time.Since(info.ModTime()) > touchEvery {
		now := time.Now()
		_ = os.Chtimes(p, now, now) // a read-only cache only loses its pruning order
	}
}

// Prune removes the entries not used for longer than age, and temporary
// files a killed run left behind, and returns how many files and bytes it
// removed. Safe to run while other runs use the store: an entry removed
// under a reader is a miss for it.
func (s *Store) Prune(age time.Duration) (files int, total int64, err error) {
	cutoff := time.Now().Add(-age)
	err = s.eachFile(func(p string, info fs.FileInfo) error {
		temp := strings.HasPrefix(info.Name(), ".tmp-")
		if info.ModTime().Before(cutoff) || (temp && time.Since(info.ModTime()) > touchEvery) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			files++
			total += info.Size()
		}
		return nil
	})
	return files, total, err
}

// Miss records that a payload from Get could not be used (it decoded to
// nothing sensible), and removes it.
func (s *Store) Miss(k Key) {
	if s == nil {
		return
	}
	s.hits.Add(-1)
	s.misses.Add(1)
	os.Remove(s.path(k))
}

// Put stores payload under k, atomically: readers see the old entry, no
// entry, or the whole new one.
func (s *Store) Put(k Key, payload []byte) error {
	if s == nil {
		return nil
	}
	if err := s.putLocal(k, payload); err != nil {
		return err
	}
	s.store(k, payload)
	return nil
}

func (s *Store) putLocal(k Key, payload []byte) error {
	p := s.path(k)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("cache put: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("cache put: %w", err)
	}
	_, werr := tmp.Write(wrap(payload))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cache put: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cache put: %w", err)
	}
	return nil
}

// Stats returns how many lookups hit and missed since the store was opened.
func (s *Store) Stats() (hits, misses int64) {
	if s == nil {
		return 0, 0
	}
	return s.hits.Load(), s.misses.Load()
}

// Size returns the number of entries and their total bytes.
func (s *Store) Size() (entries int, total int64, err error) {
	err = s.eachFile(func(_ string, info fs.FileInfo) error {
		entries++
		total += info.Size()
		return nil
	})
	return entries, total, err
}

// eachFile calls f for every file in the store.
func (s *Store) eachFile(f func(path string, info fs.FileInfo) error) error {
	return filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return f(p, info)
	})
}

func wrap(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	out := make([]byte, 0, len(magic)+len(sum)+len(payload))
	out = append(out, magic...)
	out = append(out, sum[:]...)
	return append(out, payload...)
}

func unwrap(b []byte) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte(magic)) || len(b) < len(magic)+sha256.Size {
		return nil, false
	}
	b = b[len(magic):]
	payload := b[sha256.Size:]
	sum := sha256.Sum256(payload)
	return payload, bytes.Equal(sum[:], b[:sha256.Size])
}
