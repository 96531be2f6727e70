// Package proc tunes the gitops process itself: the garbage collector of a
// short-lived command, and an optional CPU profile of a whole run.
package proc

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
)

// ProfileEnv names a file to write a CPU profile of the whole command to,
// for finding where a slow run spends its time.
const ProfileEnv = "GITOPS_CPUPROFILE"

// AllocProfileEnv names a file to write an allocation profile of the whole
// command to (every allocation since start, sampled as Go does by default),
// for finding what makes the collector and fresh memory cost what they do.
const AllocProfileEnv = "GITOPS_ALLOCPROFILE"

// TuneGC sets the collector for a short-lived command that allocates a lot
// of short-lived YAML: GOGC 120 while the live heap is small, GOGC 250 once
// it passes 64 MiB (twice the repo's platform at its largest), and no soft
// limit. GOGC and GOMEMLIMIT, when set, win.
//
// The collector's marking costs about the live heap per cycle and a cycle
// comes every GOGC% of it allocated, so its CPU is the bytes allocated
// divided by GOGC, whatever the heap's size: a larger GOGC is the only
// saving, paid for in peak memory (live heap x (1 + GOGC/100)).
//   - The repo's platform lives in about 25 MB. Measured on the 2-core CI
//     machine, an earlier setting that turned the collector off below a
//     768 MiB limit made its cold verify slower (1.65 s against 0.9 s,
//     median of 5): every allocation touched fresh memory the kernel had to
//     fault in and zero, and peak RSS was 580 MB against 185 MB (110 MB of
//     which is the binary's own mapped pages). GOGC 120 keeps it small.
//   - A 1,000-service platform keeps 300-600 MB live while it is checked;
//     there GOGC 120 spent 15% of verify's CPU marking, GOGC 400 a third of
//     that. But memory the heap grows into is not free either: each fresh
//     4 KiB page costs a fault, about 15 us on the CI machine and more when
//     its host is busy, and GOGC 400 let the heap grow to 1.5 GB. GOGC 250
//     took 60,000-100,000 faults off a 1,000 x 3 verify and was faster in
//     every one of five rounds interleaved with GOGC 400 (by 0.2-1.5 s of
//     8-11 s; GOGC 200 and 300 alike, 120 slower again). The switch comes
//     early: a render's heap grows all along, and every cycle below the
//     threshold is one more at GOGC 120.
//
// A soft limit below a large platform's live heap would make the collector
// run without pause, so there is none.
//
// Past largeHeap the heap also grows onto huge pages, on Linux where the
// kernel gives them on request (growHeapOnHugePages): most of a fresh
// page's cost on the CI machine is its fault. A 1,000 x 3 verify took
// 300,000-350,000 faults and 15-16 s of CPU on 4 KiB pages, 45,000 and
// 11-13 s on 2 MiB ones.
func TuneGC() {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(smallHeapGOGC)
	raiseOnLargeHeap()
}

const (
	smallHeapGOGC = 120
	largeHeapGOGC = 250
	largeHeap     = 64 << 20
	// hugeHeap is how much of a large platform's heap is put on huge
	// pages: a 1,000-service platform's verify peaks at 1.1-1.4 GB.
	hugeHeap = 2 << 30
)

// raiseOnLargeHeap reads the live heap after every collection, from the
// finalizer of an object each collection replaces, and sets GOGC 250 the
// first time it reaches largeHeap, then grows the heap onto huge pages; it
// stops watching then (the heap only grows for the rest of a command).
func raiseOnLargeHeap() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() >= largeHeap {
			debug.SetGCPercent(largeHeapGOGC)
			growHeapOnHugePages(hugeHeap)
			return
		}
		raiseOnLargeHeap()
	})
}

// stretch is a range of the heap advised onto huge pages, [start, end).
type stretch struct{ start, end uintptr }

// sentinel is large enough not to share a tiny-allocator block, whose
// finalizers may never run.
type sentinel struct{ _ [32]byte }

// StartProfile profiles the CPU into the file $GITOPS_CPUPROFILE names, if
// any; stop ends the profile and writes the allocation profile
// $GITOPS_ALLOCPROFILE names, if any.
func StartProfile() (stop func()) {
	stopCPU := startCPUProfile()
	return func() {
		stopCPU()
		writeAllocProfile()
	}
}

func startCPUProfile() (stop func()) {
	file := os.Getenv(ProfileEnv)
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gitops: %s: %v\n", ProfileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

func writeAllocProfile() {
	file := os.Getenv(AllocProfileEnv)
	if file == "" {
		return
	}
	// The profile holds what the last completed collection saw; one more
	// brings in every allocation up to the end of the command.
	runtime.GC()
	f, err := os.Create(file)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gitops: %s: %v\n", AllocProfileEnv, err)
	}
}
