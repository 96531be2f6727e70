package action

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/libertum/platform-gitops/generator/spec"
)

// Image is one image an environment runs: built by CI (in-house, tagged
// with its commit) or third party, imported into the environment's ACR by
// digest from its upstream source.
type Image struct {
	Components []string `json:"components"`
	Name       string   `json:"name"`
	Tag        string   `json:"tag"`
	InHouse    bool     `json:"inHouse"`
	// Ref is the image as pods pull it: from the environment's registry.
	Ref      string `json:"ref"`
	Upstream string `json:"upstream,omitempty"`
	Digest   string `json:"digest,omitempty"`
	// Import is the az acr import command that brings a third-party image
	// into the registry by digest.
	Import string `json:"import,omitempty"`
	// Problem says why a third-party image cannot be imported.
	Problem string `json:"problem,omitempty"`
}

// Images lists an environment's images.
type Images struct {
	*Config
	Env string
}

// Run reads the environment file's images, third party first in the
// order az should import them (by name), in-house after.
func (im *Images) Run(_ context.Context) ([]Image, error) {
	e, err := im.Workspace().Environment(im.Env)
	if err != nil {
		return nil, err
	}
	return ImagesOf(e), nil
}

// ImagesOf lists an environment's images, one entry per name and tag.
func ImagesOf(e *spec.Environment) []Image {
	byRef := map[string]*Image{}
	for _, c := range e.ComponentNames() {
		for _, i := range e.Spec.Components[c].Images {
			key := i.Name + ":" + i.Tag
			if x, ok := byRef[key]; ok {
				x.Components = append(x.Components, c)
				continue
			}
			img := &Image{Components: []string{c}, Name: i.Name, Tag: i.Tag, InHouse: spec.InHouse(i.Name),
				Ref: e.Spec.Registry + "/" + i.Name + ":" + i.Tag, Upstream: i.Upstream, Digest: i.Digest()}
			if strings.HasPrefix(i.Tag, "sha256:") {
				img.Ref = e.Spec.Registry + "/" + i.Name + "@" + i.Tag
			}
			if !img.InHouse {
				img.Problem = spec.ImportProblem(i)
				if img.Problem == "" {
					target := i.Name + ":" + i.Version()
					if i.Version() == "" {
						target = i.Name + ":" + strings.TrimPrefix(img.Digest, "sha256:")[:12]
					}
					img.Import = fmt.Sprintf("az acr import --name %s --source %s@%s --image %s --force",
						strings.Split(e.Spec.Registry, ".")[0], i.Upstream, img.Digest, target)
				}
			}
			byRef[key] = img
		}
	}
	out := make([]Image, 0, len(byRef))
	for _, img := range byRef {
		out = append(out, *img)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].InHouse != out[j].InHouse {
			return !out[i].InHouse
		}
		return out[i].Name+out[i].Tag < out[j].Name+out[j].Tag
	})
	return out
}
