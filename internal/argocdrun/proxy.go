package argocdrun

import (
	"io"
	"net"
	"net/http"
	"sync"
)

// Proxy is an HTTP CONNECT proxy with a fixed table: each host:port a
// client may ask for maps to a loopback address. Anything else is refused,
// so nothing leaves the machine.
type Proxy struct {
	mu     sync.Mutex
	routes map[string]string
	// Refused counts CONNECTs to hosts not in the table.
	Refused []string
}

// NewProxy returns a proxy for the routes (host:port to 127.0.0.1:port).
func NewProxy(routes map[string]string) *Proxy {
	return &Proxy{routes: routes}
}

// ServeHTTP handles one CONNECT.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "this proxy only tunnels (CONNECT)", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	to, ok := p.routes[r.Host]
	if !ok {
		p.Refused = append(p.Refused, r.Host)
	}
	p.mu.Unlock()
	if !ok {
		http.Error(w, r.Host+" is not reachable from this run", http.StatusForbidden)
		return
	}
	up, err := net.Dial("tcp", to)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		client.Close()
		up.Close()
		return
	}
	go func() {
		// Bytes the client sent after the CONNECT line are in buf.
		if n := buf.Reader.Buffered(); n > 0 {
			b, _ := buf.Reader.Peek(n)
			_, _ = up.Write(b)
		}
		_, _ = io.Copy(up, client)
		up.Close()
	}()
	go func() {
		_, _ = io.Copy(client, up)
		client.Close()
	}()
}
