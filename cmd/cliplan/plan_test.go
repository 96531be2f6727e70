package main

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/kustomize"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestWrite lays out the plan for the small platform and checks that every
// unit's stage is complete: it builds (with the same kustomize the CLI runs)
// once the base's output is in place, and carries the environment's labels.
func TestWrite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "plan")
	if err := Write(context.Background(), platformtest.Small(t), out, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, UnitsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 6 {
		t.Errorf("%d units, want 6 (api and redis in dev's stamp and prod's two)", len(lines))
	}
	for _, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			t.Fatalf("unit line %q has %d fields, want 6", line, len(f))
		}
		env, component, kind, stageDir, argv := f[0], f[2], f[3], f[4], strings.Split(f[5], "\x1f")
		stage := filepath.Join(out, stageDir)
		switch kind {
		case "chart":
			if _, err := os.Stat(filepath.Join(stage, "values.yaml")); err != nil || argv[0] != "helm" || !slices.Contains(argv, "--kube-version") || !slices.Contains(argv, "{plan}/"+stageDir+"/values.yaml") {
				t.Errorf("%s: chart unit without values.yaml, or a command that does not read it with the kube version: %q", stageDir, argv)
			}
		case "kustomize":
			if len(argv) != 3 || argv[0] != "kustomize" || !strings.HasPrefix(argv[2], "{root}/base/") {
				t.Errorf("%s: kustomize unit's command %q", stageDir, argv)
			}
		default:
			t.Errorf("%s: kind %q", stageDir, kind)
		}
		// The base's output stands in as one Deployment-less ConfigMap: the
		// stage must build around it and label it for the environment.
		files := kustomize.Files{"/" + stageDir + "/objects.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stand-in\n")}
		err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(out, p)
			rel = filepath.ToSlash(rel)
			envOverlay := path.Dir(rel) == "overlays/"+env
			if strings.HasPrefix(rel, stageDir+"/") || envOverlay || strings.HasPrefix(rel, "overlays/"+env+"/"+component+"/") {
				data, err := os.ReadFile(p)
				files["/"+rel] = data
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(out, "overlays", env, component)); err == nil {
			continue // its overlays patch the Deployment the stand-in lacks
		}
		objs, err := kustomize.Build(files, "/"+stageDir)
		if err != nil {
			t.Errorf("%s: %v", stageDir, err)
			continue
		}
		for _, o := range objs {
			if manifest.Labels(o)["libertum.io/environment"] != env {
				t.Errorf("%s: %s lacks the environment label", stageDir, manifest.IDOf(o))
			}
		}
	}
	var data struct {
		Environment map[string]any `json:"environment"`
		Rendered    map[string]any `json:"rendered"`
	}
	b, err = os.ReadFile(filepath.Join(out, "data", "prod", "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &data); err != nil || data.Environment["name"] != "prod" || data.Rendered["weu-1"] == nil || data.Rendered["neu-1"] == nil {
		t.Errorf("prod data: environment %v, stamps %d (%v); want prod with weu-1 and neu-1", data.Environment["name"], len(data.Rendered), err)
	}
	if err := Write(context.Background(), platformtest.Repo(), out, nil); err == nil {
		t.Error("Write over an existing folder did not fail")
	}
}
