package argocd_test

import (
	"context"
	"encoding/json"
	"testing"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	sigsjson "sigs.k8s.io/json"

	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestRenderedArgoObjectsDecodeStrictly: every Application and AppProject
// the render writes decodes into argo-cd's v1alpha1 types with no unknown
// field, and the project admits every Application of its environment.
func TestRenderedArgoObjectsDecodeStrictly(t *testing.T) {
	pl, err := plan.New(workspace.Open(platformtest.Small(t)), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Run(context.Background(), pl, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	projects := map[string]*argov1.AppProject{}
	var apps []*argov1.Application
	for _, u := range res.Units {
		for _, o := range u.Objects {
			b, err := json.Marshal(o.Object)
			if err != nil {
				t.Fatal(err)
			}
			var into any
			switch o.GetKind() {
			case "Application":
				a := &argov1.Application{}
				apps, into = append(apps, a), a
			case "AppProject":
				p := &argov1.AppProject{}
				projects[o.GetName()], into = p, p
			default:
				continue
			}
			strict, err := sigsjson.UnmarshalStrict(b, into)
			if err != nil || len(strict) > 0 {
				t.Errorf("%s %s does not decode strictly: %v %v", o.GetKind(), o.GetName(), err, strict)
			}
		}
	}
	if len(projects) != len(res.Envs) {
		t.Fatalf("%d AppProjects for %d environments", len(projects), len(res.Envs))
	}
	for _, a := range apps {
		p, ok := projects[a.Spec.Project]
		if !ok {
			t.Errorf("Application %s names project %q, which is not rendered", a.Name, a.Spec.Project)
			continue
		}
		if !p.IsSourcePermitted(a.Spec.GetSource()) {
			t.Errorf("project %s does not permit the source of %s", p.Name, a.Name)
		}
		permitted := false
		for _, d := range p.Spec.Destinations {
			if d.Server == a.Spec.Destination.Server && d.Namespace == a.Spec.Destination.Namespace {
				permitted = true
			}
		}
		if !permitted {
			t.Errorf("project %s has no destination for %s (%s %s)", p.Name, a.Name, a.Spec.Destination.Server, a.Spec.Destination.Namespace)
		}
	}
}
