package plan

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// Scope is the set of units (environment, component) a change can affect,
// worked out from the files that changed since a git revision, so verify
// and diff render only those and read the rest back from rendered/. The
// zero value holds nothing.
type Scope struct {
	all   bool
	envs  map[string]bool
	units map[string]map[string]bool
	// Why lists, per changed path, what it brought into the scope.
	Why []string
}

// Has reports whether the scope holds a component of an environment.
func (s *Scope) Has(env, component string) bool {
	return s.all || s.envs[env] || s.units[env][component]
}

// Units lists the scope's units as env/component (env/* for a whole
// environment; "*" for everything), sorted.
func (s *Scope) Units() []string {
	if s.all {
		return []string{"*"}
	}
	var out []string
	for e := range s.envs {
		out = append(out, e+"/*")
	}
	for e, cs := range s.units {
		if s.envs[e] {
			continue
		}
		for c := range cs {
			out = append(out, e+"/"+c)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Scope) addEnv(env, why string) {
	if s.envs == nil {
		s.envs = map[string]bool{}
	}
	s.envs[env] = true
	s.Why = append(s.Why, why+" → "+env+"/*")
}

func (s *Scope) addUnit(env, component, why string) {
	if s.units == nil {
		s.units = map[string]map[string]bool{}
	}
	if s.units[env] == nil {
		s.units[env] = map[string]bool{}
	}
	s.units[env][component] = true
	s.Why = append(s.Why, why+" → "+env+"/"+component)
}

// toolPaths are the paths whose change changes the tool itself, and so
// possibly every rendered byte.
var toolPaths = []string{"generator/", "cmd/", "go.mod", "go.sum"}

// Since returns the units the changes between rev and root's working tree
// can affect:
//   - an environment file: the components whose part of it changed (a
//     change outside components, such as the cluster or a stamp, all of
//     them);
//   - base/<dir>/: every component built from that base, in every
//     environment;
//   - overlays/<env>/<component>/: that component; other overlay files:
//     the whole environment;
//   - rendered/<env>/<stamp>/<component>/: that component (a hand edit
//     must show as drift);
//   - the tool's own code (generator/, cmd/, go.mod, go.sum): everything.
//
// Policies and CRDs change no render; verify checks every environment's
// objects with them either way. Other files (docs, scripts) affect nothing.
func Since(ctx context.Context, ws *workspace.Workspace, rev string) (*Scope, error) {
	repo := git.Repo{Dir: ws.Root}
	// The environments parse while git compares the trees: the scope is
	// what every later step waits for.
	var (
		all  []*spec.Environment
		eerr error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		all, eerr = ws.Environments(nil)
	}()
	changed, err := repo.Changed(ctx, rev)
	<-done
	if err != nil {
		return nil, fmt.Errorf("--changed-since %s: %w", rev, err)
	}
	if eerr != nil {
		return nil, eerr
	}
	envs := map[string]*spec.Environment{}
	for _, e := range all {
		envs[e.Name()] = e
	}
	s := &Scope{}
	for _, p := range changed {
		if err := s.add(ctx, repo, rev, envs, p); err != nil {
			return nil, err
		}
		if s.all {
			break
		}
	}
	return s, nil
}

func (s *Scope) add(ctx context.Context, repo git.Repo, rev string, envs map[string]*spec.Environment, p string) error {
	for _, t := range toolPaths {
		if p == t || (strings.HasSuffix(t, "/") && strings.HasPrefix(p, t)) {
			s.all = true
			s.Why = append(s.Why, p+" → everything (the tool changed)")
			return nil
		}
	}
	parts := strings.Split(p, "/")
	switch parts[0] {
	case workspace.EnvironmentsDir:
		name, ok := strings.CutSuffix(path.Base(p), ".yaml")
		next := envs[name]
		if len(parts) != 2 || !ok || next == nil {
			return nil // not an environment file, or the environment is gone
		}
		var prev *spec.Environment
		if b, found, err := repo.Show(ctx, rev, p); err != nil {
			return err
		} else if found {
			prev, _ = spec.Parse(p, b) // an unreadable old file: treat as new
		}
		comps := ChangedComponents(prev, next)
		names := make([]string, 0, len(comps))
		for c := range comps {
			names = append(names, c)
		}
		sort.Strings(names)
		for _, c := range names {
			s.addUnit(name, c, p)
		}
	case workspace.BaseDir:
		if len(parts) < 3 {
			return nil
		}
		for _, e := range sortedEnvs(envs) {
			for _, c := range e.ComponentNames() {
				if e.Spec.Components[c].BaseDir(c) == parts[1] {
					s.addUnit(e.Name(), c, p)
				}
			}
		}
	case workspace.OverlaysDir:
		if len(parts) < 3 || envs[parts[1]] == nil {
			return nil
		}
		if _, ok := envs[parts[1]].Spec.Components[parts[2]]; ok && len(parts) > 3 {
			s.addUnit(parts[1], parts[2], p)
		} else {
			s.addEnv(parts[1], p)
		}
	case workspace.RenderedDir:
		rel, _ := layout.FromRepoPath(p)
		u, _, ok := layout.Parse(rel)
		if !ok || u.Stamp == "" || envs[u.Env] == nil {
			return nil
		}
		if _, ok := envs[u.Env].Spec.Components[u.Component]; ok {
			s.addUnit(u.Env, u.Component, p)
		}
	}
	return nil
}

func sortedEnvs(envs map[string]*spec.Environment) []*spec.Environment {
	out := make([]*spec.Environment, 0, len(envs))
	for _, e := range envs {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
