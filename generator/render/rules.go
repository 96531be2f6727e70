package render

import (
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/monitoring"
	"github.com/libertum/platform-gitops/generator/spec"
)

// stampStage derives what needs all of a stamp's units, once they are
// rendered: its alert rules watch only series something in the stamp
// exports (package monitoring), and its HealthService checks what the stamp
// runs (health.go). The units render placeholders for both, so a unit
// alone (and its cache entry) does not depend on the other units; this is
// the one place a stamp's units meet.
func stampStage(envs []*spec.Environment, units []*Unit) error {
	byStamp := map[[2]string][]*Unit{}
	for _, u := range units {
		k := [2]string{u.Env, u.Stamp}
		byStamp[k] = append(byStamp[k], u)
	}
	var g errgroup.Group
	for _, e := range envs {
		for _, st := range e.Spec.Stamps {
			us := byStamp[[2]string{e.Name(), st.Name}]
			g.Go(func() error {
				if e.Spec.Alerting != nil {
					if err := fillRules(e, us); err != nil {
						return fmt.Errorf("render %s/%s: alert rules: %w", e.Name(), st.Name, err)
					}
				}
				if f := e.Spec.FrontDoor; f != nil {
					if err := fillHealth(e, st, us); err != nil {
						return fmt.Errorf("render %s/%s: %s's flags: %w", e.Name(), st.Name, f.Health, err)
					}
				}
				return nil
			})
		}
	}
	return g.Wait()
}

// fillRules writes the rules of one stamp's units into the ConfigMap of
// each component that scrapes metrics.
func fillRules(e *spec.Environment, units []*Unit) error {
	runs := monitoring.Runs{}
	for _, u := range units {
		runs.Add(u.Component, u.Objects)
	}
	var data string
	for _, u := range units {
		if !e.Spec.Components[u.Component].ScrapesMetrics {
			continue
		}
		for i, o := range u.Objects {
			if o.GetKind() != "ConfigMap" || o.GetName() != monitoring.RulesConfigMap(u.Component) {
				continue
			}
			if u.Files[i].Path != u.File(manifest.FileName(o)) {
				return fmt.Errorf("%s: %s is not the file of %s", u.Unit, u.Files[i].Path, manifest.IDOf(o))
			}
			if data == "" {
				b, err := monitoring.Rules(e, runs).Encode()
				if err != nil {
					return err
				}
				data = string(b)
			}
			if err := u.edit(i, func(o *manifest.Object) error { return setData(o, monitoring.RulesKey, data) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// edit changes a copy of the unit's i-th object and puts it, and its
// file's bytes, in place of the original: the stamp stage's one way to
// change what a unit rendered.
func (u *Unit) edit(i int, change func(*manifest.Object) error) error {
	o := u.Objects[i].DeepCopy()
	if err := change(o); err != nil {
		return fmt.Errorf("%s: %w", u.Files[i].Path, err)
	}
	b, err := manifest.Encode(o)
	if err != nil {
		return err
	}
	u.Objects[i] = o
	u.Files[i].Data = b
	return nil
}

// setData sets one key of a ConfigMap's data.
func setData(o *manifest.Object, key, value string) error {
	data, ok := o.Object["data"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s has no data to hold %s", manifest.IDOf(o), key)
	}
	data[key] = value
	return nil
}
