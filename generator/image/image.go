// Package image is the one place an image reference is taken apart and put
// together. What render pins a container to, what gitops images imports
// into the registry and what the program catalog recognises all agree on
// where a reference's registry ends, its repository path runs and its tag
// and digest begin. The grammar is distribution/reference's: the one
// registries and container runtimes parse with.
package image

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Ref is a parsed image reference: [Domain/]Path[:Tag][@Digest].
type Ref struct {
	// Domain is the registry host, empty when the reference names none
	// (Docker Hub's then).
	Domain string
	// Path is the repository within the registry: grafana/loki,
	// ingress-nginx/controller, redis.
	Path string
	// Tag and Digest are empty when the reference has none.
	Tag    string
	Digest string
}

// Parse takes an image reference apart. A reference without a registry
// keeps its short path (redis, not library/redis), as it was written.
func Parse(s string) (Ref, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Ref{}, fmt.Errorf("image %q: %w", s, err)
	}
	r := Ref{Domain: reference.Domain(named), Path: reference.Path(named)}
	if !strings.HasPrefix(s, r.Domain+"/") {
		// Docker Hub, implied: keep the name as written.
		r.Domain, r.Path = "", reference.FamiliarName(named)
	}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	return r, nil
}

// Repository is the reference without tag and digest.
func (r Ref) Repository() string {
	if r.Domain == "" {
		return r.Path
	}
	return r.Domain + "/" + r.Path
}

// InRegistry is where registry holds the image named name: its upstream
// registry host, if any, replaced by registry (third-party images are
// imported into the environment's ACR under their path there:
// registry.k8s.io/ingress-nginx/controller becomes
// REGISTRY/ingress-nginx/controller).
func InRegistry(registry, name string) (string, error) {
	r, err := Parse(name)
	if err != nil {
		return "", err
	}
	return registry + "/" + r.Path, nil
}
