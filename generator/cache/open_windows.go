package cache

import "os"

// openEntry opens an entry for reading, refusing a symbolic link (Windows
// has no FIFOs a reader could block on).
func openEntry(p string) (*os.File, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errNotRegular
	}
	return os.Open(p)
}
