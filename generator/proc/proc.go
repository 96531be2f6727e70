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

// TuneGC sets the collector for a short-lived command that allocates a lot
// of short-lived YAML: GOGC 120, a little more headroom than the default,
// and no soft limit. An earlier setting turned the percentage trigger off
// below a 768 MiB limit; measured on the 2-core CI machine that made a cold
// verify of the repo's platform slower, not faster (1.65 s against 0.9 s,
// median of 5): every allocation touched fresh memory the kernel had to
// fault in and zero, and peak RSS was 580 MB against 185 MB (110 MB of which
// is the binary's own mapped pages; the live heap is about 25 MB). A soft
// limit below a large platform's live heap makes the collector run without
// pause, so there is none. GOGC and GOMEMLIMIT, when set, win.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(120)
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
