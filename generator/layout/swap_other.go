//go:build !linux

package layout

// swap puts the tree at tmp in place of dir (two renames where the system
// has no atomic exchange).
func swap(tmp, dir string) error { return swapByRename(tmp, dir) }
