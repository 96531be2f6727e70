//go:build kubernetes_protomessage_one_more_release

// This test links argo-cd's repo-server, which needs the build tag above
// (Kubernetes 0.35 hides protobuf methods its gRPC gateway uses); make test
// passes it.

package argocd_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v2/reposerver/apiclient"
	"github.com/argoproj/argo-cd/v2/reposerver/repository"
	"github.com/argoproj/argo-cd/v2/util/git"
	argoio "github.com/argoproj/argo-cd/v2/util/io"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
	sigsjson "sigs.k8s.io/json"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestArgoCDReadsRenderedDirectories: for every Application the generator
// writes, Argo CD's own repo-server code, given that Application's source,
// reads the component's rendered folder and gets exactly the objects the
// generator produced.
func TestArgoCDReadsRenderedDirectories(t *testing.T) {
	ctx := context.Background()
	pl, err := plan.New(workspace.Open(platformtest.Small(t)), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Run(ctx, pl, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The rendered branch holds the rendered tree at its root.
	branch := filepath.Join(t.TempDir(), "rendered")
	if err := layout.Replace(branch, res.EnvNames(), res.Files()); err != nil {
		t.Fatal(err)
	}
	byDir := map[string]*render.Unit{}
	for _, u := range res.Units {
		byDir[u.Dir()] = u
	}
	apps := 0
	for _, u := range res.Units {
		for _, o := range u.Objects {
			if o.GetKind() != "Application" {
				continue
			}
			app := decodeApp(t, o)
			src := app.Spec.Source
			target, ok := byDir[src.Path]
			if !ok {
				t.Errorf("Application %s points at %s, which the generator did not render", app.Name, src.Path)
				continue
			}
			resp, err := repository.GenerateManifests(ctx, filepath.Join(branch, src.Path), branch, src.TargetRevision,
				&apiclient.ManifestRequest{
					Repo:              &argov1.Repository{Repo: src.RepoURL},
					AppName:           app.Name,
					Namespace:         app.Spec.Destination.Namespace,
					ApplicationSource: src,
					ProjectName:       app.Spec.Project,
				},
				false, git.NoopCredsStore{}, resource.MustParse("0"), argoio.NewRandomizedTempPaths(t.TempDir()))
			if err != nil {
				t.Errorf("Argo CD cannot read %s for %s: %v", src.Path, app.Name, err)
				continue
			}
			if resp.SourceType != "Directory" {
				t.Errorf("%s: source type %s, want Directory", app.Name, resp.SourceType)
			}
			got := map[string]any{}
			for _, m := range resp.Manifests {
				var obj map[string]any
				if err := json.Unmarshal([]byte(m), &obj); err != nil {
					t.Fatal(err)
				}
				got[manifest.IDOf(&manifest.Object{Object: obj}).String()] = obj
			}
			want := map[string]any{}
			for _, w := range target.Objects {
				want[manifest.IDOf(w).String()] = asJSON(t, w.Object)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: Argo CD reads other objects than the generator wrote (-want +got):\n%s", src.Path, diff)
			}
			apps++
		}
	}
	// Every component unit of every stamp has an Application.
	components := 0
	for _, u := range res.Units {
		if u.Component != spec.AppsComponent && u.Component != spec.BootstrapDir {
			components++
		}
	}
	if apps != components+len(stampsOf(res)) {
		t.Errorf("checked %d Applications, want one per component (%d) plus one root per stamp (%d)", apps, components, len(stampsOf(res)))
	}
}

func stampsOf(res *render.Result) map[string]bool {
	out := map[string]bool{}
	for _, u := range res.Units {
		if u.Stamp != "" {
			out[u.Env+"/"+u.Stamp] = true
		}
	}
	return out
}

// decodeApp decodes a rendered Application strictly into argo-cd's type.
func decodeApp(t *testing.T, o *manifest.Object) *argov1.Application {
	t.Helper()
	b, err := json.Marshal(o.Object)
	if err != nil {
		t.Fatal(err)
	}
	var app argov1.Application
	strict, err := sigsjson.UnmarshalStrict(b, &app)
	if err != nil || len(strict) > 0 {
		t.Fatalf("%s does not decode strictly into v1alpha1.Application: %v %v", o.GetName(), err, strict)
	}
	if !strings.HasPrefix(app.Spec.Source.Path, app.Labels["libertum.io/environment"]+"/") {
		t.Errorf("%s: path %s is outside its environment", app.Name, app.Spec.Source.Path)
	}
	return &app
}

func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
