package render

import (
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/monitoring"
	"github.com/libertum/platform-gitops/generator/spec"
)

// stampRules fills every stamp's alert rules in from what the stamp
// renders, once all of its units are there: a rule watches only a series
// that something in the stamp exports (package monitoring). The metrics
// collector's unit renders the rules' ConfigMap empty, so a unit alone (and
// its cache entry) does not depend on the other units; this is the one
// place the stamp's units meet.
func stampRules(envs []*spec.Environment, units []*Unit) error {
	type stamp struct {
		env   *spec.Environment
		name  string
		units []*Unit
	}
	var stamps []*stamp
	index := map[[2]string]*stamp{}
	for _, e := range envs {
		if e.Spec.Alerting == nil {
			continue
		}
		for _, st := range e.Spec.Stamps {
			s := &stamp{env: e, name: st.Name}
			stamps = append(stamps, s)
			index[[2]string{e.Name(), st.Name}] = s
		}
	}
	for _, u := range units {
		if s := index[[2]string{u.Env, u.Stamp}]; s != nil {
			s.units = append(s.units, u)
		}
	}
	var g errgroup.Group
	for _, s := range stamps {
		g.Go(func() error {
			if err := fillRules(s.env, s.units); err != nil {
				return fmt.Errorf("render %s/%s: alert rules: %w", s.env.Name(), s.name, err)
			}
			return nil
		})
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
