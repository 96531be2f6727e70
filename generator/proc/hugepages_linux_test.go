package proc

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestGrowHeapOnHugePages: the stretches the heap is grown by are advised
// (VmFlags "hg" in /proc/self/smaps) and, once freed, are where the heap's
// next allocations go.
func TestGrowHeapOnHugePages(t *testing.T) {
	if !adviceWanted() {
		t.Skipf("%s is not madvise (or overcommit is strict): nothing to advise", thpSetting)
	}
	const n = 64 << 20
	// With the collector off, only growHeapOnHugePages's own collection
	// can free the slices it grows the heap by.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	advised := growHeapOnHugePages(n)
	total := uintptr(0)
	for _, s := range advised {
		if s.start%hugePage != 0 || s.end%hugePage != 0 || s.end <= s.start {
			t.Fatalf("advised [%#x, %#x): want 2 MiB-aligned, non-empty stretches", s.start, s.end)
		}
		if flags, _ := vma(t, s.start); !strings.Contains(" "+flags+" ", " hg ") {
			t.Fatalf("VmFlags of the stretch at %#x = %q, want hg (MADV_HUGEPAGE)", s.start, flags)
		}
		total += s.end - s.start
	}
	if total < n/2 {
		t.Fatalf("advised %d bytes in %d stretches, want most of %d", total, len(advised), n)
	}
	// The slices that grew the heap are gone, not left for the collector
	// to count against the next cycle.
	objects := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(objects)
	if held := objects[0].Value.Uint64(); held >= n/2 {
		t.Fatalf("heap objects after growing = %d bytes, want the %d bytes that grew it freed", held, n)
	}

	debug.SetGCPercent(100)

	// Allocate past what the heap held before: some of it must land in the
	// stretches rather than in newly mapped memory.
	var keep [][]byte
	inside := 0
	for range 2 * n / (256 << 10) {
		b := make([]byte, 256<<10)
		b[0], b[len(b)-1] = 1, 1
		keep = append(keep, b)
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if slices.ContainsFunc(advised, func(s stretch) bool { return p >= s.start && p < s.end }) {
			inside++
		}
	}
	if inside == 0 {
		t.Fatalf("none of %d allocations of 256 KiB landed in the advised stretches %x", len(keep), advised)
	}
	_, huge := vma(t, advised[0].start)
	t.Logf("%d allocations in the stretches; the first one's mapping holds %d KiB of huge pages", inside, huge)
	runtime.KeepAlive(keep)
}

// vma returns the VmFlags and AnonHugePages (KiB) of the mapping holding
// addr, from /proc/self/smaps.
func vma(t *testing.T, addr uintptr) (flags string, hugeKiB int) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, found := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		field := strings.Fields(line)
		if len(field) > 0 && strings.Contains(field[0], "-") && !strings.HasSuffix(field[0], ":") {
			lo, hi, _ := strings.Cut(field[0], "-")
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uint64(addr) >= l && uint64(addr) < h
			found = found || in
			continue
		}
		if !in {
			continue
		}
		switch {
		case strings.HasPrefix(line, "VmFlags:"):
			flags = strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:"))
		case strings.HasPrefix(line, "AnonHugePages:") && len(field) > 1:
			hugeKiB, _ = strconv.Atoi(field[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no mapping holds %#x", addr)
	}
	return flags, hugeKiB
}
