package servers

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Procs are the servers one run started. Each runs in a process group of
// its own, logs to <dir>/<name>.log, and has its pid appended to PIDFile so
// the script that started the run can stop what a killed test left.
type Procs struct {
	Dir     string
	PIDFile string
	// Grace is how long Stop waits after SIGTERM before SIGKILL (default
	// five seconds).
	Grace time.Duration

	mu   sync.Mutex
	list []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs bin with args and env (added to a minimal environment).
func (p *Procs) Start(name string, env []string, bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	return p.StartCmd(name, cmd)
}

// StartCmd starts a prepared command as Start does: in a process group of
// its own (kept with whatever else its SysProcAttr asks for), logging to
// <dir>/<name>.log, its pid in PIDFile.
func (p *Procs) StartCmd(name string, cmd *exec.Cmd) error {
	log, err := os.Create(filepath.Join(p.Dir, name+".log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	pr := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		pr.err = cmd.Wait()
		log.Close()
		close(pr.done)
	}()
	p.mu.Lock()
	p.list = append(p.list, pr)
	p.mu.Unlock()
	if p.PIDFile != "" {
		f, err := os.OpenFile(p.PIDFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := fmt.Fprintln(f, cmd.Process.Pid); err != nil {
			return err
		}
	}
	return nil
}

// Pid returns the process id of the process started under name (0 when
// none is).
func (p *Procs) Pid(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.list {
		if pr.name == name {
			return pr.cmd.Process.Pid
		}
	}
	return 0
}

// Exited returns the names of the started processes that have exited,
// each with its error.
func (p *Procs) Exited() map[string]error {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]error{}
	for _, pr := range p.list {
		select {
		case <-pr.done:
			out[pr.name] = pr.err
		default:
		}
	}
	return out
}

// Dead returns an error naming the first started process that has exited,
// with the end of its log.
func (p *Procs) Dead() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.list {
		select {
		case <-pr.done:
			return fmt.Errorf("%s exited (%v); its log ends:\n%s", pr.name, pr.err, p.Tail(pr.name, 20))
		default:
		}
	}
	return nil
}

// Tail returns the last n lines of a process's log.
func (p *Procs) Tail(name string, n int) string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, name+".log"))
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// Stop sends SIGTERM to every process group, waits up to Grace, then
// SIGKILLs what is left; it returns the names of those killed hard.
func (p *Procs) Stop() []string {
	p.mu.Lock()
	list := append([]*proc(nil), p.list...)
	p.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		_ = syscall.Kill(-list[i].cmd.Process.Pid, syscall.SIGTERM)
	}
	grace := p.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	expired := false
	var killed []string
	for _, pr := range list {
		if !expired {
			select {
			case <-pr.done:
				continue
			case <-deadline.C:
				expired = true
			}
		}
		// Past the grace time every process still running is killed
		// (the timer fires once: waiting on it again would hang).
		select {
		case <-pr.done:
			continue
		default:
		}
		_ = syscall.Kill(-pr.cmd.Process.Pid, syscall.SIGKILL)
		<-pr.done
		killed = append(killed, pr.name)
	}
	return killed
}

// FreePort returns a loopback TCP port nobody listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitTCP waits until something accepts connections on 127.0.0.1:port, or
// a process of p dies, or the timeout passes.
func (p *Procs) WaitTCP(port int, timeout time.Duration) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if err := p.Dead(); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("nothing listens on " + addr + " after " + timeout.String())
}

// PeakRSS returns each running process's peak resident set (VmHWM) in
// MiB, by name.
func (p *Procs) PeakRSS() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, pr := range p.list {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pr.cmd.Process.Pid))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
				out[pr.name] = kb / 1024
			}
		}
	}
	return out
}
