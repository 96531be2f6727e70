//go:build !linux

package proc

// growHeapOnHugePages is Linux's; elsewhere the heap grows as the runtime
// decides.
func growHeapOnHugePages(int) []stretch { return nil }
