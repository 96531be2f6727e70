package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// sameAsGoYAML fails t when emit writes doc other than go-yaml does, and
// reports whether emit wrote it at all.
func sameAsGoYAML(t *testing.T, doc map[string]any) bool {
	t.Helper()
	got, ok := emit(doc)
	want, err := encodeGoYAML(&Object{Object: doc})
	if err != nil {
		t.Fatal(err)
	}
	if ok && string(got) != string(want) {
		t.Errorf("emit differs from go-yaml (-go-yaml +emit):\n%s", cmp.Diff(string(want), string(got)))
	}
	return ok
}

// TestEmitIsGoYAML: emit writes what go-yaml v2 writes for the values YAML
// treats specially, and steps aside (not ok) where it does not reproduce
// go-yaml: quoted strings over several lines, long keys, folded lines,
// typed values.
func TestEmitIsGoYAML(t *testing.T) {
	sentence := func(n int) string { return strings.Repeat("x", n-2) + " y" }
	cases := []struct {
		name string
		doc  map[string]any
		fast bool
	}{
		{"words", map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{
			"name": "api", "labels": map[string]any{"app.kubernetes.io/name": "api", "libertum.io/stamp": "weu-1"}}}, true},
		{"keywords and numbers in strings", map[string]any{"s": []any{
			"y", "Y", "yes", "No", "on", "OFF", "true", "False", "null", "Null", "~", "", "yellow", "normal", "offset",
			"0123", "8080", "1e3", "0x1F", "0b101", "0o17", "1_000", "12:30", "1:20:30.5", ".5", ".inf", "-.Inf", ".nan",
			"-", "-1", "+1", "2026-11-23", "2026-11-23T10:00:00Z", "1.0", "100m", "256Mi", "1.2.3", "<<", "_x", "/path"}}, true},
		{"indicators", map[string]any{"s": []any{
			"*x", "&x", "!x", "#x", "x #y", "x#y", "x: y", "x:", ":x", "a:b", "a::b", "- x", "-x", "---x", "...x", "[x]", "{x}",
			"x,y", "'x'", `"x"`, "x\ty", " x", "x ", "x  y", "%x", "@x", "`x", "|x", ">x", "?x", "? x", "x?", "=x", "a=b",
			"http://example.com/a?b=c&d", "registry.example.io/app:1.2.3@sha256:abc"}}, true},
		{"unicode and escapes", map[string]any{"ключ": "значение", "s": []any{
			"ünïcødé", "😀", "\a", "a\u00a0b", "\ufeffx", "a\u2028b", "a\x7fb", "\x1b[0m"}}, true},
		{"natural key order", map[string]any{"m": map[string]any{
			"a10": 1, "a9": 2, "a09": 3, "a010": 4, "B": 5, "b": 6, "_x": 7, "1": 8, "01": 9, "x1y": 10, "x01y": 11,
			"é": 12, "z": 13, "a": 14, "a.b/c": 15, "a-b": 16, "a_b": 17, "10": 18, "9": 19, "0": 20, "00": 21, "a0": 22}}, true},
		{"nesting", map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "a", "ports": []any{map[string]any{"containerPort": 80}}, "args": []any{"x", "y"}}},
			"matrix":     []any{[]any{"a", "b"}, []any{}, []any{[]any{"c"}}, map[string]any{}, nil, "d"},
			"empty":      map[string]any{}, "none": []any{}, "deep": map[string]any{"a": map[string]any{"b": map[string]any{"c": "d"}}}}}, true},
		{"numbers", map[string]any{"n": map[string]any{
			"i64": int64(3), "half": 0.5, "two53": float64(1<<53 - 1), "neg": -2.0, "negzero": -0.0, "int": 7, "i32": int32(-4),
			"tiny": 1e-7, "third": 1.0 / 3, "t": true, "f": false}}, true},
		{"pruned", map[string]any{"status": map[string]any{"ready": 1}, "metadata": map[string]any{
			"name": "x", "creationTimestamp": nil, "gone": nil, "status": map[string]any{"a": nil}},
			"spec": map[string]any{"status": "", "creationTimestamp": map[string]any{}, "list": []any{nil, map[string]any{"status": map[string]any{}}}}}, true},
		// "    d: " is 7 columns: a sentence of 73 ends at column 80.
		{"sentence to column 80", map[string]any{"metadata": map[string]any{"annotations": map[string]any{"d": sentence(73)}}}, true},
		{"sentence past column 80", map[string]any{"metadata": map[string]any{"annotations": map[string]any{"d": sentence(74)}}}, false},
		{"sentence go-yaml folds", map[string]any{"metadata": map[string]any{"annotations": map[string]any{"d": sentence(90)}}}, false},
		{"quoted sentence to column 80", map[string]any{"a": "#" + sentence(74)}, true},
		{"sentence as a key", map[string]any{"a b": map[string]any{sentence(60): 1}}, true},
		{"long word", map[string]any{"a": strings.Repeat("w", 200), "b": "'" + strings.Repeat("w", 200)}, true},
		{"block scalars", map[string]any{"data": map[string]any{"x": "a\nb\n", "y": "a\nb", "z": "a\n\n", "w": "  lead\nx\n",
			"blank lines": "a\n\n\nb\n", "deep": map[string]any{"list": []any{"p\nq\n", []any{"r\ns"}, map[string]any{"k": "t\n\nu"}}}}}, true},
		{"block go-yaml quotes", map[string]any{"data": map[string]any{"x": "a \nb"}}, false},
		{"block with a carriage return", map[string]any{"data": map[string]any{"x": "a\r\nb\n"}}, false},
		{"key of 128", map[string]any{strings.Repeat("k", 128): "v"}, true},
		{"key of 129", map[string]any{strings.Repeat("k", 129): "v"}, false},
		{"typed value", map[string]any{"a": []string{"x"}}, false},
		{"integer beyond 2^53", map[string]any{"a": int64(1) << 60}, false},
		{"integral float beyond 2^53", map[string]any{"a": 1.5e300}, false},
		{"invalid UTF-8", map[string]any{"a": "\xff"}, false},
		{"empty", map[string]any{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if fast := sameAsGoYAML(t, c.doc); fast != c.fast {
				t.Errorf("emit ok = %v, want %v", fast, c.fast)
			}
		})
	}
}

// TestEmitWritesTheRenderedTree: every object of the repo's rendered tree
// encodes to its committed bytes, and emit writes nearly all of them.
func TestEmitWritesTheRenderedTree(t *testing.T) {
	var objects, emitted int
	forRenderedFiles(t, func(path string, data []byte, objs []*Object) {
		if len(objs) != 1 {
			return // a stream file (kustomize output) is not one object's file
		}
		objects++
		got, err := Encode(objs[0])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(data) {
			t.Errorf("%s: Encode differs from the committed file:\n%s", path, cmp.Diff(string(data), string(got)))
		}
		if _, ok := emit(objs[0].Object); ok {
			emitted++
		}
	})
	if objects < 500 || emitted*100 < objects*98 {
		t.Errorf("emit wrote %d of %d objects; want at least 98%% of at least 500", emitted, objects)
	}
	t.Logf("emit wrote %d of %d objects", emitted, objects)
}

// TestDecodeConvertsTheRenderedTree: reading back the rendered tree, the
// fast conversion decodes every file (the library is left the unusual
// documents, which a rendered file is not), to the library's value; the
// block reader reads nearly every one (it leaves go-yaml the scalars
// folded over several lines), to the same value.
func TestDecodeConvertsTheRenderedTree(t *testing.T) {
	files, read := 0, 0
	forRenderedFiles(t, func(path string, data []byte, objs []*Object) {
		if len(objs) != 1 {
			return
		}
		files++
		var want map[string]any
		if err := yaml.UnmarshalStrict(data, &want); err != nil {
			t.Fatal(err)
		}
		got, ok := convertDocument(data)
		if !ok {
			t.Errorf("%s: left to the library", path)
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: converted differently from the library (-library +converted):\n%s", path, diff)
		}
		if got, ok := parseBlock(data); ok {
			read++
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: read differently from the library (-library +read):\n%s", path, diff)
			}
		}
	})
	if files < 500 {
		t.Errorf("%d rendered files; want at least 500", files)
	}
	if read < files*95/100 {
		t.Errorf("the block reader read %d of %d rendered files; want at least 95%%", read, files)
	}
}

// BenchmarkDecodeRendered decodes every file of the repo's rendered tree,
// as reading it back does (GITOPS_EXACT=1: through the library).
func BenchmarkDecodeRendered(b *testing.B) {
	var files [][]byte
	err := filepath.WalkDir(filepath.Join("..", "..", "rendered"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		files = append(files, data)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range files {
			if _, err := Decode("f.yaml", f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// forRenderedFiles calls fn with every YAML file of the repo's rendered
// tree and its objects.
func forRenderedFiles(t *testing.T, fn func(path string, data []byte, objs []*Object)) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join("..", "..", "rendered"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		objs, err := Decode(path, data)
		if err != nil {
			return err
		}
		fn(path, data, objs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzEmit: for documents built from arbitrary bytes, emit either steps
// aside or writes exactly what go-yaml v2 writes.
func FuzzEmit(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03kind\x04Deployment"), "a b")
	f.Add([]byte("\x05\x05\x05\x05\x06\x07\x08\x09\x0a"), "8080")
	f.Add([]byte(strings.Repeat("\x00\x03\x11", 20)), strings.Repeat("word ", 12))
	f.Fuzz(func(t *testing.T, shape []byte, text string) {
		g := docGen{shape: shape, text: text}
		doc, _ := g.value(0).(map[string]any)
		if doc == nil {
			doc = map[string]any{"v": g.value(1)}
		}
		sameAsGoYAML(t, doc)
	})
}

// docGen builds a document from fuzz bytes: each byte picks a kind of
// value, a string from tricky ones or from the fuzzed text.
type docGen struct {
	shape []byte
	text  string
	pos   int
}

var trickyStrings = []string{"", "a", "yes", "No", "8080", "1e3", "x: y", "x #y", "- x", " lead", "trail ", "a  b",
	"12:30", "é", "a10", "a9", "status", "creationTimestamp", "x\ty", "'q'", "kind", "metadata", "0",
	"a\nb", "a\nb\n", "\n", " lead\nx", "x\n\n", "a \nb", "a\n\nb", "\tx\ny", "# c\nd"}

func (g *docGen) next() int {
	if g.pos >= len(g.shape) {
		return 0
	}
	g.pos++
	return int(g.shape[g.pos-1])
}

func (g *docGen) str() string {
	n := g.next()
	if n%4 != 0 || g.text == "" {
		return trickyStrings[n%len(trickyStrings)]
	}
	from, to := g.next()%len(g.text), g.next()%(len(g.text)+1)
	if from > to {
		from, to = to, from
	}
	s := g.text[from:to]
	for i := 0; i < g.next()%4; i++ {
		s += " " + s
	}
	if !utf8.ValidString(s) {
		return g.text
	}
	return s
}

func (g *docGen) value(depth int) any {
	switch k := g.next(); {
	case depth < 5 && k%9 == 0:
		m := map[string]any{}
		for range g.next() % 6 {
			m[g.str()] = g.value(depth + 1)
		}
		return m
	case depth < 5 && k%9 == 1:
		var s []any
		for range g.next() % 5 {
			s = append(s, g.value(depth+1))
		}
		return s
	case k%9 == 2:
		return int64(g.next()) - 100
	case k%9 == 3:
		return float64(g.next()) / 8
	case k%9 == 4:
		return k%2 == 0
	case k%9 == 5:
		return nil
	default:
		return g.str()
	}
}
