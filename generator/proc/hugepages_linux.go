package proc

import (
	"bytes"
	"cmp"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on amd64 and arm64 (with
// 4 KiB base pages).
const hugePage = 2 << 20

// thpSetting is where Linux says when it backs anonymous memory with huge
// pages: "always", "madvise" (only where a process asked) or "never".
const thpSetting = "/sys/kernel/mm/transparent_hugepage/enabled"

// piece is the size of the allocations the heap is grown by: large enough
// to be spans of their own, small enough that little is lost when one
// starts in pages the heap used before (the runtime then zeroes the whole
// span, faulting in its fresh part on small pages).
const piece = 4 << 20

// growHeapOnHugePages has the runtime map up to limit bytes of fresh heap
// and asks the kernel to back them with 2 MiB pages (MADV_HUGEPAGE), then
// lets them go: a large platform's heap grows into them, one fault per
// 2 MiB instead of one per 4 KiB. It does nothing unless the kernel gives
// huge pages only on request (THP "madvise", as on the CI machine: with
// "always" they come anyway, with "never" not at all), maps at most a
// quarter of the machine's memory, and nothing where mapped but untouched
// memory still counts against a limit (adviceWanted).
//
// The heap is grown by allocating byte slices with the collector off: the
// runtime maps fresh arena space for them and does not touch it (fresh
// pages are known to be zero), so they cost address space, not memory.
// Advice lasts as long as the mapping, which the runtime never replaces
// (it returns memory with MADV_DONTNEED); freed pages are reused before
// the heap maps more. The collection at the end frees the slices and puts
// the collector's pacing back on the live heap.
func growHeapOnHugePages(limit int) []stretch {
	if !adviceWanted() {
		return nil
	}
	n := limit
	var info unix.Sysinfo_t
	if unix.Sysinfo(&info) == nil {
		if quarter := uint64(info.Totalram) * uint64(info.Unit) / 4; quarter < uint64(n) {
			n = int(quarter)
		}
	}
	if n < piece {
		return nil
	}
	gogc := debug.SetGCPercent(-1)
	pieces := make([][]byte, 0, n/piece)
	for range n / piece {
		pieces = append(pieces, make([]byte, piece))
	}
	var advised []stretch
	for _, s := range contiguous(pieces) {
		start := (s.start + hugePage - 1) &^ (hugePage - 1)
		end := s.end &^ (hugePage - 1)
		if start >= end {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_HUGEPAGE); errno == 0 {
			advised = append(advised, stretch{start, end})
		}
	}
	runtime.KeepAlive(pieces) // their last use: the collection below frees them
	debug.SetGCPercent(gogc)
	runtime.GC()
	return advised
}

// contiguous merges the pieces' address ranges into runs of adjacent ones.
func contiguous(pieces [][]byte) []stretch {
	var runs []stretch
	for _, p := range pieces {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		runs = append(runs, stretch{start, start + uintptr(len(p))})
	}
	slices.SortFunc(runs, func(a, b stretch) int { return cmp.Compare(a.start, b.start) })
	out := runs[:0]
	for _, r := range runs {
		if last := len(out) - 1; last >= 0 && out[last].end == r.start {
			out[last].end = r.end
			continue
		}
		out = append(out, r)
	}
	return out
}

// adviceWanted reports whether huge pages come only on request and
// mapping untouched memory is not charged against a limit: strict
// overcommit, or a cap on the process's address space (ulimit -v), under
// which the runtime would fail to map the heap and end the process.
func adviceWanted() bool {
	thp, err := os.ReadFile(thpSetting)
	if err != nil || !bytes.Contains(thp, []byte("[madvise]")) {
		return false
	}
	var as unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_AS, &as) != nil || as.Cur != unix.RLIM_INFINITY {
		return false
	}
	overcommit, err := os.ReadFile("/proc/sys/vm/overcommit_memory")
	return err == nil && string(bytes.TrimSpace(overcommit)) != "2"
}
