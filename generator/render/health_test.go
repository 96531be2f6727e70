package render

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/libertum/platform-gitops/generator/spec"
)

// checksOf returns the health component's --check flags in one stamp.
func checksOf(t *testing.T, units []*Unit, health string) []string {
	t.Helper()
	for _, u := range units {
		for _, o := range u.Objects {
			if u.Component != health || o.GetKind() != "Deployment" {
				continue
			}
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			var out []string
			for _, a := range cs[0].(map[string]any)["args"].([]any) {
				if s := a.(string); strings.HasPrefix(s, CheckFlag+"=") {
					out = append(out, s)
				}
			}
			return out
		}
	}
	t.Fatalf("no Deployment %s", health)
	return nil
}

// TestHealthChecksCoverWhatTheStampNeeds: behind Front Door, each stamp's
// HealthService checks every dependency of the served components at the
// port its rendered Service answers, and its region's storage account.
func TestHealthChecksCoverWhatTheStampNeeds(t *testing.T) {
	res := renderRepo(t, 0)
	checked := 0
	for _, e := range res.Envs {
		f := e.Spec.FrontDoor
		if f == nil {
			continue
		}
		deps := healthDependencies(e)
		if !slices.Equal(deps, []string{"kafka", "mongodb", "redis"}) {
			t.Errorf("%s: dependencies %v, want kafka, mongodb, redis (what api, tokenization and healthservice talk to; not what Grafana, served per stamp to operators, reads)", e.Name(), deps)
		}
		for _, st := range e.Spec.Stamps {
			var units []*Unit
			for _, u := range res.Units {
				if u.Env == e.Name() && u.Stamp == st.Name {
					units = append(units, u)
				}
			}
			got := checksOf(t, units, f.Health)
			var want []string
			for _, d := range deps {
				port, err := servicePort(units, d, e.Spec.Components[d].Namespace)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, fmt.Sprintf("--check=%s=tcp://%s.data.svc.cluster.local:%d", d, d, port))
			}
			want = append(want, "--check=storage=https://"+e.Spec.Regions[st.Region].LogStorage+".blob.core.windows.net/")
			if !slices.Equal(got, want) {
				t.Errorf("%s/%s: checks\n%v\nwant\n%v", e.Name(), st.Name, got, want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no stamp behind Front Door")
	}
}

// TestHealthChecksFollowTheSpec: a dependency the spec adds is checked,
// and one that renders no Service is an error naming it.
func TestHealthChecksFollowTheSpec(t *testing.T) {
	res := renderRepo(t, 0)
	var e *spec.Environment
	for _, env := range res.Envs {
		if env.Name() == "prod" {
			e = env
		}
	}
	st := e.Spec.Stamps[0]
	var units []*Unit
	for _, u := range res.Units {
		if u.Env == "prod" && u.Stamp == st.Name {
			units = append(units, u)
		}
	}
	api := e.Spec.Components["api"]
	api.TalksTo = append(slices.Clone(api.TalksTo), "alertmanager")
	e.Spec.Components["api"] = api
	defer func() {
		api.TalksTo = api.TalksTo[:len(api.TalksTo)-1]
		e.Spec.Components["api"] = api
	}()
	if err := fillHealth(e, st, units); err != nil {
		t.Fatal(err)
	}
	if got := checksOf(t, units, "healthservice"); !slices.Contains(got, "--check=alertmanager=tcp://alertmanager.monitoring.svc.cluster.local:9093") {
		t.Errorf("checks %v do not check the dependency the spec added", got)
	}
	var without []*Unit
	for _, u := range units {
		if u.Component != "kafka" {
			without = append(without, u)
		}
	}
	if err := fillHealth(e, st, without); err == nil || !strings.Contains(err.Error(), "kafka, which renders no Service data/kafka") {
		t.Errorf("err = %v, want one naming kafka's missing Service", err)
	}
}
