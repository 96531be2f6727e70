// Package kustomize is the one hardened wrapper around kustomize's krusty
// engine. Builds run on an in-memory filesystem holding only the files the
// caller hands in, with plugins (and so helmCharts, which execs helm)
// disabled, loads restricted to the kustomization root, panics turned into
// errors, and no kustomization allowed to set kyaml's OpenAPI schema: that
// schema is process-global, so one build choosing its own would change what
// concurrent builds merge with. With it fixed to the built-in one, builds run
// concurrently and the schema is parsed once per process.
package kustomize

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// Warm parses kyaml's built-in OpenAPI schema (a third of a second of
// CPU) in the background, so the first strategic merge patch does not wait
// for it on the critical path. Safe to call more than once.
func Warm() {
	warm.Do(func() { go openapi.SchemaForResourceType(kyaml.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}) })
}

var warm sync.Once

// Files is an in-memory tree: slash-separated absolute paths to contents.
type Files map[string][]byte

// Build runs the kustomization in dir over files and returns its objects in
// kustomize's output order. Errors name the in-memory paths, which callers
// lay out to mirror repo paths.
func Build(files Files, dir string) (objs []*manifest.Object, err error) {
	for name := range files {
		if !strings.HasPrefix(name, "/") {
			return nil, fmt.Errorf("kustomize: file path %q must be absolute", name)
		}
	}
	if err := errors.Join(checkKustomizations(files), checkDocuments(files)); err != nil {
		return nil, err
	}
	return buildKrusty(files, dir)
}

// buildKrusty is Build through krusty, on an in-memory filesystem holding
// files.
func buildKrusty(files Files, dir string) (objs []*manifest.Object, err error) {
	fs := filesys.MakeFsInMemory()
	for _, name := range sortedFileNames(files) {
		if err := fs.MkdirAll(path.Dir(name)); err != nil {
			return nil, fmt.Errorf("kustomize: stage %s: %w", name, err)
		}
		if err := fs.WriteFile(name, files[name]); err != nil {
			return nil, fmt.Errorf("kustomize: stage %s: %w", name, err)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			objs, err = nil, fmt.Errorf("kustomize build %s: panic: %v", dir, r)
		}
	}()

	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.AddManagedbyLabel = false
	rm, err := krusty.MakeKustomizer(opts).Run(fs, dir)
	if err != nil {
		if located := locateUnmatchedPatch(files, err); located != nil {
			return nil, located
		}
		return nil, fmt.Errorf("kustomize build %s: %s", repoPath(dir), strings.ReplaceAll(err.Error(), "'/", "'"))
	}
	if err := checkPatchTargets(files, rm); err != nil {
		return nil, err
	}
	for _, res := range rm.Resources() {
		m, err := res.Map()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, res.CurId(), err)
		}
		o, err := manifest.Normalize(&manifest.Object{Object: m})
		if err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
	return objs, nil
}
