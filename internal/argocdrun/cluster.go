package argocdrun

import (
	"github.com/libertum/platform-gitops/generator/servers"

	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
)

// Servers starts one etcd and the kube-apiservers that share it (each under
// an etcd prefix of its own).
type Servers struct {
	Procs *servers.Procs
	CA    *servers.CA
	// Apiserver is the kube-apiserver binary (make e2e builds it).
	Apiserver string
	// Token is the one admin bearer token every apiserver accepts.
	Token string

	etcd    string
	saKey   string
	saPub   string
	tokens  string
	running int
}

// Cluster is one running kube-apiserver.
type Cluster struct {
	Name string
	// Host is the name its certificate is for besides 127.0.0.1 (an AKS
	// API host), empty for Argo CD's own cluster.
	Host       string
	Port       int
	Config     *rest.Config
	Kubeconfig string
}

// StartEtcd starts etcd (Debian's etcd-server, on PATH) and writes the
// credentials the apiservers share.
func (s *Servers) StartEtcd() error {
	dir := s.Procs.Dir
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	s.saKey, s.saPub, s.tokens = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub"), filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(s.saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(s.saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return err
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return err
	}
	s.Token = hex.EncodeToString(tok)
	if err := os.WriteFile(s.tokens, []byte(s.Token+",argocdrun-admin,argocdrun-admin,system:masters\n"), 0o600); err != nil {
		return err
	}
	client, err := servers.FreePort()
	if err != nil {
		return err
	}
	peer, err := servers.FreePort()
	if err != nil {
		return err
	}
	c, p := "http://127.0.0.1:"+strconv.Itoa(client), "http://127.0.0.1:"+strconv.Itoa(peer)
	s.etcd = c
	if err := s.Procs.Start("etcd", nil, "etcd", "--name", "argocdrun", "--data-dir", filepath.Join(dir, "etcd"), "--unsafe-no-fsync",
		"--listen-client-urls", c, "--advertise-client-urls", c, "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
		"--initial-cluster", "argocdrun="+p); err != nil {
		return err
	}
	return s.Procs.WaitTCP(client, time.Minute)
}

// StartCluster starts a kube-apiserver whose certificate also names host.
func (s *Servers) StartCluster(name, host string) (*Cluster, error) {
	dir := s.Procs.Dir
	names := []string{"127.0.0.1", "localhost"}
	if host != "" {
		names = append(names, host)
	}
	pair, err := s.CA.Issue(names...)
	if err != nil {
		return nil, err
	}
	cert, key, err := pair.Write(dir, "apiserver-"+name)
	if err != nil {
		return nil, err
	}
	port, err := servers.FreePort()
	if err != nil {
		return nil, err
	}
	s.running++
	if err := s.Procs.Start("apiserver-"+name, nil, s.Apiserver,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--etcd-servers="+s.etcd, "--etcd-prefix=/registry-"+name,
		"--tls-cert-file="+cert, "--tls-private-key-file="+key,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+s.saPub, "--service-account-signing-key-file="+s.saKey,
		"--token-auth-file="+s.tokens, "--authorization-mode=AlwaysAllow",
		"--service-cluster-ip-range=10.0."+strconv.Itoa(s.running)+".0/24", "--endpoint-reconciler-type=none",
		"--disable-admission-plugins=ServiceAccount"); err != nil {
		return nil, err
	}
	c := &Cluster{Name: name, Host: host, Port: port, Kubeconfig: filepath.Join(dir, "kubeconfig-"+name)}
	c.Config = &rest.Config{Host: "https://127.0.0.1:" + strconv.Itoa(port), BearerToken: s.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.CA.PEM}, QPS: 100, Burst: 200}
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: %[1]s
    cluster: {server: "%[2]s", certificate-authority-data: %[3]s}
users:
  - name: admin
    user: {token: %[4]s}
contexts:
  - name: %[1]s
    context: {cluster: %[1]s, user: admin}
current-context: %[1]s
`, name, c.Config.Host, b64(s.CA.PEM), s.Token)
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig), 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// WaitReady waits for the cluster's /readyz.
func (s *Servers) WaitReady(ctx context.Context, c *Cluster, timeout time.Duration) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CA.PEM)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Config.Host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+s.Token)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := s.Procs.Dead(); err != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver %s not ready after %s; its log ends:\n%s", c.Name, timeout, s.Procs.Tail("apiserver-"+c.Name, 20))
}
