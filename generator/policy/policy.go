// Package policy evaluates the Rego policies under policies/ against
// rendered objects, in process through OPA: modules are compiled once, each
// environment gets a prepared query per set of packages an object's kind
// needs, and objects are evaluated in parallel. Violations are results
// (Findings), not errors.
package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"golang.org/x/sync/errgroup"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
)

// Level of a finding.
type Level string

// Levels: deny fails verify, warn is reported only.
const (
	Deny Level = "deny"
	Warn Level = "warn"
)

// Finding is one rule broken by one object.
type Finding struct {
	Rule  string `json:"rule"`
	Level Level  `json:"level"`
	// Unit is where the object was rendered (environment, stamp,
	// component); empty parts are unknown.
	layout.Unit
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// File is the rendered file the object is written to, if any.
	File string `json:"file,omitempty"`
	// Source is where the object comes from in the repo (file:line), if known.
	Source string `json:"source,omitempty"`
	// Origin is the line that set what the rule judges, when it can be
	// found (an overlay patch, the environment file, a base manifest or a
	// chart's values): where a reviewer fixes it.
	Origin  string `json:"origin,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// Exception is the reason a reviewed exception gives, when one waives the finding.
	Exception string `json:"exception,omitempty"`

	stampWide bool
}

// StampWide reports whether the finding is about its stamp as a whole (a
// rule of scope "stamp"): Dedupe keeps one of each.
func (f Finding) StampWide() bool { return f.stampWide }

// SetStampWide marks a finding read back from a cache as stamp-wide or
// not, as StampWide reported when it was kept.
func (f *Finding) SetStampWide(v bool) { f.stampWide = v }

// Object returns "Kind namespace/name".
func (f Finding) Object() string {
	if f.Namespace != "" {
		return f.Kind + " " + f.Namespace + "/" + f.Name
	}
	return f.Kind + " " + f.Name
}

func (f Finding) String() string {
	where := f.Env
	if f.Stamp != "" {
		where += "/" + f.Stamp
	}
	if f.Component != "" {
		where += "/" + f.Component
	}
	s := fmt.Sprintf("%s [%s] %s %s: %s", f.Level, f.Rule, where, f.Object(), f.Message)
	if f.Fix != "" {
		s += " (fix: " + f.Fix + ")"
	}
	return s
}

// Input is one object to check, with where it was rendered (the
// environment is the one evaluated).
type Input struct {
	layout.Unit
	File, Source string
	Object       *manifest.Object
}

// Key is the object's key in data.rendered[stamp][kind] (and in
// data.summaries): "namespace/name".
func (in Input) Key() string {
	return in.Object.GetNamespace() + "/" + manifest.Name(in.Object)
}

// Engine holds the compiled policies.
type Engine struct {
	compiler *ast.Compiler
	modules  map[string]*ast.Module
	kinds    map[Level]packageKinds
	// summaries says which packages define a summary rule, and for which
	// kinds (summary.go).
	summaries packageKinds
	// specializeAt is how many objects of a kind an environment needs for
	// the kind to get a query of its own (see prepare).
	specializeAt int
}

// specializeAt is Engine.specializeAt: above 50 objects a kind's own query
// pays for its preparation.
const specializeAt = 100

// LoadFiles parses and compiles the given policy files (path to source;
// tests are left out); dir names where they came from in errors.
func LoadFiles(dir string, files map[string][]byte) (*Engine, error) {
	modules, err := parseFiles(files, false)
	if err != nil {
		return nil, err
	}
	if len(modules) == 0 {
		return nil, fmt.Errorf("load policies: no .rego files under %s", dir)
	}
	c := ast.NewCompiler()
	c.Compile(modules)
	if c.Failed() {
		return nil, fmt.Errorf("compile policies: %w", c.Errors)
	}
	return &Engine{compiler: c, modules: modules, kinds: kindsOfPackages(c.Modules), summaries: kindsOf(c.Modules, summaryRule),
		specializeAt: specializeAt}, nil
}

func parseFiles(files map[string][]byte, withTests bool) (map[string]*ast.Module, error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	modules := map[string]*ast.Module{}
	var errs []error
	for _, p := range paths {
		if !withTests && strings.HasSuffix(p, "_test.rego") {
			continue
		}
		m, err := ast.ParseModuleWithOpts(filepath.ToSlash(p), string(files[p]), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		modules[filepath.ToSlash(p)] = m
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("parse policies: %w", err)
	}
	return modules, nil
}

// query asks every package under data.libertum for its denials and
// warnings, as [package, violation] pairs.
var query = queryOver("some pkg", "some pkg")

// queryOver is query with the packages asked for denials and for warnings
// chosen by the given clauses binding pkg.
func queryOver(deny, warn string) string {
	return "deny := {[pkg, v] | " + deny + "; some v in data.libertum[pkg].deny}\n" +
		"warn := {[pkg, v] | " + warn + "; some v in data.libertum[pkg].warn}"
}

// Files lists the policy files the engine evaluates, sorted.
func (e *Engine) Files() []string {
	out := make([]string, 0, len(e.modules))
	for f := range e.modules {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Data is what the policies see as data for one environment:
// data.environment, the spec's policy view;
// data.rendered[stamp][kind]["namespace/name"], every object, so rules
// across objects look objects up instead of scanning the stamp from every
// object; and data.summaries, shaped the same, each object's summary
// (summaries at the inputs' indexes; see Summary).
func Data(env Environment, inputs []Input, summaries []Summary) (map[string]any, error) {
	rendered := map[string]any{}
	sums := map[string]any{}
	put := func(tree map[string]any, in Input, v any) {
		byKind, ok := tree[in.Stamp].(map[string]any)
		if !ok {
			byKind = map[string]any{}
			tree[in.Stamp] = byKind
		}
		kind := in.Object.GetKind()
		byName, ok := byKind[kind].(map[string]any)
		if !ok {
			byName = map[string]any{}
			byKind[kind] = byName
		}
		byName[in.Key()] = v
	}
	for i, in := range inputs {
		put(rendered, in, in.Object.Object)
		// A key's summary is that of the object rendered holds there (the
		// later one): an object without one clears an earlier's.
		var v any
		if i < len(summaries) && summaries[i].Value != nil {
			if err := json.Unmarshal(summaries[i].Value, &v); err != nil {
				return nil, fmt.Errorf("summary of %s: %w", manifest.IDOf(in.Object), err)
			}
		}
		put(sums, in, v)
	}
	for stamp, byKind := range sums {
		for kind, byName := range byKind.(map[string]any) {
			m := byName.(map[string]any)
			maps.DeleteFunc(m, func(_ string, v any) bool { return v == nil })
			if len(m) == 0 {
				delete(byKind.(map[string]any), kind)
			}
		}
		if len(byKind.(map[string]any)) == 0 {
			delete(sums, stamp)
		}
	}
	envData, err := toJSONMap(env)
	if err != nil {
		return nil, err
	}
	return map[string]any{"environment": envData, "rendered": rendered, "summaries": sums}, nil
}

// Evaluate checks every object of one environment. The environment's spec
// and every object (grouped by stamp) are the policies' data, so rules can
// look across objects.
func (e *Engine) Evaluate(ctx context.Context, env Environment, inputs []Input, workers int) ([]Finding, error) {
	results, err := e.EvaluateEach(ctx, env, inputs, nil, workers)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, r := range results {
		out = append(out, r.Findings...)
	}
	return Dedupe(out), nil
}

// EvaluateEach checks the objects at the indexes only (every object when
// only is nil) with every object and every object's summary as data, and
// returns each one's Result at its index (the zero Result for those not
// evaluated): its findings and the data paths they were concluded from.
// Findings are not deduplicated.
func (e *Engine) EvaluateEach(ctx context.Context, env Environment, inputs []Input, only []int, workers int) ([]Result, error) {
	s, err := e.NewSession(env, inputs, workers)
	if err != nil {
		return nil, err
	}
	sums, err := s.Summaries(ctx, nil)
	if err != nil {
		return nil, err
	}
	return s.Evaluate(ctx, sums, only)
}

// Session evaluates one environment's objects. Each object is converted
// to OPA's values once, on first need (objectTree), and that value is both
// its query's input and its entry in data.rendered (OPA's values are
// immutable; converting each object twice was a tenth of the policies'
// time).
type Session struct {
	engine   *Engine
	env      Environment
	inputs   []Input
	objects  *objectTree
	envValue ast.Value
	workers  int
}

// NewSession readies an environment's objects for evaluation.
func (e *Engine) NewSession(env Environment, inputs []Input, workers int) (*Session, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	envData, err := toJSONMap(env)
	if err != nil {
		return nil, err
	}
	envValue, err := ast.InterfaceToValue(envData)
	if err != nil {
		return nil, err
	}
	return &Session{engine: e, env: env, inputs: inputs, objects: newObjectTree(inputs), envValue: envValue, workers: workers}, nil
}

// store is the policies' data over the session's objects, with sums as
// data.summaries (nil: none), recording reads.
func (s *Session) store(sums []ast.Value) dataStore {
	items := [][2]*ast.Term{ast.Item(ast.StringTerm("environment"), ast.NewTerm(s.envValue))}
	if sums != nil {
		items = append(items, ast.Item(ast.StringTerm("summaries"), ast.NewTerm(s.objects.shape(sums))))
	}
	return dataStore{Store: inmem.NewFromASTObject(ast.NewObject(items...)), rendered: s.objects}
}

// prepare converts the objects at the indexes at once when they are many
// of the session's (reading them one by one would convert them one at a
// time); the few a pull request judges convert as read.
func (s *Session) prepare(ctx context.Context, only []int) error {
	if 4*len(only) < len(s.inputs) {
		return nil
	}
	return s.objects.convert(ctx, only, s.workers)
}

// indexes is only, or every index of the inputs when only is nil.
func (s *Session) indexes(only []int) []int {
	if only != nil {
		return only
	}
	all := make([]int, len(s.inputs))
	for i := range all {
		all[i] = i
	}
	return all
}

// Evaluate checks the objects at the indexes only (every object when only
// is nil), with summaries (at the inputs' indexes, from Summaries or a
// cache) as data.summaries, and returns each one's Result at its index.
func (s *Session) Evaluate(ctx context.Context, summaries []Summary, only []int) ([]Result, error) {
	only = s.indexes(only)
	results := make([]Result, len(s.inputs))
	if len(only) == 0 {
		return results, nil
	}
	sums, err := summaryValues(s.inputs, summaries)
	if err != nil {
		return nil, err
	}
	if err := s.prepare(ctx, only); err != nil {
		return nil, err
	}
	store := s.store(sums)
	byKind, err := s.engine.findingsQueries(ctx, s.env.Name, store, s.inputs, only)
	if err != nil {
		return nil, err
	}
	var (
		mu      sync.Mutex
		stopped []int // the inputs being evaluated when ctx ended
	)
	err = each(ctx, len(only), s.workers, func(j int) error {
		i := only[j]
		input, err := s.objects.value(i)
		if err != nil {
			return err
		}
		rec := &reads{paths: map[string]Path{}}
		fs, err := evalOne(context.WithValue(ctx, readsKey{}, rec), *byKind[s.inputs[i].Object.GetKind()], s.env.Name, s.inputs[i], input)
		if err != nil && ctx.Err() != nil {
			mu.Lock()
			stopped = append(stopped, i)
			mu.Unlock()
		}
		results[i] = Result{Findings: fs, Reads: rec.sorted()}
		return err
	})
	if err != nil {
		if len(stopped) > 0 {
			slices.Sort(stopped)
			return nil, &StoppedError{Inputs: stopped, Err: err, engine: s.engine, store: store, objects: s.objects}
		}
		return nil, err
	}
	return results, nil
}

// named returns an object as the policies see it: one named only by
// metadata.generateName (kubectl create's Jobs, a Secret) carries that
// prefix as its name, so every rule that reads or prints the name judges
// it instead of failing silently on a name that is undefined.
func named(obj map[string]any) map[string]any {
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		return obj
	}
	if n, _ := meta["name"].(string); n != "" {
		return obj
	}
	g, _ := meta["generateName"].(string)
	if g == "" {
		return obj
	}
	out := maps.Clone(obj)
	m := maps.Clone(meta)
	m["name"] = g
	out["metadata"] = m
	return out
}

// findingsQueries readies the findings query for each kind of the objects
// at the indexes, asking only the packages whose rules may apply to it
// (packageKinds); kinds with the same packages share one.
//
// Preparing a query costs about 2 ms and asking fewer packages saves
// 40-70 us an object, so only a kind with at least specializeAt objects
// of the environment gets its own query; the others share the one asking
// every package.
func (e *Engine) findingsQueries(ctx context.Context, env string, store storage.Store, inputs []Input, only []int) (map[string]*rego.PreparedEvalQuery, error) {
	count := map[string]int{}
	for _, in := range inputs {
		count[in.Object.GetKind()]++
	}
	return e.prepare(ctx, env, store, inputs, only, func(kind string) string {
		if count[kind] >= e.specializeAt {
			return queryFor(e.kinds[Deny].packagesFor(kind), e.kinds[Warn].packagesFor(kind))
		}
		return query
	})
}

// prepare readies queryOf(kind) for each kind of the objects at the
// indexes, once per distinct query; a kind whose query is "" gets none.
func (e *Engine) prepare(ctx context.Context, env string, store storage.Store, inputs []Input, only []int, queryOf func(kind string) string) (map[string]*rego.PreparedEvalQuery, error) {
	byQuery := map[string]*rego.PreparedEvalQuery{}
	byKind := map[string]*rego.PreparedEvalQuery{}
	for _, i := range only {
		kind := inputs[i].Object.GetKind()
		if _, ok := byKind[kind]; ok {
			continue
		}
		q := queryOf(kind)
		if q == "" {
			byKind[kind] = nil
			continue
		}
		pq, ok := byQuery[q]
		if !ok {
			prepared, err := rego.New(rego.Compiler(e.compiler), rego.Store(store), rego.StoreReadAST(true), rego.Query(q)).PrepareForEval(ctx)
			if err != nil {
				return nil, fmt.Errorf("prepare policies for %s: %w", env, err)
			}
			pq = &prepared
			byQuery[q] = pq
		}
		byKind[kind] = pq
	}
	return byKind, nil
}

// each calls f for 0..n-1 on a few long-lived workers, not a goroutine per
// index: OPA's evaluation recurses deeply, and every fresh goroutine grew
// its stack by copying it, again and again (6% of a large verify's CPU).
// The first error or the context's end stops every worker.
func each(ctx context.Context, n, workers int, f func(i int) error) error {
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range min(workers, n) {
		g.Go(func() error {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || gctx.Err() != nil {
					return nil
				}
				if err := f(i); err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func evalOne(ctx context.Context, pq rego.PreparedEvalQuery, env string, in Input, input ast.Value) ([]Finding, error) {
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, fmt.Errorf("evaluate policies on %s %s: %w", in.File, manifest.IDOf(in.Object), err)
	}
	var out []Finding
	for _, r := range rs {
		for _, level := range []Level{Deny, Warn} {
			items, _ := r.Bindings[string(level)].([]any)
			for _, item := range items {
				f, err := decodeViolation(item)
				if err != nil {
					return nil, fmt.Errorf("policy result for %s: %w", manifest.IDOf(in.Object), err)
				}
				f.Level = level
				f.Env = env
				f.Stamp, f.Component, f.File = in.Stamp, in.Component, in.File
				if f.Source == "" {
					f.Source = in.Source
				}
				f.Kind, f.Namespace, f.Name = in.Object.GetKind(), in.Object.GetNamespace(), manifest.Name(in.Object)
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// violation is what a rule returns: {"rule", "msg", "fix"}, and "scope":
// "stamp" for a rule about the stamp as a whole rather than the object it
// was evaluated on.
type violation struct {
	Rule  string `json:"rule"`
	Msg   string `json:"msg"`
	Fix   string `json:"fix"`
	Scope string `json:"scope"`
	// Source, when set, is the spec line to change (file:line), in place
	// of the component's.
	Source string `json:"source"`
}

func decodeViolation(item any) (Finding, error) {
	pair, ok := item.([]any)
	if !ok || len(pair) != 2 {
		return Finding{}, fmt.Errorf("unexpected result %v", item)
	}
	var v violation
	switch t := pair[1].(type) {
	case string:
		// A plain message; the package names the rule.
		v = violation{Rule: fmt.Sprint(pair[0]), Msg: t}
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return Finding{}, err
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return Finding{}, err
		}
		if v.Rule == "" {
			v.Rule = fmt.Sprint(pair[0])
		}
	}
	return Finding{Rule: v.Rule, Message: v.Msg, Fix: v.Fix, Source: v.Source, stampWide: v.Scope == "stamp"}, nil
}

// Dedupe keeps one finding per stamp-wide violation (such a rule fires from
// every object it can look from) and sorts the result.
func Dedupe(fs []Finding) []Finding {
	type key struct{ level, rule, env, stamp, msg string }
	seen := map[key]bool{}
	var out []Finding
	Sort(fs)
	for _, f := range fs {
		if f.stampWide {
			k := key{string(f.Level), f.Rule, f.Env, f.Stamp, f.Message}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, f)
	}
	return out
}

// Sort orders findings by environment, stamp, component, file and rule.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		for _, p := range [][2]string{{a.Env, b.Env}, {a.Stamp, b.Stamp}, {a.Component, b.Component}, {a.File, b.File}, {a.Kind + a.Name, b.Kind + b.Name}, {a.Rule, b.Rule}, {a.Message, b.Message}} {
			if p[0] != p[1] {
				return p[0] < p[1]
			}
		}
		return false
	})
}

func toJSONMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
