package check

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
)

// bundleKind versions an environment's bundle of unit entries.
const bundleKind = "check-bundle/2"

// A bundle is every unit entry of one environment's check, kept as one
// cache entry and addressed by the environment's rendered files as git
// keeps them. A pull request's job shares all its units but the changed
// ones with its base commit, whose rendered tree the protected branch's
// job checked and bundled: it reads the base's entries in one fetch
// instead of one per unit (3,000 at 1,000 services, each a file or a
// request to the shared store, verified and copied locally on its own).
//
// The bundle only finds entries: each is used for a unit whose own key
// (unitKey) it is filed under, exactly as that entry fetched alone would
// be, so a bundle for another tree can cost a fetch but never a verdict.
//
// Its form is a magic line naming it and its version, the number of
// entries, and each entry's unit key (32 bytes), length and bytes
// (encodeEntry's form), by key: reading it finds each entry without
// decoding any.
const bundleMagic = "check-bundle/2\n"

// encodeBundle writes entries (by unit key) in the bundle form.
func encodeBundle(entries map[cache.Key][]byte) []byte {
	out := []byte(bundleMagic)
	out = binary.AppendUvarint(out, uint64(len(entries)))
	for _, k := range slices.SortedFunc(maps.Keys(entries), func(a, b cache.Key) int { return bytes.Compare(a[:], b[:]) }) {
		out = append(out, k[:]...)
		out = binary.AppendUvarint(out, uint64(len(entries[k])))
		out = append(out, entries[k]...)
	}
	return out
}

// decodeBundle reads encodeBundle's form; the entries are slices of b.
func decodeBundle(b []byte) (map[cache.Key][]byte, error) {
	rest, ok := bytes.CutPrefix(b, []byte(bundleMagic))
	if !ok {
		return nil, fmt.Errorf("%w: not %q", errBundle, bundleMagic[:len(bundleMagic)-1])
	}
	r := entryReader{b: rest, malformed: errBundle}
	n := r.count(len(cache.Key{}) + 1)
	out := make(map[cache.Key][]byte, n)
	for range n {
		var k cache.Key
		copy(k[:], r.take(len(k)))
		out[k] = r.take(r.count(0))
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

// errBundle is any malformed bundle.
var errBundle = errors.New("malformed bundle")

// bundleKey addresses an environment's bundle: the tool, the policies and
// CRDs, the environment, and each of its rendered files by repo path and
// git blob id.
func (c *Checker) bundleKey(env string, blobs map[string]string) (cache.Key, error) {
	sources, err := c.sourcesKey()
	if err != nil {
		return cache.Key{}, err
	}
	h := cache.NewHasher(bundleKind)
	h.String("tool", cache.ToolID())
	h.Bytes("policies and CRDs", sources[:])
	h.String("environment", env)
	for _, p := range slices.Sorted(maps.Keys(blobs)) {
		h.String(p, blobs[p])
	}
	return h.Sum()
}

// baseEntries returns the unit entries of env's bundle at the base commit
// (Options.Base), by unit key; none without a base, a cache, or a bundle
// for the base's committed rendered tree (a base the protected branch did
// not check, a tree it did not render as committed, a repository of
// SHA-256 object names).
func (c *Checker) baseEntries(ctx context.Context, env *spec.Environment) map[cache.Key][]byte {
	if c.o.Base == "" || c.o.Cache == nil {
		return nil
	}
	c.baseOnce.Do(func() {
		if c.o.BaseTree != nil {
			c.baseTree, c.baseErr = c.o.BaseTree()
			return
		}
		c.baseTree, c.baseErr = git.Repo{Dir: c.ws.Root}.Blobs(ctx, c.o.Base, layout.Dir)
	})
	if c.baseErr != nil {
		return nil
	}
	tree := c.baseTree
	blobs := map[string]string{}
	prefix := layout.RepoPath(env.Name()) + "/"
	for p, id := range tree {
		if strings.HasPrefix(p, prefix) {
			blobs[p] = id
		}
	}
	if len(blobs) == 0 {
		return nil
	}
	key, err := c.bundleKey(env.Name(), blobs)
	if err != nil {
		return nil
	}
	data, ok := c.o.Cache.Get(key)
	if !ok {
		return nil
	}
	out, err := decodeBundle(data)
	if err != nil {
		c.o.Cache.Miss(key)
		return nil
	}
	return out
}

// storeBundle files env's unit entries as its bundle when this run shares
// what it checks (the protected branch's job writes the shared store) and
// every unit with objects has a keyed entry.
func (c *Checker) storeBundle(env *spec.Environment, units []*render.Unit, states []*unitState) {
	if !c.o.Cache.Shares() {
		return
	}
	entries := map[cache.Key][]byte{}
	for _, s := range states {
		if len(s.inputs) == 0 {
			continue
		}
		if !s.keyed || s.raw == nil {
			return
		}
		entries[s.key] = s.raw
	}
	blobs := map[string]string{}
	for _, u := range units {
		for _, f := range u.Files {
			blobs[layout.RepoPath(f.Path)] = git.BlobID(f.Data)
		}
	}
	key, err := c.bundleKey(env.Name(), blobs)
	if err != nil {
		return
	}
	_ = c.o.Cache.Put(key, encodeBundle(entries)) // a failed write only costs the next run time
}
