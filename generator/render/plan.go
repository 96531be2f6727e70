package render

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/intent"
	"github.com/libertum/platform-gitops/generator/source"
)

// CLIUnit is one unit as a chain of CLI calls would render it: helm
// template or kustomize build of the base, then kustomize build of a stage
// folder holding that output, the objects the generator derives from the
// spec, and the environment's overlays. The CLI comparison of make bench
// runs these steps with the real helm and kustomize binaries.
type CLIUnit struct {
	Env, Stamp, Component string
	// Base is the repo-relative folder of the chart or kustomization.
	Base string
	// Chart says Base is a Helm chart (else a kustomization).
	Chart bool
	// Helm template arguments, for charts.
	Release, Namespace, KubeVersion string
	APIVersions                     []string
	// Values is the values file the chart is rendered with, as YAML.
	Values []byte
	// StageDir is the repo-relative folder of the final kustomization; the
	// base's output is to be written to StageDir/objects.yaml.
	StageDir string
	// Files are the stage's files (its kustomization.yaml and
	// generated.yaml) and the overlays it uses, by repo-relative path.
	Files map[string][]byte
}

// CLIPlan describes every unit of the named environments (all when empty)
// as CLI steps, with the same chart values, overlays, labels and image pins
// the in-process render uses.
func CLIPlan(root string, envs []string) ([]CLIUnit, error) {
	es, err := LoadEnvironments(root, envs)
	if err != nil {
		return nil, err
	}
	r, err := source.Read(root)
	if err != nil {
		return nil, err
	}
	repo := newSources(r)
	if err := checkBases(repo, es); err != nil {
		return nil, err
	}
	var out []CLIUnit
	for _, e := range es {
		for _, st := range e.Spec.Stamps {
			for _, name := range e.ComponentNames() {
				t := intent.Target{Env: e, Stamp: st, Name: name, Component: e.Spec.Components[name]}
				u, err := cliUnit(repo, t)
				if err != nil {
					return nil, fmt.Errorf("plan %s/%s/%s: %w", e.Name(), st.Name, name, err)
				}
				out = append(out, u)
			}
		}
	}
	return out, nil
}

func cliUnit(repo *sources, t intent.Target) (CLIUnit, error) {
	u := CLIUnit{
		Env: t.Env.Name(), Stamp: t.Stamp.Name, Component: t.Name,
		Base:     path.Join(source.BaseDir, t.Component.BaseDir(t.Name)),
		Chart:    repo.KindOf(t.Component.BaseDir(t.Name)) == source.Chart,
		StageDir: path.Join("render", t.Env.Name(), t.Stamp.Name, t.Name),
	}
	if u.Chart {
		u.Release, u.Namespace = t.Name, t.Component.Namespace
		u.KubeVersion, u.APIVersions = t.Env.Spec.Cluster.KubernetesVersion, t.Env.Spec.Cluster.APIVersions
		v, err := yaml.Marshal(chartValues(t))
		if err != nil {
			return u, err
		}
		u.Values = v
	}
	// The generated objects need the base's objects (an HPA targets the
	// Deployment the chart renders), so the base is rendered here once.
	_, gen, err := shaped(repo, t)
	if err != nil {
		return u, err
	}
	files, err := stage(repo, t, gen, "/"+u.StageDir)
	if err != nil {
		return u, err
	}
	u.Files = map[string][]byte{}
	for p, b := range files {
		u.Files[strings.TrimPrefix(p, "/")] = b
	}
	generated := path.Join(u.StageDir, "objects.yaml")
	u.Files[path.Join(u.StageDir, "generated.yaml")] = u.Files[generated]
	delete(u.Files, generated)
	var k kustomization
	kfile := path.Join(u.StageDir, "kustomization.yaml")
	if err := yaml.Unmarshal(u.Files[kfile], &k); err != nil {
		return u, err
	}
	k.Resources = []string{"objects.yaml"}
	if len(gen) > 0 {
		k.Resources = append(k.Resources, "generated.yaml")
	}
	kb, err := yaml.Marshal(k)
	if err != nil {
		return u, err
	}
	u.Files[kfile] = kb
	return u, nil
}
