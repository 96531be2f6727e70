package stampbox

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/generator/stampbox/podrun"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// committedPlan lays out a stamp of the committed render.
func committedPlan(t *testing.T, env, stamp string) *Plan {
	t.Helper()
	repo := platformtest.Repo()
	envs, err := (&action.Config{Root: repo, NoCache: true}).Workspace().Environments([]string{env})
	if err != nil {
		t.Fatal(err)
	}
	var inputs []policy.Input
	for _, o := range platformtest.Rendered(t, repo, env) {
		inputs = append(inputs, policy.Input{Unit: o.Unit, File: layout.RepoPath(o.File), Object: o.Object})
	}
	p, err := NewPlan(envs[0], stamp, inputs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlan: a pod per replica at its own address, the StatefulSets' pods
// named under their headless Service, a cluster IP per Service that is
// not headless, and prod's data Services pointing at the VM.
func TestPlan(t *testing.T) {
	p := committedPlan(t, "staging", "weu-1")
	if n := len(p.PodsOf("StatefulSet", "kafka")); n != 3 {
		t.Errorf("kafka runs %d pods, want 3", n)
	}
	if n := len(p.PodsOf("DaemonSet", "promtail")); n != len(p.Nodes) || n != 3 {
		t.Errorf("promtail runs %d pods on %d nodes, want one per node of three", n, len(p.Nodes))
	}
	seen := map[netip.Addr]bool{}
	for _, pod := range p.Pods {
		if seen[pod.IP] || !p.PodNetwork.Contains(pod.IP) {
			t.Errorf("%s: address %s is taken or outside %s", pod.ID(), pod.IP, p.PodNetwork)
		}
		seen[pod.IP] = true
	}
	addrs, ok := p.Names("redis-1.redis-headless.data.svc.cluster.local.")
	if !ok || len(addrs) != 1 || addrs[0] != p.PodNamed("data/redis-1").IP {
		t.Errorf("redis-1's name answers %v, %v", addrs, ok)
	}
	addrs, ok = p.Names("loki-headless.monitoring.svc.cluster.local")
	if !ok || len(addrs) != 3 {
		t.Errorf("the headless Service answers %v, want its three pods", addrs)
	}
	addrs, ok = p.Names("redis.data.svc.cluster.local")
	if !ok || len(addrs) != 1 || !serviceCIDR.Contains(addrs[0]) {
		t.Errorf("the client Service answers %v, want its cluster IP", addrs)
	}
	if s := p.Services["data/redis"]; len(s.Pods) != 1 || s.Pods[0].Name != "redis-0" {
		t.Errorf("the redis client Service selects %v, want the primary alone", s.Pods)
	}
	if _, ok := p.Names("nothing.data.svc.cluster.local"); ok {
		t.Error("an unknown Service's name answers")
	}
	if a, ok := p.Names(programs.EntraIDHost); !ok || a[0] != p.EntraID {
		t.Errorf("Entra ID answers %v", a)
	}

	prod := committedPlan(t, "prod", "weu-1")
	if s := prod.Services["data/kafka"]; len(s.Addresses) != 1 || s.Addresses[0] != netip.MustParseAddr("10.30.8.10") {
		t.Errorf("prod's kafka Service points at %v, want the VM", s.Addresses)
	}
}

// TestServiceRules: each cluster IP and port is translated to the
// endpoints' addresses and target ports, as kube-proxy would.
func TestServiceRules(t *testing.T) {
	p := committedPlan(t, "staging", "weu-1")
	rules, err := p.serviceRules()
	if err != nil {
		t.Fatal(err)
	}
	api := p.Services["libertum/api"]
	target, ok := TargetPort(api.Svc.Spec.Ports[0], api.Pods[0])
	if !ok || target == 80 {
		t.Fatalf("api's target port %d: want the named container port", target)
	}
	want := "ip daddr " + api.ClusterIP.String() + " tcp dport 80 dnat ip addr . port to numgen random mod 3 map { 0 : " + api.Pods[0].IP.String() + " . "
	if !strings.Contains(rules, want) {
		t.Errorf("rules lack %q:\n%s", want, rules)
	}
	if !strings.Contains(rules, "ip daddr 10.0.0.1 tcp dport 443 dnat ip to "+p.APIServer.String()+":443") {
		t.Errorf("rules do not send the API server's cluster IP to its endpoint:\n%s", rules)
	}
}

// TestReadFlows: what tcpdump prints becomes the connections opened; a
// UDP answer is not a connection, gossip from a port to the same port is.
func TestReadFlows(t *testing.T) {
	log := `listening on box0, link-type EN10MB (Ethernet), snapshot length 256 bytes
1765000000.000001 IP 10.244.0.5.40000 > 10.244.0.7.9095: Flags [S], seq 1, win 64240, length 0
1765000000.000002 IP 10.244.0.5.40000 > 10.244.0.7.9095: Flags [S], seq 1, win 64240, length 0
1765000000.000003 IP 10.244.0.5.51000 > 10.0.0.10.53: 1234+ A? loki.monitoring.svc.cluster.local. (51)
1765000000.000004 IP 10.0.0.10.53 > 10.244.0.5.51000: 1234* 1/0/0 A 10.0.1.4 (67)
1765000000.000005 IP 10.244.0.8.9094 > 10.244.0.9.9094: UDP, length 120
1765000000.000006 IP 10.244.0.9.9094 > 10.244.0.8.9094: UDP, length 120
garbage line
`
	path := filepath.Join(t.TempDir(), "tcpdump.log")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	flows, err := ReadFlows(path)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	want := []Flow{
		{a("10.244.0.5"), a("10.244.0.7"), 9095, corev1.ProtocolTCP},
		{a("10.244.0.5"), a("10.0.0.10"), 53, corev1.ProtocolUDP},
		{a("10.244.0.8"), a("10.244.0.9"), 9094, corev1.ProtocolUDP},
		{a("10.244.0.9"), a("10.244.0.8"), 9094, corev1.ProtocolUDP},
	}
	if !slices.Equal(flows, want) {
		t.Errorf("flows = %v, want %v", flows, want)
	}
}

// TestSearchTries: names the search list made up from an answered name
// are not questions of their own; a name nothing answers is.
func TestSearchTries(t *testing.T) {
	answered := map[string]bool{"loki.monitoring.svc.cluster.local": true, "login.microsoftonline.com": true}
	for name, want := range map[string]bool{
		"loki.monitoring.svc.cluster.local.monitoring.svc.cluster.local": true,
		"loki.monitoring.svc.cluster.local.cluster.local":                true,
		"login.microsoftonline.com.data.svc.cluster.local":               true,
		"elsewhere.example.com.svc.cluster.local":                        false,
		"elsewhere.example.com":                                          false,
	} {
		if got := searchTry(name, answered); got != want {
			t.Errorf("searchTry(%s) = %v, want %v", name, got, want)
		}
	}
}

// TestDNS asks the box's DNS over the wire (on loopback), as a pod would.
func TestDNS(t *testing.T) {
	p := committedPlan(t, "staging", "weu-1")
	d, err := StartDNS(p, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, d.udp.LocalAddr().String())
	}}
	ips, err := r.LookupHost(context.Background(), "kafka-2.kafka-headless.data.svc.cluster.local.")
	if err != nil || len(ips) != 1 || ips[0] != p.PodNamed("data/kafka-2").IP.String() {
		t.Fatalf("kafka-2 = %v, %v", ips, err)
	}
	if _, err := r.LookupHost(context.Background(), "nothing.example.com."); err == nil {
		t.Error("an unknown name resolves")
	}
	q := d.Questions()
	if len(q) < 2 || !slices.ContainsFunc(q, func(q Question) bool { return q.Name == "nothing.example.com" && !q.Answered }) {
		t.Errorf("questions %+v: want both names, the unknown one unanswered", q)
	}
}

// TestHealthChecks: the HealthService stub opens what its --check flags
// name; a check without a port, or not a URL, is refused.
func TestHealthChecks(t *testing.T) {
	container := func(args ...string) programs.Container {
		return programs.Container{Spec: &corev1.Container{Name: "healthservice", Args: args}}
	}
	got, err := healthChecks(container("--listen=:8080", "--check=kafka=tcp://kafka.data.svc.cluster.local:9092", "--check", "storage=https://st.blob.core.windows.net/", "--probe-path=/health/stamp"))
	if err != nil {
		t.Fatal(err)
	}
	want := []podrun.StubCall{
		{Host: "kafka.data.svc.cluster.local", Port: 9092, Protocol: "TCP", Why: "--check kafka"},
		{Host: "st.blob.core.windows.net", Port: 443, Protocol: "TCP", Why: "--check storage"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	for _, bad := range []string{"--check=kafka=tcp://kafka.data.svc.cluster.local", "--check=x=::"} {
		if _, err := healthChecks(container(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
