package servers

import (
	"slices"
	"testing"
	"time"
)

// TestStopKillsEveryStubbornProcess: processes that ignore SIGTERM are
// killed once the grace time is over — every one of them, not only the
// first (the grace timer fires once), and Stop names them; one that exits
// on SIGTERM is not in the list.
func TestStopKillsEveryStubbornProcess(t *testing.T) {
	p := &Procs{Dir: t.TempDir(), Grace: 300 * time.Millisecond}
	for _, name := range []string{"polite", "stubborn-1", "stubborn-2"} {
		script := "trap '' TERM; sleep 30 & wait; sleep 30"
		if name == "polite" {
			script = "exec sleep 30"
		}
		if err := p.Start(name, nil, "/bin/sh", "-c", script); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the traps are set
	done := make(chan []string, 1)
	go func() { done <- p.Stop() }()
	select {
	case killed := <-done:
		slices.Sort(killed)
		if !slices.Equal(killed, []string{"stubborn-1", "stubborn-2"}) {
			t.Errorf("killed %v, want the two that ignore SIGTERM", killed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop still waits for a process that ignores SIGTERM")
	}
}
