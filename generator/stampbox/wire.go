package stampbox

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/libertum/platform-gitops/generator/connectivity"
	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/programs"
)

// CaptureFilter is what the box records on its bridge: every TCP
// connection attempt (a SYN without ACK) and every UDP datagram.
const CaptureFilter = "(tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0) or udp"

// Flow is one connection seen on the wire: the first packet of it.
type Flow struct {
	From, To netip.Addr
	Port     int32
	Protocol corev1.Protocol
}

func (f Flow) String() string { return fmt.Sprintf("%s -> %s:%d/%s", f.From, f.To, f.Port, f.Protocol) }

// tcpdump's line for a packet: time, IP src.port > dst.port: rest.
var packetLine = regexp.MustCompile(`^\S+ IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): (.*)$`)

// ReadFlows reads what tcpdump printed (-n -tt) into the connections
// opened: a TCP SYN opens one; a UDP datagram opens one unless it answers
// one seen before (its ports the other way round).
func ReadFlows(path string) ([]Flow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[Flow]bool{}
	type end struct {
		a    netip.Addr
		port int
	}
	udpSent := map[[2]end]bool{} // (from, to) of every datagram
	var out []Flow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := packetLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		src, err1 := netip.ParseAddr(m[1])
		dst, err2 := netip.ParseAddr(m[3])
		sport, err3 := strconv.Atoi(m[2])
		dport, err4 := strconv.Atoi(m[4])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			continue
		}
		fl := Flow{From: src, To: dst, Port: int32(dport), Protocol: corev1.ProtocolTCP}
		if !strings.HasPrefix(m[5], "Flags [S]") {
			fl.Protocol = corev1.ProtocolUDP
			from, to := end{src, sport}, end{dst, dport}
			udpSent[[2]end{from, to}] = true
			if udpSent[[2]end{to, from}] && !seen[Flow{From: src, To: dst, Port: int32(dport), Protocol: corev1.ProtocolUDP}] {
				// An answer to a datagram the other end sent (unless the
				// same port is a service both ends call, as gossip is).
				if sport != dport {
					continue
				}
			}
		}
		if !seen[fl] {
			seen[fl] = true
			out = append(out, fl)
		}
	}
	return out, sc.Err()
}

// endpoint is an address of the box as the NetworkPolicy engine and the
// intent graph see it: a pod, cluster DNS, or an address outside.
func (p *Plan) endpoint(a netip.Addr) (flow.Endpoint, string) {
	if pod := p.Pod(a); pod != nil {
		return connectivity.PodEndpoint(pod.In.Object, pod.Template.Labels, a.String()), pod.ID() + " (" + pod.Workload() + ")"
	}
	if a == clusterDNSIP {
		return flow.Endpoint{Namespace: flow.DNSNamespace, Labels: map[string]string{flow.DNSLabel: flow.DNSApp}, IP: a.String()}, "cluster DNS"
	}
	for _, n := range p.Nodes {
		if n.IP == a {
			return flow.Endpoint{IP: a.String()}, "node " + n.Name + " (" + a.String() + ")"
		}
	}
	name := a.String()
	switch a {
	case p.APIServer:
		name = "the API server (" + name + ")"
	case p.Blob:
		name = "Blob Storage (" + name + ")"
	case p.EntraID:
		name = "Entra ID (" + name + ")"
	case internetIP:
		name = "the internet (" + name + ")"
	case p.Monitor:
		name = "Azure Monitor (" + name + ")"
	case p.Postgres:
		name = "Azure Database for PostgreSQL (" + name + ")"
	}
	for h, ha := range p.External {
		if ha == a {
			name = h + " (" + name + ")"
		}
	}
	return flow.Endpoint{IP: a.String()}, name
}

// Verdict is the engine's answer on one flow seen on the wire.
type Verdict struct {
	Flow     Flow
	From, To string
	Allowed  bool
	Policies []string
}

func (v Verdict) String() string {
	s := fmt.Sprintf("%s -> %s on %d/%s", v.From, v.To, v.Flow.Port, v.Flow.Protocol)
	if !v.Allowed {
		s += ": denied by " + strings.Join(v.Policies, ", ")
	}
	return s
}

// Judge asks the NetworkPolicy engine about every flow seen between the
// box's pods and addresses; the box's own probes and queries (from its
// bridge address) are not the platform's.
func (p *Plan) Judge(flows []Flow) ([]Verdict, error) {
	j, err := connectivity.NewJudge(p.Inputs, nil)
	if err != nil {
		return nil, err
	}
	var out []Verdict
	for _, f := range flows {
		if f.From == p.Bridge || f.To == p.Bridge || !f.From.IsValid() {
			continue
		}
		from, fromName := p.endpoint(f.From)
		if from.Labels == nil {
			continue // from outside the cluster: the API server, a test endpoint
		}
		to, toName := p.endpoint(f.To)
		v, err := j.Judge(from, to, flow.Port{Port: f.Port, Protocol: f.Protocol})
		if err != nil {
			return nil, err
		}
		verdict := Verdict{Flow: f, From: fromName, To: toName, Allowed: v.Allowed}
		for i, pol := range v.Policies {
			if i < len(v.Files) {
				pol += " (" + v.Files[i] + ")"
			}
			verdict.Policies = append(verdict.Policies, pol)
		}
		out = append(out, verdict)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// Graph is the stamp's network intent graph (package flow), with the
// interfaces the catalog gives each component.
func (p *Plan) Graph() (*flow.Graph, error) {
	byComponent := map[string][]*manifest.Object{}
	for _, in := range p.Inputs {
		byComponent[in.Component] = append(byComponent[in.Component], in.Object)
	}
	ifaces := map[string]flow.Interface{}
	for name, c := range p.Env.Spec.Components {
		if c.External != nil {
			continue
		}
		iface, err := programs.Interface(name, byComponent[name], manifest.PodTemplate)
		if err != nil {
			return nil, err
		}
		ifaces[name] = iface
	}
	return flow.Build(p.Env, p.Stamp, ifaces)
}

// NameVerdict says whether a name a pod asked for stands for something its
// egress intent lets it reach.
type NameVerdict struct {
	Pod, Name string
	Allowed   bool
	Why       string
}

// JudgeNames holds every name a pod asked cluster DNS for against the
// intent graph: an answered name must stand for a peer the pod's flows
// reach; a name nothing answers must be only a search-list try of one
// that is answered (ndots:5 tries the suffixes first).
func (p *Plan) JudgeNames(questions []Question) ([]NameVerdict, error) {
	g, err := p.Graph()
	if err != nil {
		return nil, err
	}
	answered := map[string]bool{}
	for _, q := range questions {
		if q.Answered {
			answered[q.Name] = true
		}
	}
	type key struct{ pod, name string }
	seen := map[key]bool{}
	var out []NameVerdict
	for _, q := range questions {
		pod := p.Pod(q.From)
		if pod == nil || seen[key{pod.ID(), q.Name}] {
			continue
		}
		seen[key{pod.ID(), q.Name}] = true
		v := NameVerdict{Pod: pod.ID() + " (" + pod.Workload() + ")", Name: q.Name}
		from := connectivity.PodEndpoint(pod.In.Object, pod.Template.Labels, pod.IP.String())
		if !q.Answered {
			v.Allowed = searchTry(q.Name, answered)
			v.Why = "no name of the stamp answers it"
			out = append(out, v)
			continue
		}
		leaving := g.Leaving(from)
		for _, a := range q.Addrs {
			for _, to := range p.targets(a) {
				for _, f := range leaving.Flows {
					if f.To.Contains(to) {
						v.Allowed, v.Why = true, f.String()
					}
				}
				if (flow.Peer{Kind: flow.DNS}).Contains(to) {
					v.Allowed = true
				}
			}
		}
		if !v.Allowed {
			v.Why = "no flow of the intent leads from the pod to what it stands for"
		}
		out = append(out, v)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pod+out[i].Name < out[j].Pod+out[j].Name })
	return out, nil
}

// targets is what an address a name resolves to stands for: a Service's
// cluster IP stands for the pods (or addresses) behind it.
func (p *Plan) targets(a netip.Addr) []flow.Endpoint {
	if a == apiServiceIP {
		return []flow.Endpoint{{IP: p.APIServer.String()}}
	}
	for _, s := range p.Services {
		if s.ClusterIP != a {
			continue
		}
		var out []flow.Endpoint
		for _, pod := range s.Pods {
			out = append(out, connectivity.PodEndpoint(pod.In.Object, pod.Template.Labels, pod.IP.String()))
		}
		for _, x := range s.Addresses {
			out = append(out, flow.Endpoint{IP: x.String()})
		}
		return out
	}
	e, _ := p.endpoint(a)
	return []flow.Endpoint{e}
}

// searchTry reports whether a name is a name answered elsewhere with a
// search suffix appended.
func searchTry(name string, answered map[string]bool) bool {
	for _, s := range []string{".svc.cluster.local", ".cluster.local"} {
		base, ok := strings.CutSuffix(name, s)
		if !ok {
			continue
		}
		// base is NAME.NAMESPACE (or NAME): the tried name is NAME, with
		// or without the namespace the search list added.
		for b := base; b != ""; {
			if answered[b] || answered[b+".svc.cluster.local"] {
				return true
			}
			i := strings.LastIndex(b, ".")
			if i < 0 {
				break
			}
			b = b[:i]
		}
	}
	return false
}
