// Package layout owns the rendered/ tree: where each object's file goes, and
// replacing the tree atomically, so a reader (or a failed run) only ever sees
// the old tree or the new one, never a mix.
package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Dir is the rendered tree's folder under the repo root.
const Dir = "rendered"

// File is one rendered file; Path is relative to the rendered tree and
// slash-separated: <env>/<stamp>/<component>/<file>.
type File struct {
	Path string
	Data []byte
}

// Path returns the path of an object file within the rendered tree.
func Path(env, stamp, component, file string) string {
	return path.Join(env, stamp, component, file)
}

// ComponentDir returns the folder of one rendered component.
func ComponentDir(env, stamp, component string) string {
	return path.Join(env, stamp, component)
}

// Read returns the files under dir (the rendered tree) limited to the given
// environments (all when envs is empty), sorted by path.
func Read(dir string, envs []string) ([]File, error) {
	keep := map[string]bool{}
	for _, e := range envs {
		keep[e] = true
	}
	var out []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		env, _, _ := strings.Cut(rel, "/")
		if len(keep) > 0 && !keep[env] {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, File{Path: rel, Data: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Replace makes dir hold exactly files for the environments in envs, keeping
// the other environments' folders as they were. Files no longer produced are
// pruned. The new tree is built beside dir and swapped in with one atomic
// exchange; if anything fails before the swap, dir is untouched.
func Replace(dir string, envs []string, files []File) error {
	rendered := map[string]bool{}
	for _, e := range envs {
		rendered[e] = true
	}
	for _, f := range files {
		if err := checkRel(f.Path); err != nil {
			return err
		}
		env, _, _ := strings.Cut(f.Path, "/")
		if !rendered[env] {
			return fmt.Errorf("write %s: file %s is outside the environments being rendered", dir, f.Path)
		}
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // after the swap it holds the old tree
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}

	// Keep what this run does not own: other environments, and files at the top.
	old, err := Read(dir, nil)
	if err != nil {
		return err
	}
	for _, f := range old {
		env, _, nested := strings.Cut(f.Path, "/")
		if nested && rendered[env] {
			continue
		}
		if err := writeFile(tmp, f); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := writeFile(tmp, f); err != nil {
			return err
		}
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := swap(tmp, dir); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	return nil
}

func checkRel(p string) error {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
		return fmt.Errorf("rendered file path %q is not a clean relative path", p)
	}
	return nil
}

func writeFile(root string, f File) error {
	p := filepath.Join(root, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, f.Data, 0o644)
}

// syncDir flushes every file in the tree so the swap never exposes files
// whose contents are still only in the page cache.
func syncDir(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fh, err := os.Open(p)
		if err != nil {
			return err
		}
		defer fh.Close()
		return fh.Sync()
	})
}

// Equal reports whether two sorted file lists hold the same paths and bytes.
func Equal(a, b []File) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}
