package policy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// objectTree is data.rendered[stamp][kind]["namespace/name"] for one
// environment's objects, converted to OPA's values on first read and kept:
// a pull request's check judges a few objects, which read a few kinds of
// their stamp, so most objects are never converted (a full check converts
// each once, as before). Reads of a stamp, a kind or an object build the
// same values an eager conversion would: a later object of the same key
// replaces an earlier one.
type objectTree struct {
	inputs []Input
	// index holds, by stamp and kind, each key's input index (the later
	// one of a repeated key), and the keys in first-seen order.
	index map[string]map[string]*kindIndex

	once   []sync.Once
	values []ast.Value
	errs   []error

	mu    sync.Mutex
	built map[string]*built // by "stamp\x00kind", "stamp" and "\x00all"
}

// built is a document of the tree, built once.
type built struct {
	once sync.Once
	v    ast.Value
	err  error
}

type kindIndex struct {
	at   map[string]int
	keys []string
}

func newObjectTree(inputs []Input) *objectTree {
	t := &objectTree{inputs: inputs, index: map[string]map[string]*kindIndex{}, once: make([]sync.Once, len(inputs)),
		values: make([]ast.Value, len(inputs)), errs: make([]error, len(inputs)), built: map[string]*built{}}
	for i, in := range inputs {
		byKind := t.index[in.Stamp]
		if byKind == nil {
			byKind = map[string]*kindIndex{}
			t.index[in.Stamp] = byKind
		}
		kind := in.Object.GetKind()
		k := byKind[kind]
		if k == nil {
			k = &kindIndex{at: map[string]int{}}
			byKind[kind] = k
		}
		key := in.Key()
		if _, ok := k.at[key]; !ok {
			k.keys = append(k.keys, key)
		}
		k.at[key] = i
	}
	return t
}

// value is input i's object as OPA's value, converted once.
func (t *objectTree) value(i int) (ast.Value, error) {
	t.once[i].Do(func() {
		t.values[i], t.errs[i] = ast.InterfaceToValue(named(t.inputs[i].Object.Object))
		if t.errs[i] != nil {
			t.errs[i] = fmt.Errorf("policy input %s: %w", manifest.IDOf(t.inputs[i].Object), t.errs[i])
		}
	})
	return t.values[i], t.errs[i]
}

// convert converts the objects at the indexes at once, on workers: a
// check judging most objects reads most of them.
func (t *objectTree) convert(ctx context.Context, only []int, workers int) error {
	return each(ctx, len(only), workers, func(j int) error {
		_, err := t.value(only[j])
		return err
	})
}

// memo builds the document named key once.
func (t *objectTree) memo(key string, build func() (ast.Value, error)) (ast.Value, error) {
	t.mu.Lock()
	b := t.built[key]
	if b == nil {
		b = &built{}
		t.built[key] = b
	}
	t.mu.Unlock()
	b.once.Do(func() { b.v, b.err = build() })
	return b.v, b.err
}

// read is what data.rendered holds at path (storage's not-found error
// where nothing is).
func (t *objectTree) read(path storage.Path) (ast.Value, error) {
	switch len(path) {
	case 0:
		return t.all()
	case 1:
		if _, ok := t.index[path[0]]; !ok {
			return nil, notFound(path)
		}
		return t.stamp(path[0])
	case 2:
		k, ok := t.index[path[0]][path[1]]
		if !ok {
			return nil, notFound(path)
		}
		return t.kind(path[0], path[1], k)
	}
	k, ok := t.index[path[0]][path[1]]
	if !ok {
		return nil, notFound(path)
	}
	i, ok := k.at[path[2]]
	if !ok {
		return nil, notFound(path)
	}
	v, err := t.value(i)
	if err != nil {
		return nil, err
	}
	return descend(v, path, 3)
}

func (t *objectTree) kind(stamp, kind string, k *kindIndex) (ast.Value, error) {
	return t.memo(stamp+"\x00"+kind, func() (ast.Value, error) {
		obj := ast.NewObject()
		for _, key := range k.keys {
			v, err := t.value(k.at[key])
			if err != nil {
				return nil, err
			}
			obj.Insert(ast.StringTerm(key), ast.NewTerm(v))
		}
		return obj, nil
	})
}

func (t *objectTree) stamp(stamp string) (ast.Value, error) {
	return t.memo(stamp, func() (ast.Value, error) {
		obj := ast.NewObject()
		byKind := t.index[stamp]
		for _, kind := range slices.Sorted(maps.Keys(byKind)) {
			v, err := t.kind(stamp, kind, byKind[kind])
			if err != nil {
				return nil, err
			}
			obj.Insert(ast.StringTerm(kind), ast.NewTerm(v))
		}
		return obj, nil
	})
}

func (t *objectTree) all() (ast.Value, error) {
	// "\x00all" is no stamp's name.
	return t.memo("\x00all", func() (ast.Value, error) {
		obj := ast.NewObject()
		for _, stamp := range slices.Sorted(maps.Keys(t.index)) {
			v, err := t.stamp(stamp)
			if err != nil {
				return nil, err
			}
			obj.Insert(ast.StringTerm(stamp), ast.NewTerm(v))
		}
		return obj, nil
	})
}

// shape is values (at the inputs' indexes; nil for none) shaped as
// data.rendered is, each key holding its object's value (data.summaries:
// a key's summary is the summary of the object data.rendered holds there).
func (t *objectTree) shape(values []ast.Value) ast.Object {
	out := ast.NewObject()
	for stamp, byKind := range t.index {
		kinds := ast.NewObject()
		for kind, k := range byKind {
			byKey := ast.NewObject()
			for _, key := range k.keys {
				if v := values[k.at[key]]; v != nil {
					byKey.Insert(ast.StringTerm(key), ast.NewTerm(v))
				}
			}
			if byKey.Len() > 0 {
				kinds.Insert(ast.StringTerm(kind), ast.NewTerm(byKey))
			}
		}
		if kinds.Len() > 0 {
			out.Insert(ast.StringTerm(stamp), ast.NewTerm(kinds))
		}
	}
	return out
}

// descend is v at path[from:], an object's key or an array's index at
// each step, as a store reads below a document.
func descend(v ast.Value, path storage.Path, from int) (ast.Value, error) {
	for _, p := range path[from:] {
		switch t := v.(type) {
		case ast.Object:
			term := t.Get(ast.StringTerm(p))
			if term == nil {
				return nil, notFound(path)
			}
			v = term.Value
		case *ast.Array:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= t.Len() {
				return nil, notFound(path)
			}
			v = t.Elem(i).Value
		default:
			return nil, notFound(path)
		}
	}
	return v, nil
}

func notFound(path storage.Path) error {
	return &storage.Error{Code: storage.NotFoundErr, Message: path.String() + ": document does not exist"}
}

// dataStore is the policies' data: data.rendered from an objectTree, the
// rest (data.environment, data.summaries) from an in-memory store. It
// records, for the evaluation whose context carries a *reads, every path
// read from it. Every read of the policies' data goes through Read (OPA's
// evaluator reads base documents nowhere else), so the record is
// complete: a rule cannot depend on data it did not read.
type dataStore struct {
	storage.Store
	rendered *objectTree
}

func (s dataStore) Read(ctx context.Context, txn storage.Transaction, path storage.Path) (any, error) {
	if r, ok := ctx.Value(readsKey{}).(*reads); ok {
		r.add(path)
	}
	if len(path) > 0 && path[0] == "rendered" {
		return s.rendered.read(path[1:])
	}
	v, err := s.Store.Read(ctx, txn, path)
	if err != nil || len(path) > 0 {
		return v, err
	}
	// The whole document: the store's, with data.rendered in it.
	root, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("read data: the store's document is %T", v)
	}
	rendered, err := s.rendered.read(nil)
	if err != nil {
		return nil, err
	}
	whole := root.Copy()
	whole.Insert(ast.StringTerm("rendered"), ast.NewTerm(rendered))
	return whole, nil
}
