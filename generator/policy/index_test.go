package policy

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// podSpecKinds are the kinds lib.pod_spec reads a pod spec from; the test
// checks lib agrees.
var podSpecKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true, "ReplicaSet": true, "CronJob": true, "Pod": true}

// everyKind are the packages whose rules apply to objects of every kind,
// so have no kind guard.
var everyKind = map[string]bool{"data.libertum.labels": true}

// TestRulesAreIndexed: every deny or warn rule names the kinds it applies
// to as a literal in its body, which OPA's rule index uses to skip it for
// every other kind (the labels rules apply to all), and a rule that reads
// the pod spec names only kinds that have one.
func TestRulesAreIndexed(t *testing.T) {
	e := loadDir(t, "../../policies")
	podSpecKindsAgree(t, e)
	reads := []ast.Ref{
		ast.MustParseRef("data.libertum.lib.input_pod_spec"),
		ast.MustParseRef("data.libertum.lib.input_containers"),
		ast.MustParseRef("data.libertum.lib.input_all_containers"),
	}
	rules, pod := 0, 0
	for _, m := range e.compiler.Modules {
		for _, r := range m.Rules {
			if name := r.Head.Ref()[0].String(); name != "deny" && name != "warn" {
				continue
			}
			rules++
			kinds := kindGuard(r.Body)
			if len(kinds) == 0 && !everyKind[m.Package.Path.String()] {
				t.Errorf("%s: the rule has no literal kind guard (input.kind in {...} or input.kind == ...)", r.Location)
			}
			readsPod := false
			ast.WalkRefs(r.Body, func(ref ast.Ref) bool {
				for _, p := range reads {
					readsPod = readsPod || ref.HasPrefix(p)
				}
				return false
			})
			if !readsPod {
				continue
			}
			pod++
			for _, k := range kinds {
				if !podSpecKinds[k] {
					t.Errorf("%s: kind %q in the guard has no pod spec", r.Location, k)
				}
			}
		}
	}
	if rules < 35 || pod < 15 {
		t.Errorf("found %d rules, %d reading the pod spec; the policies have more", rules, pod)
	}
}

// podSpecKindsAgree: lib.pod_spec reads a pod spec from exactly the kinds
// of podSpecKinds, among those and some that have none.
func podSpecKindsAgree(t *testing.T, e *Engine) {
	t.Helper()
	candidates := []string{"Service", "ConfigMap", "NetworkPolicy", "HorizontalPodAutoscaler"}
	for k := range podSpecKinds {
		candidates = append(candidates, k)
	}
	spec := map[string]any{"template": map[string]any{"spec": map[string]any{}}, "jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{}}}}}
	for _, k := range candidates {
		rs, err := rego.New(rego.Compiler(e.compiler), rego.Query("data.libertum.lib.pod_spec(input)"),
			rego.Input(map[string]any{"kind": k, "spec": spec})).Eval(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if has := len(rs) > 0; has != podSpecKinds[k] {
			t.Errorf("lib.pod_spec for %s: defined = %v, podSpecKinds says %v", k, has, podSpecKinds[k])
		}
	}
}
