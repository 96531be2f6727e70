package frontdoor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/libertum/platform-gitops/generator/spec"
)

func load(t *testing.T, name string) *spec.Environment {
	t.Helper()
	p := filepath.Join("..", "..", "environments", name+".yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	e, err := spec.Parse("environments/"+name+".yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestProdOrigins(t *testing.T) {
	e := load(t, "prod")
	doc, ok := Build(e)
	if !ok {
		t.Fatal("prod has a Front Door, Build returned none")
	}
	if doc.FrontDoorID != e.Spec.FrontDoor.ID {
		t.Errorf("frontDoorID = %q, want %q", doc.FrontDoorID, e.Spec.FrontDoor.ID)
	}
	wantStamps := []Stamp{
		{Name: "weu-1", Region: "westeurope", Weight: 50, Probe: Probe{Host: "health.weu-1.libertum.io", Path: "/health/stamp", Protocol: "Https", Method: "HEAD"}},
		{Name: "neu-1", Region: "northeurope", Weight: 50, Probe: Probe{Host: "health.neu-1.libertum.io", Path: "/health/stamp", Protocol: "Https", Method: "HEAD"}},
	}
	if d := cmp.Diff(wantStamps, doc.Stamps); d != "" {
		t.Errorf("stamps (-want +got):\n%s", d)
	}
	var api *Route
	for i := range doc.Routes {
		if doc.Routes[i].Component == "api" {
			api = &doc.Routes[i]
		}
	}
	want := Route{Component: "api", Host: "api.libertum.io", Path: "/", OriginHosts: map[string]string{"weu-1": "api.weu-1.libertum.io", "neu-1": "api.neu-1.libertum.io"}}
	if api == nil {
		t.Fatalf("no route for api in %+v", doc.Routes)
	}
	if d := cmp.Diff(want, *api); d != "" {
		t.Errorf("api route (-want +got):\n%s", d)
	}
	// Grafana is served per stamp: each stamp's host, to that stamp alone.
	var grafana []Route
	for _, r := range doc.Routes {
		if r.Component == "grafana" {
			grafana = append(grafana, r)
		}
	}
	wantGrafana := []Route{
		{Component: "grafana", Host: "grafana.weu-1.libertum.io", Path: "/", OriginHosts: map[string]string{"weu-1": "grafana.weu-1.libertum.io"}},
		{Component: "grafana", Host: "grafana.neu-1.libertum.io", Path: "/", OriginHosts: map[string]string{"neu-1": "grafana.neu-1.libertum.io"}},
	}
	if d := cmp.Diff(wantGrafana, grafana); d != "" {
		t.Errorf("grafana routes (-want +got):\n%s", d)
	}
	if len(doc.Routes) != 5 {
		t.Errorf("%d routes, want one global route per served component (api, healthservice, web) and one per stamp for grafana", len(doc.Routes))
	}
}

func TestRenderIsJSONAndStable(t *testing.T) {
	e := load(t, "staging")
	a, err := Render(e)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Render(e)
	if string(a) != string(b) {
		t.Error("two renders of one environment differ")
	}
	var back Origins
	if err := json.Unmarshal(a, &back); err != nil || back.Environment != "staging" {
		t.Errorf("document does not read back: %v (%+v)", err, back)
	}
}

func TestNoFrontDoorNoDocument(t *testing.T) {
	b, err := Render(load(t, "dev"))
	if err != nil || b != nil {
		t.Errorf("dev: Render = %q, %v; want nothing", b, err)
	}
}
