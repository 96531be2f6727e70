package render

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
)

// CLIUnit is one unit as a chain of CLI calls would render it: helm
// template or kustomize build of the base, then kustomize build of a stage
// folder holding that output, the objects the generator derives from the
// spec, and the environment's overlays. The CLI comparison of make bench
// runs these steps with the real helm and kustomize binaries.
type CLIUnit struct {
	layout.Unit
	// Base is the repo-relative folder of the component's source, and
	// Kind its kind (chart, kustomize).
	Base string
	Kind string
	// Command writes the base's objects to standard output: {root} stands
	// for the repo, {plan} for the folder the plan is laid out in.
	Command []string
	// StageDir is the repo-relative folder of the final kustomization; the
	// base's output is to be written to StageDir/objects.yaml.
	StageDir string
	// Files are the stage's files (its kustomization.yaml, generated.yaml
	// and what Command reads there) and the overlays it uses, by
	// repo-relative path.
	Files map[string][]byte
}

// CLIPlan describes every unit of a plan as CLI steps, with the same chart
// values, overlays, labels and image pins the in-process render uses: the
// bench plan make bench times the CLI pipeline with.
func CLIPlan(p *plan.Plan) ([]CLIUnit, error) {
	repo := newSources(p)
	var out []CLIUnit
	for _, pu := range p.Units {
		u, err := cliUnit(repo, pu)
		if err != nil {
			return nil, fmt.Errorf("plan %s: %w", pu.Unit, err)
		}
		out = append(out, u)
	}
	return out, nil
}

func cliUnit(repo *sources, pu *plan.Unit) (CLIUnit, error) {
	u := CLIUnit{
		Unit:     pu.Unit,
		Base:     pu.Base,
		Kind:     pu.Kind.String(),
		StageDir: path.Join("render", pu.Dir()),
	}
	kind, ok := kinds[pu.Kind]
	if !ok {
		return u, fmt.Errorf("base %s: no source kind", pu.Base)
	}
	argv, read, err := kind.cli(pu, u.StageDir)
	if err != nil {
		return u, err
	}
	u.Command = argv
	// The generated objects need the base's objects (an HPA targets the
	// Deployment the chart renders), so the base is rendered here once.
	_, gen, err := shaped(repo, pu)
	if err != nil {
		return u, err
	}
	unsetNamespaces(gen)
	files, err := stage(repo, pu, gen, "/"+u.StageDir)
	if err != nil {
		return u, err
	}
	u.Files = map[string][]byte{}
	for p, b := range files {
		u.Files[strings.TrimPrefix(p, "/")] = b
	}
	for name, b := range read {
		u.Files[path.Join(u.StageDir, name)] = b
	}
	generated := path.Join(u.StageDir, "objects.yaml")
	u.Files[path.Join(u.StageDir, "generated.yaml")] = u.Files[generated]
	delete(u.Files, generated)
	var k types.Kustomization
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
