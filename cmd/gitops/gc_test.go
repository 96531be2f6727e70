package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// gcPercent reads the current GOGC.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestTuneGCRaisesGOGCForALargeHeap: GOGC 120 with a small heap, 250 once
// the live heap passes largeHeap.
func TestTuneGCRaisesGOGCForALargeHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(gcPercent())
	tuneGC()
	runtime.GC()
	if p := gcPercent(); p != smallHeapGOGC {
		t.Fatalf("GOGC with a small heap = %d, want %d", p, smallHeapGOGC)
	}
	live := make([][]byte, 0, 64)
	for range 64 {
		live = append(live, make([]byte, (largeHeap+(64<<20))/64))
	}
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() != largeHeapGOGC {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC with %d MiB live = %d, want %d", largeHeap>>20+64, gcPercent(), largeHeapGOGC)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(live)
}

// TestTuneGCLeavesTheUsersSettings: GOGC or GOMEMLIMIT from the
// environment wins; the collector keeps what the runtime read from them.
func TestTuneGCLeavesTheUsersSettings(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv(env, "150")
			defer debug.SetGCPercent(gcPercent())
			debug.SetGCPercent(150)
			tuneGC()
			if p := gcPercent(); p != 150 {
				t.Fatalf("GOGC = %d with %s set, want 150 untouched", p, env)
			}
		})
	}
}
