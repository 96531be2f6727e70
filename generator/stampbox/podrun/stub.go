package podrun

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Stub is what a container does whose program cannot run here (Loki,
// promtail and Grafana are AGPL and not to be used; MongoDB and Kafka have
// no package; our own services have no image): it holds the files the
// program reads and writes to what the program would (package programs
// says which, and what it accepts), listens where the program listens and
// calls what the program calls, again and again, so the wire shows every
// flow the program would open.
type Stub struct {
	Program string `json:"program"`
	// Private files: refused, as the program refuses them, when group or
	// others may read them; and they must be readable.
	Private []string `json:"private,omitempty"`
	Reads   []string `json:"reads,omitempty"`
	// Writes are paths the program writes (a directory: a file in it).
	Writes  []string     `json:"writes,omitempty"`
	Listens []StubListen `json:"listens,omitempty"`
	Calls   []StubCall   `json:"calls,omitempty"`
	// Touch are files created once every call has succeeded (what a
	// script touches when its work is done).
	Touch []string `json:"touch,omitempty"`
	// Once: a job's pod; the stub ends when every call has succeeded
	// (exit 0), or fails after a minute.
	Once bool `json:"once,omitempty"`
	// HealthPath is the path a health service answers on (the
	// HealthService's --probe-path): 200 while every call succeeds, 503
	// otherwise. With it set, the stub answers 404 on any other path but
	// ProbePaths (the kubelet's) and /metrics.
	HealthPath string   `json:"healthPath,omitempty"`
	ProbePaths []string `json:"probePaths,omitempty"`
}

// StubListen is a port the stub serves: HTTP on TCP (200 to anything,
// an exposition at /metrics), datagrams read and dropped on UDP.
type StubListen struct {
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
}

// StubCall is a connection the stub opens.
type StubCall struct {
	Host     string `json:"host"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	Why      string `json:"why"`
}

// StubEnv is the environment variable cmd/boxpod's stub reads its plan from.
const StubEnv = "STAMPBOX_STUB"

// RunStub is cmd/boxpod's stub: it never returns but on failure.
func RunStub() error {
	var s Stub
	if err := json.Unmarshal([]byte(os.Getenv(StubEnv)), &s); err != nil {
		return fmt.Errorf("%s: %w", StubEnv, err)
	}
	if err := checkFiles(s); err != nil {
		return err
	}
	for _, l := range s.Listens {
		if err := serve(l, s); err != nil {
			return fmt.Errorf("%s: listen on %d/%s: %w", s.Program, l.Port, l.Protocol, err)
		}
	}
	fmt.Printf("%s stub: files hold, listening on %d ports, calling %d\n", s.Program, len(s.Listens), len(s.Calls))
	done := map[int]bool{}
	touched := false
	start := time.Now()
	for {
		for i, c := range s.Calls {
			err := call(c)
			if err == nil && !done[i] {
				fmt.Printf("%s stub: reached %s:%d/%s (%s)\n", s.Program, c.Host, c.Port, c.Protocol, c.Why)
			}
			if err != nil && done[i] {
				fmt.Printf("%s stub: lost %s:%d/%s: %v\n", s.Program, c.Host, c.Port, c.Protocol, err)
			}
			done[i] = err == nil
		}
		healthy.Store(len(done) == len(s.Calls) && allTrue(done))
		if !touched && len(done) == len(s.Calls) && allTrue(done) {
			for _, p := range s.Touch {
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					return fmt.Errorf("%s: touch %s: %w", s.Program, p, err)
				}
			}
			touched = true
		}
		if s.Once && touched {
			fmt.Printf("%s stub: done\n", s.Program)
			os.Exit(0)
		}
		if s.Once && time.Since(start) > time.Minute {
			return fmt.Errorf("%s: not every call succeeded within a minute", s.Program)
		}
		time.Sleep(3 * time.Second)
	}
}

// checkFiles holds the files the program reads and writes to what it
// would accept: private ones owner-only (mongod's keyfile check), every
// one readable, every written path writable.
func checkFiles(s Stub) error {
	for _, p := range s.Private {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("%s: error reading file %s: %w", s.Program, p, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("%s: permissions on %s are too open (%04o)", s.Program, p, st.Mode().Perm())
		}
	}
	for _, p := range append(append([]string(nil), s.Private...), s.Reads...) {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("%s: error opening file %s: %w", s.Program, p, err)
		}
		f.Close()
	}
	for _, p := range s.Writes {
		if err := writable(p); err != nil {
			return fmt.Errorf("%s: cannot write %s: %w", s.Program, p, err)
		}
	}
	return nil
}

func allTrue(m map[int]bool) bool {
	for _, v := range m {
		if !v {
			return false
		}
	}
	return true
}

// writable writes a file at p, or in p when it is (or names) a directory.
func writable(p string) error {
	st, err := os.Stat(p)
	switch {
	case err == nil && st.IsDir(), err != nil && strings.HasSuffix(p, "/"):
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		f, err := os.CreateTemp(p, ".stampbox-*")
		if err != nil {
			return err
		}
		f.Close()
		return os.Remove(f.Name())
	case err != nil && !os.IsNotExist(err):
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, fs.FileMode(0o644))
	if err != nil {
		return err
	}
	return f.Close()
}

var metrics = "# HELP stampbox_up A stub of the program stands in for it.\n# TYPE stampbox_up gauge\nstampbox_up 1\n"

// healthy says whether every call succeeded in the last round.
var healthy atomic.Bool

func serve(l StubListen, s Stub) error {
	addr := ":" + strconv.Itoa(int(l.Port))
	if strings.EqualFold(l.Protocol, "UDP") {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: handler(s, &healthy)}
	go srv.Serve(ln) //nolint:errcheck // serves until the process ends
	return nil
}

// handler answers a stub's HTTP requests: an exposition at /metrics, and
// "ok" to anything else; for a health service, its HealthPath only while
// healthy (503 otherwise), and 404 on any path but it and its ProbePaths.
func handler(s Stub, healthy *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/metrics":
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprint(w, metrics)
			return
		case s.HealthPath == "":
		case r.URL.Path == s.HealthPath:
			if !healthy.Load() {
				http.Error(w, "unhealthy: a dependency does not answer", http.StatusServiceUnavailable)
				return
			}
		case !slices.Contains(s.ProbePaths, r.URL.Path):
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

func call(c StubCall) error {
	addr := net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
	if strings.EqualFold(c.Protocol, "UDP") {
		conn, err := net.DialTimeout("udp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = conn.Write([]byte("stampbox"))
		return err
	}
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}
