// Package proc profiles the gitops process itself: an optional CPU and
// allocation profile of a whole run.
package proc

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// ProfileEnv names a file to write a CPU profile of the whole command to,
// for finding where a slow run spends its time.
const ProfileEnv = "GITOPS_CPUPROFILE"

// AllocProfileEnv names a file to write an allocation profile of the whole
// command to (every allocation since start, sampled as Go does by default),
// for finding what makes the collector and fresh memory cost what they do.
const AllocProfileEnv = "GITOPS_ALLOCPROFILE"

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
