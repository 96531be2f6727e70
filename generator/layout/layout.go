// Package layout owns the rendered/ tree: where each object's file goes, and
// replacing the tree atomically, so a reader (or a failed run) only ever sees
// the old tree or the new one, never a mix.
package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Dir is the rendered tree's folder under the repo root.
const Dir = "rendered"

// File is one rendered file; Path is relative to the rendered tree and
// slash-separated: <env>/<stamp>/<component>/<file>.
type File struct {
	Path string
	Data []byte
}

// Sort orders files by path, as every list of rendered files is ordered.
func Sort(files []File) {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
}

// Unit identifies one rendered unit: a component of one stamp of one
// environment, or an environment-wide folder (Stamp empty, as bootstrap/).
// It is the one type that names a unit; the path grammar
// <env>[/<stamp>]/<component>/<file> is built and parsed only here.
type Unit struct {
	Env       string `json:"environment"`
	Stamp     string `json:"stamp,omitempty"`
	Component string `json:"component,omitempty"`
}

// String is the unit's folder: env/stamp/component (env/component for an
// environment-wide unit).
func (u Unit) String() string { return u.Dir() }

// Dir returns the unit's folder within the rendered tree.
func (u Unit) Dir() string {
	if u.Stamp == "" {
		return path.Join(u.Env, u.Component)
	}
	return path.Join(u.Env, u.Stamp, u.Component)
}

// File returns the path of one of the unit's files within the rendered tree.
func (u Unit) File(name string) string { return path.Join(u.Dir(), name) }

// Less orders units by environment, stamp and component.
func (u Unit) Less(v Unit) bool {
	if u.Env != v.Env {
		return u.Env < v.Env
	}
	if u.Stamp != v.Stamp {
		return u.Stamp < v.Stamp
	}
	return u.Component < v.Component
}

// Parse splits a path within the rendered tree into its unit and file name:
// env/stamp/component/file, or env/component/file for an environment-wide
// unit. ok is false for any other shape.
func Parse(p string) (u Unit, file string, ok bool) {
	parts := strings.Split(p, "/")
	for _, s := range parts {
		if s == "" || s == "." || s == ".." {
			return Unit{}, "", false
		}
	}
	switch len(parts) {
	case 4:
		return Unit{Env: parts[0], Stamp: parts[1], Component: parts[2]}, parts[3], true
	case 3:
		return Unit{Env: parts[0], Component: parts[1]}, parts[2], true
	}
	return Unit{}, "", false
}

// Env returns the environment a path within the rendered tree belongs to:
// its first element.
func Env(p string) string {
	env, _, _ := strings.Cut(p, "/")
	return env
}

// RepoPath returns a rendered-tree path as seen from the repo root
// (rendered/<p>), as reports name files.
func RepoPath(p string) string { return path.Join(Dir, p) }

// FromRepoPath is the inverse of RepoPath: ok is false for a repo path
// outside the rendered tree.
func FromRepoPath(p string) (string, bool) {
	return strings.CutPrefix(p, Dir+"/")
}

// Read returns the files under dir (the rendered tree) limited to the given
// environments (all when envs is empty), sorted by path.
//
// The files are read by several goroutines: a large tree is tens of
// thousands of small files, and each open and read waits on the kernel
// (one goroutine read 33,000 files in 0.35 s, most of it in system calls).
func Read(dir string, envs []string) ([]File, error) {
	keep := map[string]bool{}
	for _, e := range envs {
		keep[e] = true
	}
	var out []File
	var paths []string
	err := walk(dir, func(env string) bool { return len(keep) == 0 || keep[env] }, func(rel, p string, _ fs.DirEntry) error {
		out = append(out, File{Path: rel})
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// readers goroutines take the files in turn, each reading into its
	// own scratch buffer; the first error in path order is reported.
	errs := make([]error, len(out))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(readers, len(out)) {
		wg.Go(func() {
			buf := make([]byte, readBuffer)
			for i := int(next.Add(1) - 1); i < len(out); i = int(next.Add(1) - 1) {
				out[i].Data, errs[i] = readFile(paths[i], buf)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
	}
	Sort(out)
	return out, nil
}

// readers is how many files Read reads at once, each reader with a
// scratch buffer of readBuffer bytes (a rendered file is a few KB).
const (
	readers    = 8
	readBuffer = 64 << 10
)

// walk calls fn for each file under dir whose environment (first path
// element) want accepts, with its slash-separated relative path, never
// entering the folders of the others. A missing dir holds nothing.
func walk(dir string, want func(env string) bool, fn func(rel, p string, d fs.DirEntry) error) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && !strings.Contains(rel, "/") && !want(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !want(Env(rel)) {
			return nil
		}
		return fn(rel, p, d)
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	return nil
}

// Replace makes dir hold exactly files for the environments in envs, keeping
// the other environments' folders as they were. Files no longer produced are
// pruned. The new tree is built beside dir and swapped in with one atomic
// exchange; if anything fails before the swap, dir is untouched. Files the
// new tree holds unchanged, and the other environments' files, are hard
// links to the old tree's (see writeAll).
func Replace(dir string, envs []string, files []File) error {
	rendered := map[string]bool{}
	for _, e := range envs {
		rendered[e] = true
	}
	for _, f := range files {
		if err := checkRel(f.Path); err != nil {
			return err
		}
		if !rendered[Env(f.Path)] {
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

	// Keep what this run does not own: other environments, and files at
	// the top (a file's Env is its own name), linked from the old tree; the
	// rendered environments' folders are not even listed.
	keep := func(env string) bool { return !rendered[env] || !isDir(filepath.Join(dir, env)) }
	w := newWriter(tmp)
	err = walk(dir, keep, func(rel, p string, d fs.DirEntry) error {
		if d.Type().IsRegular() {
			if linked, err := w.link(rel, p); linked || err != nil {
				return err
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return w.write(File{Path: rel, Data: b})
	})
	if err != nil {
		return err
	}
	prev := ""
	if isDir(dir) {
		prev = dir
	}
	if err := w.writeAll(prev, files); err != nil {
		return err
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

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// writeAll writes the files under the writer's root, each one the
// previous tree at prev (if any) holds with the same bytes as a hard link to
// it: no new inode is allocated for it, and removing the previous tree
// afterwards frees none. A re-render of a large platform changes few of its
// tens of thousands of files, and on the CI machine's ext4 creating and
// freeing inodes, not writing bytes, is what takes the time (ext4 skips
// recently freed inodes when it allocates one, so a tree created right
// after one was removed is slower still). One file at a time: four writers
// at once spent four times the kernel CPU (creating files in one tree
// contends) for no shorter wall time.
func (w *writer) writeAll(prev string, files []File) error {
	for _, f := range files {
		if prev != "" {
			old := filepath.Join(prev, filepath.FromSlash(f.Path))
			if same(old, f.Data) {
				linked, err := w.link(f.Path, old)
				if err != nil {
					return err
				}
				if linked {
					continue
				}
			}
		}
		if err := w.write(f); err != nil {
			return err
		}
	}
	return nil
}

// same reports whether the regular file at p holds exactly data, with the
// mode write gives.
func same(p string, data []byte) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != fileMode || st.Size() != int64(len(data)) {
		return false
	}
	b := make([]byte, len(data)+1)
	n, _ := io.ReadFull(f, b)
	return n == len(data) && bytes.Equal(b[:n], data)
}

const fileMode = 0o644

// writer builds a tree under root, making each folder once: the files
// arrive sorted, a folder's together, so asking the file system whether
// the folder exists for each of them (os.MkdirAll) was one stat a file.
type writer struct {
	root string
	made map[string]bool
}

func newWriter(root string) *writer { return &writer{root: root, made: map[string]bool{}} }

// link makes root/rel a hard link to the file old; false, with no error,
// when the file system refuses the link (the caller writes the file).
func (w *writer) link(rel, old string) (bool, error) {
	p, err := w.mkdirFor(rel)
	if err != nil {
		return false, err
	}
	return os.Link(old, p) == nil, nil
}

// write creates root/<f.Path> holding f.Data.
func (w *writer) write(f File) error {
	p, err := w.mkdirFor(f.Path)
	if err != nil {
		return err
	}
	return os.WriteFile(p, f.Data, fileMode)
}

// mkdirFor makes the folder of root/rel, once, and returns the file's path.
func (w *writer) mkdirFor(rel string) (string, error) {
	p := filepath.Join(w.root, filepath.FromSlash(rel))
	dir := filepath.Dir(p)
	if !w.made[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		w.made[dir] = true
	}
	return p, nil
}

// Tree is a rendered tree read into memory, indexed by unit.
type Tree struct {
	files  []File
	byUnit map[Unit][]File
}

// ReadTree reads the whole rendered tree under dir (an absent dir is an
// empty tree).
func ReadTree(dir string) (*Tree, error) {
	files, err := Read(dir, nil)
	if err != nil {
		return nil, err
	}
	t := &Tree{files: files, byUnit: map[Unit][]File{}}
	for _, f := range files {
		if u, _, ok := Parse(f.Path); ok {
			t.byUnit[u] = append(t.byUnit[u], f)
		}
	}
	return t, nil
}

// Unit returns the files of one unit, sorted by path (nil when the tree
// does not hold it).
func (t *Tree) Unit(u Unit) []File { return t.byUnit[u] }

// Files returns the files of the given environments (all when envs is
// empty), sorted by path.
func (t *Tree) Files(envs []string) []File {
	if len(envs) == 0 {
		return t.files
	}
	keep := map[string]bool{}
	for _, e := range envs {
		keep[e] = true
	}
	var out []File
	for _, f := range t.files {
		if keep[Env(f.Path)] {
			out = append(out, f)
		}
	}
	return out
}
