// Package source reads the repo's component sources (base/ and overlays/)
// into memory once, so every render sees the same bytes and nothing outside
// those folders.
package source

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Kind of a component source.
type Kind int

// Source kinds.
const (
	None      Kind = iota
	Kustomize      // a folder with kustomization.yaml
	Chart          // a folder with Chart.yaml
)

// String names the kind as plans and the bench do.
func (k Kind) String() string {
	switch k {
	case Kustomize:
		return "kustomize"
	case Chart:
		return "chart"
	}
	return "none"
}

// Repo holds the files of the source folders, keyed by repo-relative
// slash path.
type Repo struct {
	files map[string][]byte
}

// Read loads the folders of bases (which must exist) and of overlays
// (which may not), repo-relative, under root. Symlinks are refused: a
// source must not reach outside the repo.
func Read(root, bases, overlays string) (*Repo, error) {
	r := &Repo{files: map[string][]byte{}}
	for _, dir := range []string{bases, overlays} {
		top := filepath.Join(root, dir)
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if dir == overlays && p == top && os.IsNotExist(err) {
					return filepath.SkipDir
				}
				return err
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s: symlinks are not allowed in component sources", p)
			}
			if d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			r.files[filepath.ToSlash(rel)] = b
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read sources: %w", err)
		}
	}
	return r, nil
}

// Files returns the files under dir (repo-relative), keyed by their path
// relative to dir.
func (r *Repo) Files(dir string) map[string][]byte {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	out := map[string][]byte{}
	for p, b := range r.files {
		if strings.HasPrefix(p, prefix) {
			out[strings.TrimPrefix(p, prefix)] = b
		}
	}
	return out
}

// Has reports whether the repo-relative file exists.
func (r *Repo) Has(p string) bool {
	_, ok := r.files[p]
	return ok
}

// KindOf tells what the repo-relative folder dir holds.
func (r *Repo) KindOf(base string) Kind {
	switch {
	case r.Has(base + "/Chart.yaml"):
		return Chart
	case r.Has(base + "/kustomization.yaml"):
		return Kustomize
	}
	return None
}
