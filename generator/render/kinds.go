package render

import (
	"github.com/libertum/platform-gitops/generator/helm"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/source"
	"sigs.k8s.io/yaml"
)

// sourceKind is one kind of component source: how render reads a base of
// that kind in process, and the CLI call that reads it the same way (what
// make bench's anchor pipeline runs). A new kind is a marker in package
// source (what makes a folder that kind) and an entry in kinds; plan,
// cliplan and the bench script take it from there.
type sourceKind interface {
	// objects renders the unit's base.
	objects(repo *sources, pu *plan.Unit) ([]*manifest.Object, error)
	// cli is the command that writes the base's objects to standard
	// output ({root} stands for the repo, {plan} for the bench plan's
	// folder) and the files it reads from the unit's stage folder.
	cli(pu *plan.Unit, stageDir string) (argv []string, files map[string][]byte, err error)
}

// kinds are the engines of the source kinds.
var kinds = map[source.Kind]sourceKind{
	source.Chart:     chartKind{},
	source.Kustomize: kustomizeKind{},
}

// chartKind renders a local Helm chart with the Helm SDK.
type chartKind struct{}

func (chartKind) objects(repo *sources, pu *plan.Unit) ([]*manifest.Object, error) {
	t, dir := pu.Target, pu.Base
	ch := helm.Chart{Dir: dir, Files: repo.Files(dir)}
	if _, err := repo.charts.get(dir, func() (struct{}, error) { return struct{}{}, helm.CheckDeterministic(ch) }); err != nil {
		return nil, err
	}
	out, err := helm.Render(ch, helm.Options{
		ReleaseName: t.Name,
		Namespace:   t.Component.Namespace,
		KubeVersion: t.Env.Spec.Cluster.KubernetesVersion,
		APIVersions: t.Env.Spec.Cluster.APIVersions,
		Values:      chartValues(t),
	})
	if err != nil {
		return nil, err
	}
	return manifest.Decode(dir+" (rendered)", out)
}

// cli is helm template with the same release, namespace, Kubernetes and
// API versions and values.
func (chartKind) cli(pu *plan.Unit, stageDir string) ([]string, map[string][]byte, error) {
	t := pu.Target
	values, err := yaml.Marshal(chartValues(t))
	if err != nil {
		return nil, nil, err
	}
	argv := []string{"helm", "template", t.Name, "{root}/" + pu.Base, "--namespace", t.Component.Namespace,
		"--kube-version", t.Env.Spec.Cluster.KubernetesVersion, "-f", "{plan}/" + stageDir + "/values.yaml"}
	for _, v := range t.Env.Spec.Cluster.APIVersions {
		argv = append(argv, "--api-versions", v)
	}
	return argv, map[string][]byte{"values.yaml": values}, nil
}

// kustomizeKind builds a kustomize base with the kustomize API.
type kustomizeKind struct{}

func (kustomizeKind) objects(repo *sources, pu *plan.Unit) ([]*manifest.Object, error) {
	return repo.kustomizeBase(pu.Base)
}

func (kustomizeKind) cli(pu *plan.Unit, _ string) ([]string, map[string][]byte, error) {
	return []string{"kustomize", "build", "{root}/" + pu.Base}, nil, nil
}
