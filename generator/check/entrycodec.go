package check

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/libertum/platform-gitops/generator/capacity"
	"github.com/libertum/platform-gitops/generator/policy"
)

// A unit entry is kept in a compact binary form. At 1,000 services a
// pull request's check reads 3,000 of them, 4 KB each as JSON: mostly
// the same few data paths and the same hashes (what environment.name
// found, for every object), which JSON spelled out per object and decoded
// at ~20 MB/s. Here each entry names every distinct string and hash once,
// in tables, and its objects refer to them by index:
//
//	entry    = magic strings digests uvarint(#objects) object... capacity
//	strings  = uvarint(n) uvarint(len)... bytes (the n strings, concatenated)
//	digests  = uvarint(n) n×32 bytes
//	object   = findings(local) value paths(summary) refs(summary seen)
//	           findings(policy) paths(policy) refs(policy seen)
//	findings = uvarint(n) (flags(1) 14×uvarint(string))...
//	paths    = uvarint(n) (uvarint(k) k×uvarint(string))...
//	refs     = uvarint(n) n×uvarint(digest)
//	value    = uvarint(0) for none, else uvarint(len+1) bytes
//	capacity = 0, or 1 uvarint(len) JSON (package capacity's)
//
// Entries are read from a shared store other jobs write: decodeEntry
// refuses anything malformed (a count larger than the bytes left, an
// index outside its table) instead of trusting it.
//
// The magic names the form and its version (and a unit entry among the
// cache's files).
const entryMagic = "check-unit-entry/1\n"

// findingFlagStampWide marks a stamp-wide finding (policy.Finding.StampWide).
const findingFlagStampWide = 1

// encodeEntry writes e in the entry form.
func encodeEntry(e *unitEntry) ([]byte, error) {
	w := entryWriter{strings: map[string]uint64{}, digests: map[digest]uint64{}}
	w.uvarint(uint64(len(e.Objects)))
	for i := range e.Objects {
		o := &e.Objects[i]
		w.findings(o.Local)
		w.value(o.Summary.Value)
		w.paths(o.Summary.Reads)
		w.refs(o.SummarySeen)
		w.findings(o.Policy.Findings)
		w.paths(o.Policy.Reads)
		w.refs(o.Seen)
	}
	if e.Capacity == nil {
		w.body = append(w.body, 0)
	} else {
		b, err := json.Marshal(e.Capacity)
		if err != nil {
			return nil, err
		}
		w.body = append(w.body, 1)
		w.uvarint(uint64(len(b)))
		w.body = append(w.body, b...)
	}
	out := []byte(entryMagic)
	out = binary.AppendUvarint(out, uint64(len(w.table)))
	for _, s := range w.table {
		out = binary.AppendUvarint(out, uint64(len(s)))
	}
	for _, s := range w.table {
		out = append(out, s...)
	}
	out = binary.AppendUvarint(out, uint64(len(w.hashes)))
	for _, d := range w.hashes {
		out = append(out, d[:]...)
	}
	return append(out, w.body...), nil
}

// entryWriter builds an entry's body and its tables.
type entryWriter struct {
	body    []byte
	strings map[string]uint64
	table   []string
	digests map[digest]uint64
	hashes  []digest
}

func (w *entryWriter) uvarint(v uint64) { w.body = binary.AppendUvarint(w.body, v) }

func (w *entryWriter) str(s string) { w.uvarint(intern(w.strings, &w.table, s)) }

// intern is v's index in table, appended the first time (index maps each
// value to its index).
func intern[T comparable](index map[T]uint64, table *[]T, v T) uint64 {
	i, ok := index[v]
	if !ok {
		i = uint64(len(*table))
		index[v] = i
		*table = append(*table, v)
	}
	return i
}

func (w *entryWriter) findings(fs []policy.Finding) {
	w.uvarint(uint64(len(fs)))
	for _, f := range fs {
		var flags byte
		if f.StampWide() {
			flags |= findingFlagStampWide
		}
		w.body = append(w.body, flags)
		for _, s := range findingStrings(&f) {
			w.str(*s)
		}
	}
}

// findingStrings are a finding's fields in the entry form's order.
func findingStrings(f *policy.Finding) [14]*string {
	return [14]*string{&f.Rule, (*string)(&f.Level), &f.Env, &f.Stamp, &f.Component,
		&f.Kind, &f.Namespace, &f.Name, &f.File, &f.Source, &f.Origin, &f.Message, &f.Fix, &f.Exception}
}

func (w *entryWriter) value(v []byte) {
	if v == nil {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(len(v)) + 1)
	w.body = append(w.body, v...)
}

func (w *entryWriter) paths(ps []policy.Path) {
	w.uvarint(uint64(len(ps)))
	for _, p := range ps {
		w.uvarint(uint64(len(p)))
		for _, s := range p {
			w.str(s)
		}
	}
}

func (w *entryWriter) refs(ds []digest) {
	w.uvarint(uint64(len(ds)))
	for _, d := range ds {
		w.uvarint(intern(w.digests, &w.hashes, d))
	}
}

// errEntry is any malformed entry.
var errEntry = errors.New("malformed unit entry")

// decodeEntry reads encodeEntry's form; what it returns shares no memory
// with b (a bundle's bytes need not outlive its entries). The strings of
// an entry share one allocation.
func decodeEntry(b []byte) (*unitEntry, error) {
	rest, ok := bytes.CutPrefix(b, []byte(entryMagic))
	if !ok {
		return nil, fmt.Errorf("%w: not %q", errEntry, entryMagic[:len(entryMagic)-1])
	}
	r := entryReader{b: rest}
	n := r.count(1)
	lens := make([]int, n)
	total := 0
	for i := range lens {
		lens[i] = r.count(0)
		total += lens[i]
	}
	all := string(r.take(total))
	r.table = make([]string, n)
	for i, l := range lens {
		if r.err != nil {
			break
		}
		r.table[i], all = all[:l], all[l:]
	}
	nd := r.count(len(digest{}))
	hashes := make([]digest, nd)
	for i := range hashes {
		copy(hashes[i][:], r.take(len(digest{})))
	}
	r.hashes = hashes
	e := &unitEntry{Objects: make([]objectEntry, r.count(1))}
	for i := range e.Objects {
		o := &e.Objects[i]
		o.Local = r.findings()
		o.Summary.Value = r.value()
		o.Summary.Reads = r.paths()
		o.SummarySeen = r.refs()
		o.Policy.Findings = r.findings()
		o.Policy.Reads = r.paths()
		o.Seen = r.refs()
	}
	switch r.byte() {
	case 0:
	case 1:
		e.Capacity = &capacity.Unit{}
		if err := json.Unmarshal(r.take(r.count(1)), e.Capacity); err != nil && r.err == nil {
			r.err = fmt.Errorf("%w: capacity: %v", errEntry, err)
		}
	default:
		r.fail("capacity")
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	return e, nil
}

// entryReader reads an entry's fields, remembering the first error (then
// every read returns zero values).
type entryReader struct {
	b      []byte
	err    error
	table  []string
	hashes []digest
	// malformed is the error a failure wraps (nil: errEntry).
	malformed error
}

func (r *entryReader) fail(what string) {
	if r.err == nil {
		kind := r.malformed
		if kind == nil {
			kind = errEntry
		}
		r.err = fmt.Errorf("%w: %s", kind, what)
	}
	r.b = nil
}

func (r *entryReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a number of items each taking at least size bytes of what
// is left (a length in bytes when size is 0), refusing one that cannot fit.
func (r *entryReader) count(size int) int {
	v := r.uvarint()
	if v > uint64(len(r.b)) || (size > 0 && v > uint64(len(r.b)/size)) {
		r.fail("count beyond the entry")
		return 0
	}
	return int(v)
}

func (r *entryReader) take(n int) []byte {
	if n > len(r.b) {
		r.fail("truncated")
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *entryReader) byte() byte {
	b := r.take(1)
	if len(b) == 0 {
		return 0xff
	}
	return b[0]
}

func (r *entryReader) str() string {
	i := r.uvarint()
	if i >= uint64(len(r.table)) {
		r.fail("string index")
		return ""
	}
	return r.table[i]
}

func (r *entryReader) findings() []policy.Finding {
	n := r.count(15)
	if n == 0 {
		return nil
	}
	out := make([]policy.Finding, n)
	for i := range out {
		f := &out[i]
		flags := r.byte()
		for _, s := range findingStrings(f) {
			*s = r.str()
		}
		f.SetStampWide(flags&findingFlagStampWide != 0)
	}
	return out
}

func (r *entryReader) value() json.RawMessage {
	n := r.uvarint()
	if n == 0 {
		return nil
	}
	if n-1 > uint64(len(r.b)) {
		r.fail("value beyond the entry")
		return nil
	}
	return bytes.Clone(r.take(int(n - 1)))
}

func (r *entryReader) paths() []policy.Path {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	out := make([]policy.Path, n)
	for i := range out {
		k := r.count(1)
		p := make(policy.Path, k)
		for j := range p {
			p[j] = r.str()
		}
		out[i] = p
	}
	return out
}

func (r *entryReader) refs() []digest {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	out := make([]digest, n)
	for i := range out {
		j := r.uvarint()
		if j >= uint64(len(r.hashes)) {
			r.fail("hash index")
			return nil
		}
		out[i] = r.hashes[j]
	}
	return out
}
