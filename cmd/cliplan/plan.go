// Write lays out, on disk, what the CLI pipeline gitops replaces
// needs to render and check the platform the same way: per unit, the values
// file and flags for `helm template` or the base for `kustomize build`, and
// the stage folder whose `kustomize build` applies the generated objects,
// overlays, labels and image pins; per environment, the data document
// `conftest --data` gives the policies. make bench's comparison script reads
// it; nothing here runs a CLI.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/plan"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// UnitsFile lists the units, one tab-separated line each: env, stamp,
// component, source kind, stage folder, and the command that renders the
// base (its arguments separated by the unit separator, 0x1f; {root} is
// the repo, {plan} this folder).
const UnitsFile = "units.tsv"

// Write lays out the plan for the named environments (all when empty) of
// the repo at root under out, which must not exist yet.
func Write(ctx context.Context, root, out string, envs []string) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("cliplan: %s already exists", out)
	}
	ws := workspace.Open(root)
	p, err := plan.New(ws, plan.Options{Envs: envs})
	if err != nil {
		return err
	}
	units, err := render.CLIPlan(p)
	if err != nil {
		return err
	}
	var lines []string
	files := map[string][]byte{}
	for _, u := range units {
		for p, b := range u.Files {
			files[p] = b
		}
		lines = append(lines, strings.Join([]string{u.Env, u.Stamp, u.Component, u.Kind, u.StageDir, strings.Join(u.Command, "\x1f")}, "\t"))
	}
	files[UnitsFile] = []byte(strings.Join(lines, "\n") + "\n")

	// conftest gets the same data the in-process policies get, the
	// objects' summaries included.
	res, err := render.Run(ctx, p, render.Options{})
	if err != nil {
		return err
	}
	policies, err := ws.Policies()
	if err != nil {
		return err
	}
	engine, err := policy.LoadFiles(ws.Path(workspace.PoliciesDir), policies)
	if err != nil {
		return err
	}
	for _, env := range res.Envs {
		var inputs []policy.Input
		for _, u := range res.Units {
			if u.Env != env.Name() {
				continue
			}
			for i, o := range u.Objects {
				inputs = append(inputs, policy.Input{Unit: u.Unit, File: layout.RepoPath(u.Files[i].Path), Object: o})
			}
		}
		session, err := engine.NewSession(policy.EnvironmentOf(env), inputs, 0)
		if err != nil {
			return err
		}
		sums, err := session.Summaries(ctx, nil)
		if err != nil {
			return err
		}
		data, err := policy.Data(policy.EnvironmentOf(env), inputs, sums)
		if err != nil {
			return err
		}
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		files[path.Join("data", env.Name(), "data.json")] = b
	}

	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(out, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}
