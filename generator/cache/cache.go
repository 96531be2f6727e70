// Package cache is a content-addressed store on disk: a key is the SHA-256
// of everything a result was computed from (the inputs and the version of
// the tool that computed it), the value is the result's bytes.
//
// Entries are written to a temporary file and renamed into place, so
// concurrent runs never see half an entry. Every entry names the key it is
// the entry of and carries the checksum of its payload, and may carry a
// signature (ed25519, over both) by the key CI writes the shared tier
// with: an entry found under another key (a copy of an older render), a
// corrupt or truncated one, or — where the reader is given the public key
// — an unsigned or foreign one is a miss, warned about once and replaced,
// never a result. Reading an entry never blocks: only regular files are
// read, and every call to the shared tier has a deadline.
package cache

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EnvDir names the environment variable that overrides the cache directory.
const EnvDir = "GITOPS_CACHE_DIR"

// magic starts every entry; a format change bumps its version.
const magic = "gitops-cache/2\n"

// maxEntry bounds what is read as one entry.
const maxEntry = 256 << 20

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
	// signer signs every entry written; verifier, when set, is the key
	// the shared tier's entries must be signed with.
	signer   ed25519.PrivateKey
	verifier ed25519.PublicKey
	// warn reports a refused entry, once per run.
	warn     func(format string, args ...any)
	warnOnce sync.Once
	refused  atomic.Int64
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

// Sign makes the store sign every entry it writes with key (the shared
// tier's writer: CI on the protected branch).
func (s *Store) Sign(key ed25519.PrivateKey) *Store {
	if s != nil {
		s.signer = key
	}
	return s
}

// Verify makes the store refuse every shared-tier entry not signed with
// key: a pull request that reads the shared tier trusts only what CI
// wrote.
func (s *Store) Verify(key ed25519.PublicKey) *Store {
	if s != nil {
		s.verifier = key
	}
	return s
}

// Warn sets where refused entries are reported.
func (s *Store) Warn(f func(format string, args ...any)) *Store {
	if s != nil {
		s.warn = f
	}
	return s
}

// refuse counts a refused entry and warns about the first of the run.
func (s *Store) refuse(where string, k Key, why string) {
	s.refused.Add(1)
	s.warnOnce.Do(func() {
		if s.warn != nil {
			s.warn("warning: %s cache entry %s refused (%s); rendering it again and replacing it (further refusals are counted by gitops cache stats)\n", where, k, why)
		}
	})
}

// Refused counts the entries refused in this run.
func (s *Store) Refused() int64 {
	if s == nil {
		return 0
	}
	return s.refused.Load()
}

// Dir is where the store keeps its entries.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(k Key) string {
	hex := k.String()
	return filepath.Join(s.dir, hex[:2], hex)
}

// Get returns the payload stored under k. A missing or unreadable entry
// is a miss; one that is not k's, is corrupt or truncated, or is not a
// regular file is a miss, reported and removed.
func (s *Store) Get(k Key) ([]byte, bool) {
	if s == nil {
		return nil, false
	}
	b, err := readEntry(s.path(k))
	switch {
	case err == nil:
		payload, why := unwrap(k, b, nil)
		if why == "" {
			s.hits.Add(1)
			s.touch(s.path(k))
			return payload, true
		}
		s.refuse("local", k, why)
		os.Remove(s.path(k))
	case errors.Is(err, errNotRegular):
		s.refuse("local", k, err.Error())
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

// errNotRegular is an entry that is not a regular file: a FIFO or a device
// would block the reader.
var errNotRegular = errors.New("not a regular file")

// readEntry reads an entry without ever blocking: opened without waiting
// for a writer, read only when it is a regular file.
func readEntry(p string) ([]byte, error) {
	f, err := openEntry(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errNotRegular
	}
	return io.ReadAll(io.LimitReader(f, maxEntry))
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
	_, werr := tmp.Write(wrap(k, payload, s.signer))
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

// An entry is: magic, the key it is the entry of, the SHA-256 of its
// payload, the length of a signature and the signature (ed25519 over the
// magic, key and checksum; none when the writer signs nothing), the
// payload.
func wrap(k Key, payload []byte, signer ed25519.PrivateKey) []byte {
	sum := sha256.Sum256(payload)
	var sig []byte
	if signer != nil {
		sig = ed25519.Sign(signer, signed(k, sum))
	}
	out := make([]byte, 0, len(magic)+len(k)+len(sum)+2+len(sig)+len(payload))
	out = append(out, magic...)
	out = append(out, k[:]...)
	out = append(out, sum[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(sig)))
	out = append(out, sig...)
	return append(out, payload...)
}

func signed(k Key, sum [sha256.Size]byte) []byte {
	return append(append([]byte(magic), k[:]...), sum[:]...)
}

// unwrap returns an entry's payload, or says why it is not k's entry: it
// names another key, fails its checksum, or (with verifier) carries no
// signature by verifier's key.
func unwrap(k Key, b []byte, verifier ed25519.PublicKey) ([]byte, string) {
	head := len(magic) + len(k) + sha256.Size + 2
	if !bytes.HasPrefix(b, []byte(magic)) || len(b) < head {
		return nil, "not an entry of this format, or truncated"
	}
	var named Key
	copy(named[:], b[len(magic):])
	if named != k {
		return nil, "it is the entry of key " + named.String()
	}
	var sum [sha256.Size]byte
	copy(sum[:], b[len(magic)+len(k):])
	n := int(binary.BigEndian.Uint16(b[head-2:]))
	if len(b) < head+n {
		return nil, "truncated"
	}
	sig, payload := b[head:head+n], b[head+n:]
	if got := sha256.Sum256(payload); got != sum {
		return nil, "its payload fails its SHA-256"
	}
	if verifier != nil && (n != ed25519.SignatureSize || !ed25519.Verify(verifier, signed(k, sum), sig)) {
		return nil, "not signed with the shared tier's key"
	}
	return payload, ""
}
