package argocdrun

import (
	"github.com/libertum/platform-gitops/generator/servers"

	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strings"
)

// GitServer serves the repositories under Root over HTTPS with git's own
// smart-HTTP CGI (git http-backend), read-only, as a git host would.
type GitServer struct {
	Root string
	srv  *http.Server
	// Addr is where it listens (127.0.0.1:port).
	Addr string
}

// StartGitServer serves root with the pair's certificate.
func StartGitServer(root string, pair servers.Pair) (*GitServer, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	cert, err := pair.TLS()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	g := &GitServer{Root: root, Addr: l.Addr().String(), srv: &http.Server{Handler: h}}
	go func() {
		_ = g.srv.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}()
	return g, nil
}

// Close stops serving.
func (g *GitServer) Close() error { return g.srv.Close() }
