package check

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"weak"

	"golang.org/x/sync/errgroup"

	"github.com/libertum/platform-gitops/generator/cache"
	"github.com/libertum/platform-gitops/generator/capacity"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
)

// unitKind versions a unit's cached per-object results.
const unitKind = "check-unit/5"

// unitEntry is what the cache keeps of one unit's check, object by object
// in the unit's order: the findings of the checks that see the object
// alone, and the policies' findings with the data they were concluded
// from (policy.Result.Reads) and what each read found then (Seen, a hash
// per read), and its summary (policy.Summary) with what its reads found
// (SummarySeen). A later run reuses an object's summary and its policy
// findings while every read still finds the same; it evaluates them again
// otherwise.
type unitEntry struct {
	Objects []objectEntry
	// Capacity is what a stamp's capacity reads of the unit (package
	// capacity): kept here, it travels with the entry (and the base's
	// bundle), and a diff's capacity needs no object of a unit the cache
	// served.
	Capacity *capacity.Unit
}

type objectEntry struct {
	Local       []policy.Finding
	Summary     policy.Summary
	SummarySeen []digest
	Policy      policy.Result
	Seen        []digest
}

// digest is a content hash.
type digest [sha256.Size]byte

// unitState is one unit during a check: its objects as inputs, its cache
// key, and what the cache had for it.
type unitState struct {
	unit   *render.Unit
	inputs []policy.Input
	// first is the index of the unit's first object in the environment's
	// inputs.
	first int
	key   cache.Key
	keyed bool
	entry *unitEntry
	// raw is entry in encodeEntry's form, as found or stored (for the
	// bundle).
	raw []byte
}

// unitKey is the content address of a unit's per-object results: the tool,
// the policies and CRDs, the cluster version the schema is judged at, the
// unit and where it is declared, and every rendered file. The environment
// is not part of it: what the policies read of it is checked read by read.
func (c *Checker) unitKey(env *spec.Environment, u *render.Unit) (cache.Key, error) {
	sources, err := c.sourcesKey()
	if err != nil {
		return cache.Key{}, err
	}
	h := cache.NewHasher(unitKind)
	h.String("tool", cache.ToolID())
	h.Bytes("policies and CRDs", sources[:])
	h.String("kubernetes", env.Spec.Cluster.KubernetesVersion)
	h.String("unit", u.Unit.String()+"\x00"+componentSource(env, u.Component))
	c.hashFiles(h, u)
	return h.Sum()
}

// digests returns the SHA-256 of each of a unit's files, in order,
// computed once per Checker. The unit is held weakly: a render checked in
// parts (render.Stream) frees each part's objects after its check.
func (c *Checker) digests(u *render.Unit) []digest {
	k := weak.Make(u)
	if d, ok := c.files.Load(k); ok {
		return d.([]digest)
	}
	ds := make([]digest, len(u.Files))
	for i, f := range u.Files {
		ds[i] = sha256.Sum256(f.Data)
	}
	d, _ := c.files.LoadOrStore(k, ds)
	return d.([]digest)
}

// hashFiles adds a unit's files to a key, each by path and digest.
func (c *Checker) hashFiles(h *cache.Hasher, u *render.Unit) {
	for i, d := range c.digests(u) {
		h.Bytes(u.Files[i].Path, d[:])
	}
}

// lookup reads the cached entries of units, at most workers at once: each
// is a file, local or in the shared store, read and verified on its own,
// unless known (the base's bundle, baseEntries) files it by its key.
func (c *Checker) lookup(ctx context.Context, env *spec.Environment, states []*unitState, known map[cache.Key][]byte) error {
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(max(c.o.Workers, 4))
	for _, s := range states {
		g.Go(func() error {
			k, err := c.unitKey(env, s.unit)
			if err != nil {
				return nil // no key: evaluated, never cached
			}
			s.key, s.keyed = k, true
			if b, ok := known[k]; ok {
				if e, ok := s.decode(b); ok {
					s.entry, s.raw = e, b
					return nil
				}
			}
			b, ok := c.o.Cache.Get(k)
			if !ok {
				return nil
			}
			e, ok := s.decode(b)
			if !ok {
				c.o.Cache.Miss(k)
				return nil
			}
			s.entry, s.raw = e, b
			return nil
		})
	}
	return g.Wait()
}

// decode reads a unit entry found for s (encodeEntry's form), if it is
// one for s's objects.
func (s *unitState) decode(b []byte) (*unitEntry, bool) {
	e, err := decodeEntry(b)
	if err != nil || len(e.Objects) != len(s.inputs) || !e.valid() {
		return nil, false
	}
	return e, true
}

func (e *unitEntry) valid() bool {
	for _, o := range e.Objects {
		if len(o.Seen) != len(o.Policy.Reads) || len(o.SummarySeen) != len(o.Summary.Reads) {
			return false
		}
	}
	return true
}

// store writes the entries of the units whose objects were evaluated.
func (c *Checker) store(states []*unitState, evaluated map[*unitState]bool) {
	for _, s := range states {
		if !s.keyed || !evaluated[s] || s.entry == nil {
			continue
		}
		if b, err := encodeEntry(s.entry); err == nil {
			s.raw = b
			_ = c.o.Cache.Put(s.key, b) // a failed write only costs the next run time
		}
	}
}

// dataIndex answers what is at a path of the policies' data now, as a
// hash, for judging whether a cached result's reads still find the same.
// It mirrors policy.Data: data.environment is the environment's policy
// view, data.rendered[stamp][kind]["namespace/name"] every object, hashed
// by its rendered bytes, and data.summaries, shaped the same, every
// object's summary, hashed by its JSON (once setSummaries gave them;
// before, as when summaries are evaluated, there are none).
type dataIndex struct {
	// env is data.environment as JSON values; nil when it does not
	// encode (then no read of it is judged).
	env       map[string]any
	objects   digestTree
	summaries digestTree
	// memo holds what each path judged found (one index serves one
	// environment's check, on one goroutine).
	memo map[string]digest
}

// digestTree holds hashes by stamp, kind and "namespace/name" (a list:
// two objects may share a key).
type digestTree map[string]map[string]map[string][]digest

func (t digestTree) add(in policy.Input, d digest) {
	byKind := t[in.Stamp]
	if byKind == nil {
		byKind = map[string]map[string][]digest{}
		t[in.Stamp] = byKind
	}
	kind := in.Object.GetKind()
	byKey := byKind[kind]
	if byKey == nil {
		byKey = map[string][]digest{}
		byKind[kind] = byKey
	}
	byKey[in.Key()] = append(byKey[in.Key()], d)
}

// newDataIndex indexes inputs, each hashed by digests (at the same index).
func newDataIndex(env *spec.Environment, inputs []policy.Input, digests []digest) *dataIndex {
	x := &dataIndex{objects: digestTree{}, memo: map[string]digest{}}
	if b, err := json.Marshal(policy.EnvironmentOf(env)); err == nil {
		_ = json.Unmarshal(b, &x.env) // on error env stays nil: nothing of it is judged
	}
	for i, in := range inputs {
		x.objects.add(in, digests[i])
	}
	return x
}

// setSummaries makes the objects' summaries (at the inputs' indexes)
// data.summaries.
func (x *dataIndex) setSummaries(inputs []policy.Input, sums []policy.Summary) {
	x.summaries = digestTree{}
	for i, in := range inputs {
		if sums[i].Value != nil {
			x.summaries.add(in, sha256.Sum256(sums[i].Value))
		}
	}
	// What the summaries' paths found (absent) may be there now; what the
	// rest found is still what they find.
	maps.DeleteFunc(x.memo, func(k string, _ digest) bool {
		return k == "summaries" || strings.HasPrefix(k, "summaries\x00")
	})
}

// absent is what a read of a path that holds nothing finds.
var absent = digest(sha256.Sum256([]byte("absent")))

// at hashes what is at path now; ok is false for a path it cannot judge
// (the whole data document), which is then never reused.
func (x *dataIndex) at(path policy.Path) (digest, bool) {
	if len(path) == 0 {
		return digest{}, false
	}
	k := strings.Join(path, "\x00")
	if d, ok := x.memo[k]; ok {
		return d, true
	}
	var (
		d  digest
		ok bool
	)
	switch path[0] {
	case "environment":
		d, ok = x.envAt(path[1:])
	case "rendered":
		d, ok = x.objects.at(path[1:]), true
	case "summaries": // none until setSummaries: a nil tree holds nothing
		d, ok = x.summaries.at(path[1:]), true
	default: // nothing else is in the data
		d, ok = absent, true
	}
	if ok {
		x.memo[k] = d
	}
	return d, ok
}

func (x *dataIndex) envAt(path []string) (digest, bool) {
	if x.env == nil {
		return digest{}, false
	}
	var v any = x.env
	for _, p := range path {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[p]; !ok {
				return absent, true
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return absent, true
			}
			v = t[i]
		default:
			return absent, true
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return digest{}, false
	}
	return digest(sha256.Sum256(b)), true
}

// at hashes the tree at path: an entry (or what lies under it, judged by
// the whole entry), or every entry under a stamp or a kind, by key in
// sorted order.
func (t digestTree) at(path []string) digest {
	h := sha256.New()
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	kind := func(stamp, kind string, byKey map[string][]digest) {
		for _, key := range slices.Sorted(maps.Keys(byKey)) {
			write(stamp, kind, key)
			for _, d := range byKey[key] {
				h.Write(d[:])
			}
		}
	}
	switch {
	case len(path) == 0:
		for _, s := range slices.Sorted(maps.Keys(t)) {
			for _, k := range slices.Sorted(maps.Keys(t[s])) {
				kind(s, k, t[s][k])
			}
		}
	case len(path) == 1:
		for _, k := range slices.Sorted(maps.Keys(t[path[0]])) {
			kind(path[0], k, t[path[0]][k])
		}
	case len(path) == 2:
		kind(path[0], path[1], t[path[0]][path[1]])
	default:
		ds, ok := t[path[0]][path[1]][path[2]]
		if !ok {
			return absent
		}
		write(path[0], path[1], path[2])
		for _, d := range ds {
			h.Write(d[:])
		}
	}
	var d digest
	copy(d[:], h.Sum(nil))
	if len(path) <= 2 && d == digest(sha256.Sum256(nil)) {
		return absent // nothing there: as a read of a missing key finds
	}
	return d
}
