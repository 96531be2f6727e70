//go:build !linux

package layout

import (
	"io/fs"
	"os"
	"path/filepath"
)

// swap puts the tree at tmp in place of dir (two renames where the system
// has no atomic exchange).
func swap(tmp, dir string) error { return swapByRename(tmp, dir) }

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
