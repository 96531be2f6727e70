package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// childEnv marks the process that does the work under supervise.
const childEnv = "GITOPS_SUPERVISED"

// outOfMemory are what the Go runtime prints when it cannot allocate
// memory (or a thread's stack); it then ends the process with status 2,
// the code of bad input.
var outOfMemory = [][]byte{
	[]byte("runtime: out of memory"), []byte("fatal error: failed to reserve"), []byte("cannot allocate memory"),
	[]byte("pthread_create failed: Resource temporarily unavailable"), []byte("failed to create new OS thread"),
}

// supervise runs the command in a child process and gives the exit codes
// the runtime cannot: out of memory (the runtime's fatal error, or the
// kernel's SIGKILL) is exitMemory, not bad input; an interrupt ends the
// child and the run within interruptGrace. ok is false when this process
// is the child (or supervision is off): run the command here.
func supervise() (code int, ok bool) {
	if os.Getenv(childEnv) != "" || os.Getenv("GITOPS_NO_SUPERVISE") != "" {
		return 0, false
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdin, cmd.Stdout = os.Stdin, os.Stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, false
	}
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		return 0, false
	}
	oom := make(chan bool, 1)
	go func() { oom <- copyWatching(os.Stderr, stderr) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	interrupted := false
	var deadline <-chan time.Time
	for {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
			if !interrupted {
				interrupted = true
				deadline = time.After(interruptGrace)
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			fmt.Fprintln(os.Stderr, "gitops: interrupted")
			return exitInterrupted, true
		case err := <-done:
			sawOOM := <-oom
			var exit *exec.ExitError
			switch {
			case err == nil:
				return exitOK, true
			case !errors.As(err, &exit):
				fmt.Fprintf(os.Stderr, "gitops: %v\n", err)
				return exitError, true
			case sawOOM:
				fmt.Fprintln(os.Stderr, "gitops: out of memory (exit 3): give the run more memory, or fewer --jobs")
				return exitMemory, true
			}
			if st, ok := exit.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				if interrupted {
					return exitInterrupted, true
				}
				if st.Signal() == syscall.SIGKILL {
					fmt.Fprintln(os.Stderr, "gitops: killed (SIGKILL), most likely by the kernel for want of memory (exit 3)")
					return exitMemory, true
				}
				return 128 + int(st.Signal()), true
			}
			return exit.ExitCode(), true
		}
	}
}

// copyWatching copies the child's standard error line by line and reports
// whether the runtime said it ran out of memory.
func copyWatching(w io.Writer, r io.Reader) bool {
	seen := false
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			_, _ = w.Write(line)
			for _, m := range outOfMemory {
				seen = seen || bytes.Contains(line, m)
			}
		}
		if err != nil {
			return seen
		}
	}
}
