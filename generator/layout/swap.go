package layout

import (
	"errors"
	"io/fs"
	"os"
)

// swapByRename moves dir aside, moves tmp in, and leaves the old tree at tmp
// for the caller to remove. On failure it puts dir back.
func swapByRename(tmp, dir string) error {
	aside := tmp + ".old"
	if err := os.Rename(dir, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return os.Rename(tmp, dir)
		}
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.Rename(aside, dir)
		return err
	}
	return os.Rename(aside, tmp)
}
