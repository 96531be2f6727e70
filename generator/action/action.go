// Package action holds gitops' commands as structs with a Run method, in
// the shape of Helm's pkg/action: the command line fills a struct from its
// flags, Run does the work against one workspace, and the caller picks the
// output format and exit code from what Run returns. Each command loads
// the repo once, through its Config's workspace.
package action

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/libertum/platform-gitops/generator/blobcache"
	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/check"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// DefaultPolicyTimeout bounds each environment's policy evaluation.
const DefaultPolicyTimeout = check.DefaultTimeout

// Config is what every command shares: the repo, the worker count, the
// render cache, and where to say what is happening.
type Config struct {
	// Root is the repo root (default ".").
	Root string
	// Workers is how many units render or objects are checked at once;
	// <= 0 means the number of CPUs.
	Workers int
	// CacheDir is the render cache (default $GITOPS_CACHE_DIR or the user
	// cache dir); NoCache turns the cache off.
	CacheDir string
	NoCache  bool
	// Log receives status lines (stderr); nil discards them.
	Log io.Writer
	// PolicyTimeout bounds each environment's policy evaluation (default
	// check.DefaultTimeout).
	PolicyTimeout time.Duration
	// Shard is "I/N": render this runner's share of the units (the others
	// are read from the committed rendered/); empty renders all.
	Shard string
	// LockWait bounds how long a command that writes the checkout waits
	// for another one to finish (default 2 minutes).
	LockWait time.Duration
	// CacheURL is the shared remote tier behind the local cache (default
	// $GITOPS_CACHE_URL; see package blobcache); RemoteTimeout bounds each
	// remote read or write.
	CacheURL      string
	RemoteTimeout time.Duration
	// CacheReadOnly reads the remote tier and writes nothing to it
	// (default $GITOPS_CACHE_READ_ONLY): what a pull request's jobs do.
	CacheReadOnly bool

	wsMu sync.Mutex
	ws   *workspace.Workspace

	storeOnce sync.Once
	store     *cache.Store
}

// Workspace returns the repo, opened once per Config (until reopen).
func (c *Config) Workspace() *workspace.Workspace {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	if c.ws == nil {
		root := c.Root
		if root == "" {
			root = "."
		}
		c.ws = workspace.Open(root)
	}
	return c.ws
}

// reopen forgets what the workspace read: a command that changed the repo
// (set-image, promote) renders what it wrote.
func (c *Config) reopen() {
	c.wsMu.Lock()
	c.ws = nil
	c.wsMu.Unlock()
}

// Environment variables of the shared tier's trust.
const (
	// EnvCacheSigningKey holds the key (ed25519, base64) the protected
	// branch's jobs sign the entries they write with; never a pull
	// request's.
	EnvCacheSigningKey = "GITOPS_CACHE_SIGNING_KEY"
	// EnvCacheVerifyKey holds its public key: a reader given it refuses
	// every shared entry not signed with it.
	EnvCacheVerifyKey = "GITOPS_CACHE_VERIFY_KEY"
	// EnvCacheReadOnly, when "true" or "1", makes the shared tier read-only.
	EnvCacheReadOnly = "GITOPS_CACHE_READ_ONLY"
)

// CheckCache says whether the cache settings can be used: a remote URL of
// a scheme the tool opens, keys that decode. Bad settings are bad input
// (exit 2), not a warning.
func (c *Config) CheckCache() error {
	u := c.CacheURL
	if u == "" {
		u = os.Getenv(blobcache.EnvURL)
	}
	if u != "" {
		if err := blobcache.CheckURL(u); err != nil {
			return err
		}
	}
	_, _, err := cacheKeys()
	return err
}

// cacheKeys reads the signing and verifying keys from the environment.
func cacheKeys() (ed25519.PrivateKey, ed25519.PublicKey, error) {
	var priv ed25519.PrivateKey
	var pub ed25519.PublicKey
	if v := strings.TrimSpace(os.Getenv(EnvCacheSigningKey)); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		switch {
		case err == nil && len(b) == ed25519.SeedSize:
			priv = ed25519.NewKeyFromSeed(b)
		case err == nil && len(b) == ed25519.PrivateKeySize:
			priv = ed25519.PrivateKey(b)
		default:
			return nil, nil, fmt.Errorf("%s: want an ed25519 private key or seed, base64 (gitops cache keygen makes one)", EnvCacheSigningKey)
		}
	}
	if v := strings.TrimSpace(os.Getenv(EnvCacheVerifyKey)); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, nil, fmt.Errorf("%s: want an ed25519 public key, base64 (gitops cache keygen makes one)", EnvCacheVerifyKey)
		}
		pub = ed25519.PublicKey(b)
	}
	if priv != nil && pub != nil && !pub.Equal(priv.Public()) {
		return nil, nil, fmt.Errorf("%s is not the public key of %s", EnvCacheVerifyKey, EnvCacheSigningKey)
	}
	return priv, pub, nil
}

// Cache returns the store to use, or nil when caching is off; opened once
// per Config. A cache that cannot be opened (read-only home, no cache dir)
// only costs speed, so it turns caching off rather than failing the
// command; a remote tier that cannot be opened is left out with a warning.
func (c *Config) Cache() *cache.Store {
	if c.NoCache {
		return nil
	}
	c.storeOnce.Do(func() {
		dir := c.CacheDir
		if dir == "" {
			d, err := cache.DefaultDir()
			if err != nil {
				return
			}
			dir = d
		}
		s, err := cache.Open(dir)
		if err != nil {
			return
		}
		priv, pub, err := cacheKeys()
		if err != nil {
			c.logf("warning: %v; caching off\n", err)
			return
		}
		c.store = s.Sign(priv).Verify(pub).Warn(c.logf)
		u := c.CacheURL
		if u == "" {
			u = os.Getenv(blobcache.EnvURL)
		}
		if u == "" {
			return
		}
		timeout := c.RemoteTimeout
		if timeout <= 0 {
			timeout = cache.DefaultRemoteTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		b, err := blobcache.Open(ctx, u)
		if err != nil {
			c.logf("warning: %v; rendering without the remote cache\n", err)
			return
		}
		s.WithRemote(b, timeout, c.logf)
		if v := os.Getenv(EnvCacheReadOnly); c.CacheReadOnly || v == "true" || v == "1" {
			s.ReadOnly()
		}
	})
	return c.store
}

// lock takes the checkout's writer lock on the rendered tree out (the
// repo's rendered/ when empty), saying so when another writer holds it.
func (c *Config) lock(ctx context.Context, cmd, out string) (unlock func(), err error) {
	if out == "" {
		out = c.Workspace().Path(workspace.RenderedDir)
	}
	wait := c.LockWait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	return layout.Lock(ctx, out, wait, func(holder string) {
		c.logf("gitops %s: %s is writing %s; waiting up to %s\n", cmd, holder, out, wait)
	})
}

// shard parses Shard (nil when unset).
func (c *Config) shard() (*plan.Shard, error) {
	if c.Shard == "" {
		return nil, nil
	}
	return plan.ParseShard(c.Shard)
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format, args...)
	}
}

// scope returns the units the changes since rev can affect (nil, meaning
// all, when rev is empty) and says which they are.
func (c *Config) scope(ctx context.Context, rev, cmd string) (*plan.Scope, error) {
	if rev == "" {
		return nil, nil
	}
	s, err := plan.Since(ctx, c.Workspace(), rev)
	if err != nil {
		return nil, err
	}
	units := s.Units()
	if len(units) == 0 {
		units = []string{"nothing (every unit read from rendered/)"}
	}
	c.logf("gitops %s: changed since %s: %s\n", cmd, rev, strings.Join(units, ", "))
	return s, nil
}
