// Package frontdoor renders an environment's origins document: what Azure
// Front Door's configuration needs to know about the stamps behind it —
// each stamp's origin hosts, health probe and weight, and the global host
// every public route answers. The Front Door profile itself is configured
// outside the cluster (infrastructure code reads this file); the stamps'
// side of the contract (the allowed service tag, the X-Azure-FDID check,
// the global hosts on every Ingress) is rendered with the components.
package frontdoor

import (
	"encoding/json"
	"fmt"

	"github.com/libertum/platform-gitops/generator/spec"
)

// Dir is the environment-wide folder of the rendered tree the document is
// written to, and File its name.
const (
	Dir  = spec.FrontDoorDir
	File = "origins.json"
)

// Origins is the document for one environment.
type Origins struct {
	Environment string `json:"environment"`
	// FrontDoorID is the profile's ID the stamps require in X-Azure-FDID.
	FrontDoorID string `json:"frontDoorID"`
	// Routes are the public hosts, one per component with an Ingress.
	Routes []Route `json:"routes"`
	// Stamps are the origins, in the environment file's order.
	Stamps []Stamp `json:"stamps"`
}

// Route is one host Front Door serves and the component behind it: a
// global host served by every stamp, or (for a stamp-only component) one
// stamp's host served by that stamp.
type Route struct {
	Component string `json:"component"`
	// Host is the host users reach: the global <ingress host>.<frontDoor
	// domain>, or a stamp's own host for a stamp-only component.
	Host string `json:"host"`
	Path string `json:"path"`
	// OriginHosts are the component's host on each stamp that serves the
	// route, by stamp.
	OriginHosts map[string]string `json:"originHosts"`
}

// Stamp is one stamp as an origin.
type Stamp struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	Weight int    `json:"weight"`
	// Probe is where Front Door asks the stamp's HealthService whether it
	// can take traffic.
	Probe Probe `json:"probe"`
}

// Probe is a stamp's health probe. Front Door sends it with the User-Agent
// "Edge Health Probe" and without any documented X-Azure-FDID; HEAD is the
// method Front Door recommends and new profiles default to
// (https://learn.microsoft.com/azure/frontdoor/health-probes).
type Probe struct {
	Host     string `json:"host"`
	Path     string `json:"path"`
	Protocol string `json:"protocol"`
	Method   string `json:"method"`
}

// Build returns the environment's origins document; ok is false for an
// environment without Front Door.
func Build(e *spec.Environment) (Origins, bool) {
	f := e.Spec.FrontDoor
	if f == nil {
		return Origins{}, false
	}
	doc := Origins{Environment: e.Name(), FrontDoorID: f.ID, Routes: []Route{}, Stamps: []Stamp{}}
	for _, name := range e.ComponentNames() {
		in := e.Spec.Components[name].Ingress
		if in == nil {
			continue
		}
		if in.StampOnly {
			// Each stamp's own host, to that stamp alone: the tool shows
			// its stamp, so no other stamp may answer for it.
			for _, st := range e.Spec.Stamps {
				doc.Routes = append(doc.Routes, Route{Component: name, Host: in.StampHost(st), Path: in.RoutePath(),
					OriginHosts: map[string]string{st.Name: in.StampHost(st)}})
			}
			continue
		}
		r := Route{Component: name, Host: in.GlobalHost(f), Path: in.RoutePath(), OriginHosts: map[string]string{}}
		for _, st := range e.Spec.Stamps {
			r.OriginHosts[st.Name] = in.StampHost(st)
		}
		doc.Routes = append(doc.Routes, r)
	}
	for _, st := range e.Spec.Stamps {
		s := Stamp{Name: st.Name, Region: st.Region}
		if st.Origin != nil {
			s.Weight = st.Origin.Weight
			s.Probe = Probe{Path: f.ProbePath, Protocol: "Https", Method: "HEAD"}
		}
		s.Probe.Host = e.ProbeHost(st)
		doc.Stamps = append(doc.Stamps, s)
	}
	return doc, true
}

// Render returns the document's bytes (indented JSON, a final newline), or
// nil for an environment without Front Door.
func Render(e *spec.Environment) ([]byte, error) {
	doc, ok := Build(e)
	if !ok {
		return nil, nil
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render %s/%s/%s: %w", e.Name(), Dir, File, err)
	}
	return append(b, '\n'), nil
}
