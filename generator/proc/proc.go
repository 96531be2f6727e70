// Package proc tunes the gitops process itself: the garbage collector of a
// short-lived command, and an optional CPU profile of a whole run.
package proc

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
)

// ProfileEnv names a file to write a CPU profile of the whole command to,
// for finding where a slow run spends its time.
const ProfileEnv = "GITOPS_CPUPROFILE"

// TuneGC trades memory for time: a render allocates a lot of short-lived
// YAML, and with the default GOGC the collector took a third of the CPU of
// a cold verify. gitops is a short-lived command, so the collector runs only
// when the heap nears a soft limit well under the 1 GiB a 1,000-component
// platform may use (the repo's own platform stays far below it and never
// collects). GOGC and GOMEMLIMIT, when set, win.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(768 << 20)
	}
}

// StartProfile profiles the CPU into the file $GITOPS_CPUPROFILE names, if
// any; stop ends the profile.
func StartProfile() (stop func()) {
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
