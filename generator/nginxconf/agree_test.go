package nginxconf

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxBinary is the real nginx to hold the reading to: $GITOPS_NGINX
// (make programs sets it, and then the test must run), else nginx on PATH.
func nginxBinary(t *testing.T) string {
	if p := os.Getenv("GITOPS_NGINX"); p != "" {
		return p
	}
	p, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("no nginx here: make programs installs Debian's and runs this test")
	}
	return p
}

// TestAgreesWithNginx runs the real nginx with each case's snippets where
// ingress-nginx puts them (http, server, location), a local upstream
// behind the location, and asks it the three requests: the status it
// answers, or the upstream's answer, must be what Do says.
func TestAgreesWithNginx(t *testing.T) {
	bin := nginxBinary(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Upstream", "yes")
		fmt.Fprint(w, "upstream")
	}))
	defer upstream.Close()
	for _, tc := range cases {
		if tc.err != "" {
			continue // the reading refuses to judge: nothing to compare
		}
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.http, tc.server, tc.location)
			if err != nil {
				t.Fatal(err)
			}
			got := askNginx(t, bin, upstream.URL, tc)
			for i, r := range requests() {
				res, err := c.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != got[i] {
					t.Errorf("request %d (%v): nginx answers %d (0: forwarded), the reading says %d", i, r.Headers, got[i], res.Status)
				}
			}
		})
	}
}

// askNginx starts nginx on the case's snippets and returns, per request,
// the status it answers (0 when the upstream answered).
func askNginx(t *testing.T, bin, upstream string, tc snippetCase) []int {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[2]s
  server {
    listen 127.0.0.1:%[3]d;
%[4]s
    location / {
%[5]s
      proxy_pass %[6]s;
    }
  }
}
`, dir, tc.http, port, tc.server, tc.location, upstream)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "unknown directive") {
			t.Skipf("this nginx lacks a module the snippets use: %s", out)
		}
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(end) {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx does not listen on %s:\n%s", addr, b)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var out []int
	for _, r := range requests() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		for k, v := range r.Headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-Upstream") == "yes" && string(body) == "upstream" {
			out = append(out, 0)
		} else {
			out = append(out, resp.StatusCode)
		}
	}
	return out
}

// TestMapKeysFitAgreesWithNginx: nginx -t accepts exactly the map keys
// MapKeysFit says fit the bucket size.
func TestMapKeysFitAgreesWithNginx(t *testing.T) {
	bin := nginxBinary(t)
	dir := t.TempDir()
	for _, tc := range []struct{ keyLen, bucket int }{{46, 64}, {47, 64}, {110, 128}, {111, 128}} {
		snippet := `map $uri $x { default 0; "` + strings.Repeat("k", tc.keyLen) + `" 1; }` + "\n"
		c, err := Parse(snippet, "", "")
		if err != nil {
			t.Fatal(err)
		}
		fits := c.MapKeysFit(tc.bucket) == nil
		conf := filepath.Join(dir, fmt.Sprintf("nginx-%d-%d.conf", tc.keyLen, tc.bucket))
		text := fmt.Sprintf("pid %s.pid;\nerror_log stderr;\nevents {}\nhttp {\n  map_hash_bucket_size %d;\n  %s  server { listen 127.0.0.1:1; }\n}\n", conf, tc.bucket, snippet)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-t", "-p", dir, "-c", conf).CombinedOutput()
		if (err == nil) != fits {
			t.Errorf("key of %d bytes, bucket %d: MapKeysFit says fits=%v, nginx -t: %v\n%s", tc.keyLen, tc.bucket, fits, err, out)
		}
	}
}
