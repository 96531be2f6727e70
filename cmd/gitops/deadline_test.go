package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/libertum/platform-gitops/internal/platformtest"
)

// TestEndlessPolicyHitsTheDeadline: a policy that would run for hours
// fails verify and policy check within the deadline, naming that policy
// file (and not the others) and the object it was stuck on, with exit 2.
func TestEndlessPolicyHitsTheDeadline(t *testing.T) {
	root := platformtest.Small(t)
	endless := `package libertum.endless

import rego.v1

deny contains "never" if {
	input.kind == "Deployment"
	some i in numbers.range(1, 200000)
	some j in numbers.range(1, 200000)
	i == j + 300000
}
`
	if err := os.WriteFile(filepath.Join(root, "policies", "endless.rego"), []byte(endless), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"verify", "--root", root, "--no-cache", "--env", "dev", "--policy-timeout", "1s"},
		{"policy", "check", "--root", root, "--env", "dev", "--policy-timeout", "1s", filepath.Join(root, "rendered", "dev")},
	} {
		start := time.Now()
		code, _, stderr := gitops(t, args...)
		if code != exitError || !strings.Contains(stderr, "did not finish within 1s") || !strings.Contains(stderr, "endless.rego") {
			t.Errorf("%s: exit %d, want 2 naming the deadline and the policy files:\n%s", args[0], code, stderr)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("%s: took %s; the deadline did not stop the evaluation", args[0], took)
		}
	}
}

// TestInterruptStopsWithinTwoSeconds: Ctrl-C ends a command whose work
// does not stop by itself (a policy that never ends) within two seconds,
// with exit 130, and leaves rendered/ as it was.
func TestInterruptStopsWithinTwoSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "gitops")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	root := platformtest.Small(t)
	endless := "package libertum.endless\n\nimport rego.v1\n\ndeny contains \"never\" if {\n\tinput.kind == \"Deployment\"\n\tsome i in numbers.range(1, 2000000)\n\tsome j in numbers.range(1, 2000000)\n\ti == j + 3000000\n}\n"
	if err := os.WriteFile(filepath.Join(root, "policies", "endless.rego"), []byte(endless), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "verify", "--root", root, "--no-cache", "--env", "dev", "--policy-timeout", "10m")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("verify still runs 10s after the interrupt")
	}
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Errorf("verify took %s to stop after the interrupt, want 2s at most", took)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit %d, want %d\n%s", code, exitInterrupted, stderr.String())
	}
}

// TestOutOfMemoryHasItsOwnCode: a run that runs out of memory ends with
// exit 3, not 2 (bad input). The process doing the work (the supervised
// child) is given no more address space once it has started.
func TestOutOfMemoryHasItsOwnCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "gitops")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "verify", "--root", repoRoot, "--no-cache")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := 0
	for end := time.Now().Add(10 * time.Second); child == 0 && time.Now().Before(end); time.Sleep(time.Millisecond) {
		// Any thread of the supervisor may have forked it.
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", cmd.Process.Pid))
		for _, task := range tasks {
			b, _ := os.ReadFile(task)
			var pid int
			fmt.Sscan(string(b), &pid)
			// Limit it once it runs: a limit set between fork and exec
			// kills the exec (SIGSEGV), which is not the run's memory.
			if pid != 0 && running(pid, bin) {
				child = pid
			}
		}
	}
	if child == 0 {
		cmd.Process.Kill()
		t.Fatal("no supervised child appeared")
	}
	if err := unix.Prlimit(child, unix.RLIMIT_AS, &unix.Rlimit{Cur: 1, Max: 1}, nil); err != nil {
		cmd.Process.Kill()
		t.Skip("cannot limit the child here:", err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitMemory || !strings.Contains(out.String(), "out of memory") {
		t.Fatalf("verify starved of memory: %v, want exit %d saying out of memory\n%s", err, exitMemory, tail(out.String()))
	}
}

// running says whether pid has exec'd bin and its Go runtime has started
// the threads it starts before main.
func running(pid int, bin string) bool {
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != bin {
		return false
	}
	threads, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	return len(threads) >= 3
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
