package action

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/image"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// importCommand is what an import plan's az acr import says: the registry,
// the upstream source and digest, and the repository:tag it creates.
var importCommand = regexp.MustCompile(`^az acr import --name ([a-z0-9]+) --source (\S+)@(sha256:[0-9a-f]{64}) --image (\S+) --force$`)

// TestImportPlanCoversEveryRenderedImage reads the committed rendered/
// tree, not the plan's own render: every third-party image a container or
// init container there pulls must be what one az acr import of the plan
// creates, byte for byte (registry, repository, tag and digest), and
// in-house images get none. The plan before this test put
// registry.k8s.io/ingress-nginx/controller under the registry's host, where
// no pod pulls it.
func TestImportPlanCoversEveryRenderedImage(t *testing.T) {
	cfg := &Config{Root: platformtest.Repo(), NoCache: true}
	envs, err := cfg.Workspace().Environments(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		imgs, err := (&Images{Config: cfg, Env: e.Name()}).Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		imported := map[string]bool{}
		for _, i := range imgs {
			if i.Problem != "" {
				t.Errorf("%s: %s: %s", e.Name(), i.Ref, i.Problem)
			}
			if i.Import == "" {
				continue
			}
			m := importCommand.FindStringSubmatch(i.Import)
			if m == nil {
				t.Errorf("%s: not an import by digest: %q", e.Name(), i.Import)
				continue
			}
			pulled := m[1] + ".azurecr.io/" + m[4] + "@" + m[3]
			imported[pulled] = true
			if up, err := image.Parse(m[2]); err != nil || up.Domain == "" {
				t.Errorf("%s: import source %q is not a registry repository", e.Name(), m[2])
			}
		}
		third := 0
		for _, o := range platformtest.Rendered(t, platformtest.Repo(), e.Name()) {
			for _, ref := range render.ContainerImages(o.Object.Object) {
				r, err := image.Parse(ref)
				if err != nil {
					t.Errorf("%s: %s: %v", e.Name(), o.File, err)
					continue
				}
				if spec.InHouse(r.Path) {
					continue
				}
				third++
				if !imported[ref] {
					t.Errorf("%s: %s pulls %s, which no import of the plan creates (plan: %v)", e.Name(), o.File, ref, imported)
				}
			}
		}
		if third == 0 {
			t.Errorf("%s: no third-party image rendered", e.Name())
		}
		for _, i := range imgs {
			if i.InHouse && i.Import != "" {
				t.Errorf("%s: in-house %s gets an import", e.Name(), i.Ref)
			}
		}
	}
}

// TestImportPlanNamesWhatItCannotImport: an image an overlay adds without
// a pin, one pulled from outside the registry and one whose digest differs
// from the pin are problems, not silent gaps.
func TestImportPlanNamesWhatItCannotImport(t *testing.T) {
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	e := &spec.Environment{File: "environments/x.yaml", Spec: spec.EnvironmentSpec{
		Registry: "acrx.azurecr.io",
		Components: map[string]spec.Component{"edge": {Images: []spec.Image{
			{Name: "registry.k8s.io/ingress-nginx/controller", Tag: "v1.12.1@" + d1, Upstream: "registry.k8s.io/ingress-nginx/controller"},
		}}},
	}}
	for ref, want := range map[string]string{
		"acrx.azurecr.io/ingress-nginx/controller:v1.12.1@" + d1: "",
		"acrx.azurecr.io/ingress-nginx/controller:v1.12.1@" + d2: "pods pull digest",
		"acrx.azurecr.io/busybox:1.36@" + d1:                     "no component of environments/x.yaml pins busybox",
		"docker.io/library/busybox:1.36":                         "not from the environment's registry",
	} {
		got := imageOf(e, pinsOf(e), ref)
		if want == "" && (got.Problem != "" || got.Target != "acrx.azurecr.io/ingress-nginx/controller:v1.12.1") {
			t.Errorf("%s: problem %q, target %q", ref, got.Problem, got.Target)
		}
		if want != "" && !strings.Contains(got.Problem, want) {
			t.Errorf("%s: problem %q, want it to say %q", ref, got.Problem, want)
		}
	}
}
