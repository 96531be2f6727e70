package policy

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// packageKinds says, for each policy package (data.libertum.NAME) with
// rules of one level (deny or warn), which kinds of object those rules can
// apply to: nil for every kind (some rule has no literal kind guard),
// otherwise the union of the rules' guards. A rule whose body requires `input.kind in {...}` or
// `input.kind == "..."` holds for no other kind, so a package none of
// whose rules names a kind finds nothing on an object of that kind, and
// the query for such an object need not ask it (packagesFor). Asking a
// package costs every evaluation even when OPA's index skips all of its
// rules: for the kinds only the label rules apply to, three quarters of
// their evaluation.
//
// Deny and warn rules are counted apart (kindsOfPackages): most packages
// have no warn rules, and the query need not ask them for any.
type packageKinds map[string]map[string]bool

func kindsOfPackages(modules map[string]*ast.Module) map[Level]packageKinds {
	return map[Level]packageKinds{Deny: kindsOf(modules, string(Deny)), Warn: kindsOf(modules, string(Warn))}
}

var libertumRef = ast.MustParseRef("data.libertum")

// packageName is a module's package under data.libertum (podsecurity for
// data.libertum.podsecurity), and false for any other: the query asks
// data.libertum[pkg] only.
func packageName(m *ast.Module) (string, bool) {
	path := m.Package.Path
	if len(path) != 3 || !path.HasPrefix(libertumRef) {
		return "", false
	}
	name, ok := path[2].Value.(ast.String)
	return string(name), ok
}

// kindsOf is packageKinds for the rules named rule (deny, warn, summary).
func kindsOf(modules map[string]*ast.Module, rule string) packageKinds {
	out := packageKinds{}
	every := map[string]bool{}
	for _, m := range modules {
		pkg, ok := packageName(m)
		if !ok {
			continue
		}
		for _, r := range m.Rules {
			if r.Head.Ref()[0].String() != rule {
				continue
			}
			if out[pkg] == nil {
				out[pkg] = map[string]bool{}
			}
			kinds := kindGuard(r.Body)
			if len(kinds) == 0 {
				every[pkg] = true
			}
			for _, k := range kinds {
				out[pkg][k] = true
			}
		}
	}
	for pkg := range every {
		out[pkg] = nil
	}
	return out
}

// packagesFor lists, sorted, the packages whose rules may apply to an
// object of kind.
func (pk packageKinds) packagesFor(kind string) []string {
	var out []string
	for pkg, kinds := range pk {
		if kinds == nil || kinds[kind] {
			out = append(out, pkg)
		}
	}
	sort.Strings(out)
	return out
}

// queryFor is query asking only the given packages for denials and for
// warnings.
func queryFor(deny, warn []string) string {
	in := func(packages []string) string {
		quoted := make([]string, len(packages))
		for i, p := range packages {
			quoted[i] = strconv.Quote(p)
		}
		return "some pkg in [" + strings.Join(quoted, ", ") + "]"
	}
	return queryOver(in(deny), in(warn))
}

// kindGuard returns the kinds of an `input.kind in {literal}` or
// `input.kind == "Kind"` conjunct of a compiled rule body (input.kind may
// be hoisted into a local variable first, as OPA's index also sees
// through). Negated conjuncts, those evaluated with other input and sets
// holding anything but strings do not guard.
func kindGuard(body ast.Body) []string {
	kindRef := ast.MustParseRef("input.kind")
	isKind := func(v ast.Value) bool { return v.Compare(kindRef) == 0 }
	plain := func(expr *ast.Expr) bool {
		return expr.IsCall() && !expr.Negated && len(expr.With) == 0 && len(expr.Operands()) == 2
	}
	locals := map[ast.Var]bool{}
	for _, expr := range body {
		if plain(expr) && expr.Operator().Equal(ast.Equality.Ref()) {
			if v, ok := expr.Operand(0).Value.(ast.Var); ok && isKind(expr.Operand(1).Value) {
				locals[v] = true
			}
		}
	}
	for _, expr := range body {
		if !plain(expr) {
			continue
		}
		lhs := expr.Operand(0).Value
		if v, ok := lhs.(ast.Var); !isKind(lhs) && !(ok && locals[v]) {
			continue
		}
		var kinds []string
		switch op, arg := expr.Operator(), expr.Operand(1).Value; {
		case op.Equal(ast.Member.Ref()):
			set, ok := arg.(ast.Set)
			if !ok || !set.IsGround() {
				continue
			}
			strs := true
			set.Foreach(func(k *ast.Term) {
				s, ok := k.Value.(ast.String)
				strs = strs && ok
				kinds = append(kinds, string(s))
			})
			if !strs {
				continue
			}
		case op.Equal(ast.Equal.Ref()) || op.Equal(ast.Equality.Ref()):
			if s, ok := arg.(ast.String); ok {
				kinds = append(kinds, string(s))
			}
		}
		if len(kinds) > 0 {
			slices.Sort(kinds)
			return kinds
		}
	}
	return nil
}
