package action

import (
	"context"
	"errors"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/validate"
)

// Validate has a real API server judge every rendered object.
type Validate struct {
	*Config
	// Kubeconfig names a throwaway API server (namespaces and CRDs are
	// created there).
	Kubeconfig string
	Envs       []string
}

// ValidateResult is the server's verdict and what was sent.
type ValidateResult struct {
	*validate.Result
	Envs int
	// Stamps counts the stamps and bootstraps the objects came from.
	Stamps int
}

// Run renders in memory and dry-runs every object.
func (v *Validate) Run(ctx context.Context) (*ValidateResult, error) {
	if v.Kubeconfig == "" {
		return nil, errors.New("a kubeconfig is required")
	}
	res, err := renderEnvs(ctx, v.Config, v.Envs, nil)
	if err != nil {
		return nil, err
	}
	files, err := v.Workspace().CRDs()
	if err != nil {
		return nil, err
	}
	crds, err := validate.LoadCRDs(files)
	if err != nil {
		return nil, err
	}
	var inputs []validate.Input
	stamps := map[string]bool{}
	for _, u := range res.Units {
		stamps[u.Env+"/"+u.Stamp] = true
		for i, o := range u.Objects {
			inputs = append(inputs, validate.Input{Unit: u.Unit, File: layout.RepoPath(u.Files[i].Path), Object: o})
		}
	}
	cfg, err := validate.Config(v.Kubeconfig)
	if err != nil {
		return nil, err
	}
	jobs := v.Workers // objects sent at once
	if jobs <= 0 {
		jobs = 8
	}
	out, err := validate.Run(ctx, cfg, crds, inputs, jobs)
	if err != nil {
		return nil, err
	}
	return &ValidateResult{Result: out, Envs: len(res.Envs), Stamps: len(stamps)}, nil
}
