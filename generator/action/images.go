package action

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/libertum/platform-gitops/generator/image"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Image is one image an environment's pods pull: built by CI (in-house,
// tagged with its commit) or third party, imported into the environment's
// ACR by digest from its upstream source.
type Image struct {
	Components []string `json:"components"`
	// Name is the image as the environment file pins it (the repository
	// path when no pin names it).
	Name    string `json:"name"`
	Tag     string `json:"tag"`
	InHouse bool   `json:"inHouse"`
	// Ref is the image exactly as the rendered pods pull it.
	Ref      string `json:"ref"`
	Upstream string `json:"upstream,omitempty"`
	Digest   string `json:"digest,omitempty"`
	// Target is what the import creates: the repository and tag pods pull,
	// in the environment's registry.
	Target string `json:"target,omitempty"`
	// Import is the az acr import command that brings a third-party image
	// into the registry by digest.
	Import string `json:"import,omitempty"`
	// Problem says why a third-party image cannot be imported.
	Problem string `json:"problem,omitempty"`
}

// Images lists the images an environment's rendered pods pull.
type Images struct {
	*Config
	Env string
}

// Run renders the environment (through the cache) and lists every image
// its objects' containers and init containers name, third party first in
// the order az should import them, in-house after. The list comes from the
// rendered objects, so an image an overlay or a chart adds is in it, at
// the repository the pods pull.
func (im *Images) Run(ctx context.Context) ([]Image, error) {
	e, err := im.Workspace().Environment(im.Env)
	if err != nil {
		return nil, err
	}
	res, err := renderEnvs(ctx, im.Config, []string{im.Env}, nil)
	if err != nil {
		return nil, err
	}
	return imagesOf(e, res.Units), nil
}

// imagesOf lists the images the units' objects pull, one entry per
// reference.
func imagesOf(e *spec.Environment, units []*render.Unit) []Image {
	byRef := map[string]*Image{}
	pins := pinsOf(e)
	for _, u := range units {
		for _, o := range u.Objects {
			for _, ref := range render.ContainerImages(o.Object) {
				img, ok := byRef[ref]
				if !ok {
					img = imageOf(e, pins, ref)
					byRef[ref] = img
				}
				if !slices.Contains(img.Components, u.Component) {
					img.Components = append(img.Components, u.Component)
				}
			}
		}
	}
	out := make([]Image, 0, len(byRef))
	for _, img := range byRef {
		sort.Strings(img.Components)
		out = append(out, *img)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].InHouse != out[j].InHouse {
			return !out[i].InHouse
		}
		return out[i].Ref < out[j].Ref
	})
	return out
}

// imageOf describes one rendered reference: the environment file's pin
// that render pointed at it, and for a third-party image the import that
// puts exactly that repository and tag into the registry.
func imageOf(e *spec.Environment, pins map[string]spec.Image, ref string) *Image {
	img := &Image{Ref: ref, Name: ref}
	r, err := image.Parse(ref)
	if err != nil {
		img.Problem = err.Error()
		return img
	}
	img.Name, img.Tag, img.Digest = r.Path, r.Tag, r.Digest
	if img.Tag == "" {
		img.Tag = r.Digest
	}
	img.InHouse = spec.InHouse(r.Path)
	if img.InHouse {
		return img
	}
	registry := e.Spec.Registry
	if r.Domain != registry {
		img.Problem = fmt.Sprintf("pods pull it from %q, not from the environment's registry %s: pin it in %s so render points it there", r.Domain, registry, e.File)
		return img
	}
	pin, ok := pins[r.Repository()]
	if !ok {
		img.Problem = fmt.Sprintf("no component of %s pins %s (images: name, upstream, tag VERSION@sha256:…), so nothing says where to import it from", e.File, r.Path)
		return img
	}
	img.Name, img.Upstream = pin.Name, pin.Upstream
	if why := spec.ImportProblem(pin); why != "" {
		img.Problem = why
		return img
	}
	if r.Digest != pin.Digest() {
		img.Problem = fmt.Sprintf("pods pull digest %q, the environment file pins %q", r.Digest, pin.Digest())
		return img
	}
	tag := r.Tag
	if tag == "" {
		tag = strings.TrimPrefix(r.Digest, "sha256:")[:12]
	}
	img.Target = registry + "/" + r.Path + ":" + tag
	img.Import = fmt.Sprintf("az acr import --name %s --source %s@%s --image %s --force",
		strings.Split(registry, ".")[0], pin.Upstream, r.Digest, r.Path+":"+tag)
	return img
}

// pinsOf indexes the environment file's images by the repository render
// points them at in the environment's registry.
func pinsOf(e *spec.Environment) map[string]spec.Image {
	out := map[string]spec.Image{}
	for _, name := range e.ComponentNames() {
		for _, pin := range e.Spec.Components[name].Images {
			if at, err := image.InRegistry(e.Spec.Registry, pin.Name); err == nil {
				if _, seen := out[at]; !seen {
					out[at] = pin
				}
			}
		}
	}
	return out
}
