package stampbox

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Bridge is the box's bridge: every pod's veth is a port of it, and the
// box itself (cluster DNS, the API server, the kubelets, the Azure and
// internet endpoints, external hosts) answers on its addresses.
const Bridge = "box0"

// netnsDir is where ip netns keeps the namespaces (a tmpfs the run mounts
// over it in its own mount namespace).
const netnsDir = "/run/netns"

// NetNS returns the path of a pod's network namespace.
func (p *Plan) NetNS(pod *Pod) string { return filepath.Join(netnsDir, p.nsName(pod)) }

func (p *Plan) nsName(pod *Pod) string {
	for i, q := range p.Pods {
		if q == pod {
			return "p" + strconv.Itoa(i)
		}
	}
	return ""
}

// infraAddrs are the box's own addresses on the bridge besides its pod
// range address.
func (p *Plan) infraAddrs() []netip.Addr {
	out := []netip.Addr{clusterDNSIP, p.APIServer, p.Blob, internetIP}
	if p.EntraID.IsValid() {
		out = append(out, p.EntraID)
	}
	if p.Monitor != internetIP {
		out = append(out, p.Monitor)
	}
	if p.Postgres.IsValid() && p.Postgres != internetIP {
		out = append(out, p.Postgres)
	}
	for _, n := range p.Nodes {
		out = append(out, n.IP)
	}
	names := make([]string, 0, len(p.External))
	for n := range p.External {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, p.External[n])
	}
	return out
}

// ip runs ip with a batch of commands.
func ip(args []string, batch []string) error {
	cmd := exec.Command("ip", append(args, "-batch", "-")...)
	cmd.Stdin = strings.NewReader(strings.Join(batch, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Network wires the box: the bridge with the box's addresses, a network
// namespace per pod with its address on a veth, and in each the cluster
// IPs of the Services translated to their endpoints, as kube-proxy does.
func (p *Plan) Network(work string) error {
	batch := []string{
		"link add " + Bridge + " type bridge",
		"link set " + Bridge + " up",
		"addr add " + netip.PrefixFrom(p.Bridge, p.PodNetwork.Bits()).String() + " dev " + Bridge,
	}
	for _, a := range p.infraAddrs() {
		batch = append(batch, "addr add "+a.String()+"/32 dev "+Bridge)
	}
	for i, pod := range p.Pods {
		ns := p.nsName(pod)
		batch = append(batch, "netns add "+ns,
			fmt.Sprintf("link add vb%d type veth peer name eth0 netns %s", i, ns),
			fmt.Sprintf("link set vb%d master %s up", i, Bridge))
	}
	if err := ip(nil, []string{"link set lo up"}); err != nil {
		return err
	}
	if err := ip(nil, batch); err != nil {
		return err
	}
	rules, err := p.serviceRules()
	if err != nil {
		return err
	}
	file := filepath.Join(work, "services.nft")
	if err := os.WriteFile(file, []byte(rules), 0o644); err != nil {
		return err
	}
	for _, pod := range p.Pods {
		ns := p.nsName(pod)
		if err := ip([]string{"-n", ns}, []string{
			"link set lo up", "link set eth0 up",
			"addr add " + pod.IP.String() + "/32 dev eth0",
			"route add default dev eth0",
		}); err != nil {
			return err
		}
		if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "-f", file).CombinedOutput(); err != nil {
			return fmt.Errorf("nft in %s: %v: %s", ns, err, out)
		}
	}
	return nil
}

// Unwire removes the bridge and the pods' network namespaces.
func (p *Plan) Unwire() error {
	var errs []string
	for _, pod := range p.Pods {
		if out, err := exec.Command("ip", "netns", "del", p.nsName(pod)).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
			errs = append(errs, strings.TrimSpace(string(out)))
		}
	}
	if out, err := exec.Command("ip", "link", "del", Bridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
		errs = append(errs, strings.TrimSpace(string(out)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("unwire: %s", strings.Join(errs, "; "))
	}
	return nil
}

// serviceRules translates every cluster IP and port to the Service's
// endpoints, one chosen at random per connection, in the pod's own
// output chain (a pod's packets leave it addressed to a pod, as with
// kube-proxy, and the NetworkPolicies judge pod to pod).
func (p *Plan) serviceRules() (string, error) {
	var b strings.Builder
	b.WriteString("table ip box {\n  chain services {\n    type nat hook output priority -100; policy accept;\n")
	fmt.Fprintf(&b, "    ip daddr %s tcp dport 443 dnat ip to %s:443\n", apiServiceIP, p.APIServer)
	keys := make([]string, 0, len(p.Services))
	for k := range p.Services {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := p.Services[k]
		if s.Headless() {
			continue
		}
		for _, sp := range s.Svc.Spec.Ports {
			proto := strings.ToLower(string(sp.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			var ends []string
			for _, pod := range s.Pods {
				if t, ok := TargetPort(sp, pod); ok {
					ends = append(ends, fmt.Sprintf("%s . %d", pod.IP, t))
				}
			}
			for _, a := range s.Addresses {
				port := sp.Port
				if sp.TargetPort.IntVal != 0 {
					port = sp.TargetPort.IntVal
				}
				ends = append(ends, fmt.Sprintf("%s . %d", a, port))
			}
			match := fmt.Sprintf("ip daddr %s %s dport %d", s.ClusterIP, proto, sp.Port)
			if len(ends) == 0 {
				if proto == "tcp" {
					fmt.Fprintf(&b, "    %s reject with tcp reset\n", match)
				} else {
					fmt.Fprintf(&b, "    %s reject\n", match)
				}
				continue
			}
			var m []string
			for i, e := range ends {
				m = append(m, fmt.Sprintf("%d : %s", i, e))
			}
			fmt.Fprintf(&b, "    %s dnat ip addr . port to numgen random mod %d map { %s }\n", match, len(ends), strings.Join(m, ", "))
		}
	}
	b.WriteString("  }\n}\n")
	return b.String(), nil
}

// protocolOf is a port's protocol, TCP when unset.
func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
