package action

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"time"

	"github.com/libertum/platform-gitops/generator/blobcache"
	"github.com/libertum/platform-gitops/generator/cache"
)

// Cache inspects and trims the render cache.
type Cache struct {
	// Dir is the cache (default $GITOPS_CACHE_DIR or the user cache dir).
	Dir string
	// Op is dir (where the cache is), stats (its size) or prune (remove
	// the entries no run has used for OlderThan).
	Op        string
	OlderThan time.Duration
	// URL is the remote tier (default $GITOPS_CACHE_URL); stats reports it too.
	URL string
}

// Run does Op.
func (c *Cache) Run() (*CacheStats, error) {
	switch c.Op {
	case "dir":
		dir, err := c.Path()
		return &CacheStats{Dir: dir}, err
	case "stats":
		return c.Stats()
	case "prune":
		return c.Prune(c.OlderThan)
	case "keygen":
		return c.Keygen()
	}
	return nil, &OperationError{Op: c.Op}
}

// Keygen makes a key pair for the shared tier: the private key goes to
// the protected branch's jobs (a CI secret, $GITOPS_CACHE_SIGNING_KEY),
// the public key to every reader ($GITOPS_CACHE_VERIFY_KEY).
func (c *Cache) Keygen() (*CacheStats, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &CacheStats{SigningKey: base64.StdEncoding.EncodeToString(priv.Seed()), VerifyKey: base64.StdEncoding.EncodeToString(pub)}, nil
}

// OperationError is Run's answer to an Op that is none of dir, stats and
// prune: a wrong command line, not a cache that failed.
type OperationError struct{ Op string }

func (e *OperationError) Error() string {
	return fmt.Sprintf("unknown operation %q: want dir, stats, prune or keygen", e.Op)
}

// CacheStats is the cache's size, or what a prune removed.
type CacheStats struct {
	Dir     string
	Entries int
	Bytes   int64
	// Remote is the remote tier's size, when one is configured.
	Remote *RemoteTier
	// SigningKey and VerifyKey are what keygen made (base64).
	SigningKey, VerifyKey string
}

// RemoteTier is the remote cache's address and size.
type RemoteTier struct {
	URL     string
	Entries int
	Bytes   int64
}

// Path returns where the cache is.
func (c *Cache) Path() (string, error) {
	if c.Dir != "" {
		return c.Dir, nil
	}
	return cache.DefaultDir()
}

func (c *Cache) open() (*cache.Store, string, error) {
	dir, err := c.Path()
	if err != nil {
		return nil, "", err
	}
	s, err := cache.Open(dir)
	if err != nil {
		return nil, "", fmt.Errorf("open cache %s: %w", dir, err)
	}
	return s, dir, nil
}

// Stats counts the entries and their bytes.
func (c *Cache) Stats() (*CacheStats, error) {
	s, dir, err := c.open()
	if err != nil {
		return nil, err
	}
	n, b, err := s.Size()
	st := &CacheStats{Dir: dir, Entries: n, Bytes: b}
	if err != nil {
		return nil, err
	}
	u := c.URL
	if u == "" {
		u = os.Getenv(blobcache.EnvURL)
	}
	if u == "" {
		return st, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bucket, err := blobcache.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	defer bucket.Close()
	rn, rb, err := bucket.Size(ctx)
	st.Remote = &RemoteTier{URL: bucket.String(), Entries: rn, Bytes: rb}
	return st, err
}

// Prune removes the entries no run has used for age; safe while other
// runs use the cache.
func (c *Cache) Prune(age time.Duration) (*CacheStats, error) {
	s, dir, err := c.open()
	if err != nil {
		return nil, err
	}
	n, b, err := s.Prune(age)
	return &CacheStats{Dir: dir, Entries: n, Bytes: b}, err
}
