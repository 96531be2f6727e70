package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// tuneGC sets the collector for a short-lived command that allocates a lot
// of short-lived YAML: GOGC 120 while the live heap is small, GOGC 250 once
// it passes largeHeap (twice the repo's platform at its largest). A user's
// GOGC or GOMEMLIMIT always wins: with either set, nothing is changed.
//
// The collector's marking costs about the live heap per cycle and a cycle
// comes every GOGC% of it allocated, so its CPU is the bytes allocated
// divided by GOGC: a larger GOGC is the only saving, paid for in peak
// memory (live heap x (1 + GOGC/100)). The repo's platform lives in about
// 25 MB and never reaches the switch; a 1,000-service platform keeps
// 300-600 MB live while it is checked, where GOGC 250 spent a third of the
// marking GOGC 120 did (docs/performance.md).
func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(smallHeapGOGC)
	raiseOnLargeHeap()
}

const (
	smallHeapGOGC = 120
	largeHeapGOGC = 250
	largeHeap     = 64 << 20
)

// raiseOnLargeHeap reads the live heap after collections, from the
// finalizer of an object each collection frees and replaces, and sets GOGC
// 250 the first time it reaches largeHeap; it stops watching then (the heap
// only grows for the rest of a command). Should a finalizer run late, the
// switch comes late: GOGC 120 is the setting the command runs with anyway.
func raiseOnLargeHeap() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() >= largeHeap {
			debug.SetGCPercent(largeHeapGOGC)
			return
		}
		raiseOnLargeHeap()
	})
}

// sentinel is large enough not to share a tiny-allocator block, whose
// finalizers may never run.
type sentinel struct{ _ [32]byte }
