// Package flow is the network intent of a stamp as data: every flow its
// pods need — declared talksTo, each clustered component to its own peers,
// jobs to what they back up, Prometheus to every metrics port, the ingress
// controller to public components, every pod to cluster DNS, external
// hosts and Azure endpoints — derived from the environment spec and from
// the ports each component's own objects serve. The NetworkPolicies are
// rendered from it (Policies), and verify holds an independent engine's
// reading of those policies against it.
package flow

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/libertum/platform-gitops/generator/spec"
)

// Labels and annotations the graph reads and the generator writes.
const (
	// LabelName carries the component a pod belongs to.
	LabelName = "app.kubernetes.io/name"
	// LabelJob marks a job's pods with the job's name; a component's main
	// pods do not carry it.
	LabelJob = "libertum.io/job"
	// ScrapeAnnotation and MetricsPortAnnotation declare the metrics port
	// Prometheus scrapes.
	ScrapeAnnotation      = "prometheus.io/scrape"
	MetricsPortAnnotation = "prometheus.io/port"
	// NamespaceLabel is the label Kubernetes sets on every namespace.
	NamespaceLabel = "kubernetes.io/metadata.name"
)

// Cluster DNS as AKS runs it.
const (
	DNSNamespace = "kube-system"
	DNSLabel     = "k8s-app"
	DNSApp       = "kube-dns"
)

// HTTPS is the port every Azure endpoint is reached on.
var HTTPS = Port{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}

// DNSPorts are cluster DNS's ports.
var DNSPorts = []Port{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP}}

// PrivateRanges are never "the internet": egress to the internet excepts
// them, so internet egress admits neither pods nor the VNet.
var PrivateRanges = []string{"10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16"}

// Internet is the public internet: everything outside the private ranges.
var Internet = Peer{Kind: Address, Name: "internet", CIDR: "0.0.0.0/0", Except: PrivateRanges}

// Kind says what a peer is.
type Kind string

// Peer kinds.
const (
	// Pods are a component's main pods, or one job's pods.
	Pods Kind = "pods"
	// DNS is the cluster's DNS service.
	DNS Kind = "dns"
	// Address is a range outside the cluster: an external host, an Azure
	// private endpoint, the internet.
	Address Kind = "address"
)

// Peer is one end of a flow.
type Peer struct {
	Kind      Kind   `json:"kind"`
	Component string `json:"component,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Job is set for a job's pods; empty means the component's main pods.
	Job string `json:"job,omitempty"`
	// Name names an address peer: an external host, azure:SERVICE, internet.
	Name   string   `json:"name,omitempty"`
	CIDR   string   `json:"cidr,omitempty"`
	Except []string `json:"except,omitempty"`
}

func (p Peer) String() string {
	switch p.Kind {
	case Pods:
		if p.Job != "" {
			return fmt.Sprintf("%s/%s (job %s)", p.Namespace, p.Component, p.Job)
		}
		return p.Namespace + "/" + p.Component
	case DNS:
		return DNSNamespace + "/" + DNSApp
	}
	if p.Name == Internet.Name {
		return "internet"
	}
	return fmt.Sprintf("%s (%s)", p.Name, p.CIDR)
}

// Port is one port and protocol.
type Port struct {
	Name     string          `json:"name,omitempty"`
	Port     int32           `json:"port"`
	Protocol corev1.Protocol `json:"protocol"`
}

func (p Port) String() string {
	if p.Name == "" {
		return fmt.Sprintf("%d/%s", p.Port, p.Protocol)
	}
	return fmt.Sprintf("%d/%s (%s)", p.Port, p.Protocol, p.Name)
}

// Same reports whether two ports are the same number and protocol.
func (p Port) Same(q Port) bool { return p.Port == q.Port && p.Protocol == q.Protocol }

// Flow is one needed connection: From opens it to To on Ports.
type Flow struct {
	From Peer `json:"from"`
	To   Peer `json:"to"`
	// Ports are the destination's ports; nil when the graph was built
	// without the destination's interface (a single component's render:
	// the destination's own ingress policy names them).
	Ports []Port `json:"ports"`
	// Why says what declares the flow.
	Why string `json:"why"`
}

func (f Flow) String() string {
	ports := make([]string, len(f.Ports))
	for i, p := range f.Ports {
		ports[i] = p.String()
	}
	return fmt.Sprintf("%s -> %s on %s (%s)", f.From, f.To, strings.Join(ports, ", "), f.Why)
}

// Interface is what a component serves, read from its own objects.
type Interface struct {
	// Client are the ports its Services expose to consumers.
	Client []Port `json:"client,omitempty"`
	// Peer are the ports its replicas use among themselves.
	Peer []Port `json:"peer,omitempty"`
	// Metrics is the port Prometheus scrapes.
	Metrics []Port `json:"metrics,omitempty"`
}

// Graph is a stamp's flows and what it was built from.
type Graph struct {
	Env   string `json:"environment"`
	Flows []Flow `json:"flows"`
}

// Build derives a stamp's flows from its environment's spec (the network
// of its region) and the interfaces of its components (those missing leave
// the ports of flows to them nil).
func Build(env *spec.Environment, st spec.Stamp, ifaces map[string]Interface) (*Graph, error) {
	return build(builder{env: env, region: st.Region, ifaces: ifaces})
}

// BuildFor is Build keeping only the flows from or to the component's pods
// (its main pods and its jobs'): what its own NetworkPolicies are made of.
// Rendering one unit needs no more, and the whole graph per unit would make
// a render quadratic in the number of components.
func BuildFor(env *spec.Environment, st spec.Stamp, ifaces map[string]Interface, component string) (*Graph, error) {
	return build(builder{env: env, region: st.Region, ifaces: ifaces, only: component})
}

func build(b builder) (*Graph, error) {
	g := &Graph{Env: b.env.Name()}
	b.g = g
	if err := b.build(); err != nil {
		return nil, err
	}
	keys := make(map[*Flow]string, len(g.Flows))
	for i := range g.Flows {
		keys[&g.Flows[i]] = g.Flows[i].String()
	}
	order := make([]int, len(g.Flows))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return keys[&g.Flows[order[i]]] < keys[&g.Flows[order[j]]] })
	sorted := make([]Flow, len(g.Flows))
	for i, k := range order {
		sorted[i] = g.Flows[k]
	}
	g.Flows = sorted
	// One flow declared twice (the edge listing a public component in
	// talksTo as well) is one rule.
	seen := map[string]bool{}
	flows := g.Flows[:0]
	for _, f := range g.Flows {
		k := fmt.Sprintf("%+v|%+v|%v|%v", f.From, f.To, f.Ports, f.Ports == nil)
		if !seen[k] {
			seen[k] = true
			flows = append(flows, f)
		}
	}
	g.Flows = flows
	return g, nil
}

type builder struct {
	env *spec.Environment
	// region is the stamp's: its network is the one the flows leave by.
	region string
	ifaces map[string]Interface
	g      *Graph
	// only, when set, keeps the flows one of whose ends is this component.
	only string
}

// main returns a component's main pods.
func (b builder) main(name string) Peer {
	return Peer{Kind: Pods, Component: name, Namespace: b.env.Spec.Components[name].Namespace}
}

func (b builder) add(from, to Peer, ports []Port, why string) {
	if ports != nil && len(ports) == 0 {
		return // the destination serves nothing this flow could use
	}
	if b.only != "" && from.Component != b.only && to.Component != b.only {
		return
	}
	b.g.Flows = append(b.g.Flows, Flow{From: from, To: to, Ports: ports, Why: why})
}

// served returns where and on which ports consumers reach a component.
func (b builder) served(name string) (Peer, []Port, error) {
	c := b.env.Spec.Components[name]
	if x := c.External; x != nil {
		host, _, ok := b.env.ExternalHost(x.Host)
		if !ok {
			return Peer{}, nil, fmt.Errorf("%s: external host %q is not declared", b.env.Where("spec", "components", name, "external", "host"), x.Host)
		}
		addr, err := netip.ParseAddr(host.Address)
		if err != nil {
			return Peer{}, nil, fmt.Errorf("%s: %w", b.env.Where("spec", "regions"), err)
		}
		ports := make([]Port, 0, len(x.Ports))
		for _, p := range x.Ports {
			ports = append(ports, Port{Name: p.Name, Port: int32(p.Port), Protocol: corev1.ProtocolTCP})
		}
		return Peer{Kind: Address, Name: host.Name, CIDR: netip.PrefixFrom(addr, addr.BitLen()).String()}, ports, nil
	}
	i, ok := b.ifaces[name]
	if !ok {
		return b.main(name), nil, nil
	}
	return b.main(name), nonNil(i.Client), nil
}

func nonNil(p []Port) []Port {
	if p == nil {
		return []Port{}
	}
	return p
}

// Kubelet is the port Prometheus scrapes node and volume metrics on.
var Kubelet = Port{Name: "kubelet", Port: 10250, Protocol: corev1.ProtocolTCP}

// kubelets are the nodes, in the private subnet.
func (b builder) kubelets() Peer {
	return Peer{Kind: Address, Name: "nodes", CIDR: b.env.Spec.Regions[b.region].PrivateSubnet}
}

// endpoint returns the peers an Azure service is reached at — its private
// endpoint, its public ranges, or the internet — and its port.
func (b builder) endpoint(service string) ([]Peer, Port, error) {
	ep, ok := b.env.Spec.Regions[b.region].Endpoint(service)
	port := HTTPS
	if ep.TCPPort() != HTTPS.Port {
		port = Port{Name: service, Port: ep.TCPPort(), Protocol: corev1.ProtocolTCP}
	}
	switch {
	case !ok:
		return nil, port, fmt.Errorf("%s: Azure service %q has no endpoint in spec.regions.%s.azureEndpoints", b.env.Where("spec", "regions", b.region), service, b.region)
	case ep.NAT:
		return []Peer{Internet}, port, nil
	case len(ep.Public) > 0:
		out := make([]Peer, len(ep.Public))
		for i, c := range ep.Public {
			out[i] = Peer{Kind: Address, Name: "azure:" + service, CIDR: c}
		}
		return out, port, nil
	}
	return []Peer{{Kind: Address, Name: "azure:" + service, CIDR: ep.CIDR}}, port, nil
}

func (b builder) build() error {
	idx := indexOf(b.env)
	scrapers, edges := idx.scrapers, idx.edges
	names := idx.names
	if b.only != "" {
		names = idx.involving(b.only)
	}
	for _, name := range names {
		c := b.env.Spec.Components[name]
		self := b.main(name)
		inCluster := c.External == nil
		reach := func(from Peer, targets, services []string, why string) error {
			for _, t := range targets {
				to, ports, err := b.served(t)
				if err != nil {
					return err
				}
				b.add(from, to, ports, why)
			}
			// Workload identity exchanges the pod's token at Entra ID
			// before any call to Azure with it (package programs).
			if spec.CallsWithIdentity(services) {
				services = append(slices.Clone(services), spec.EntraID)
			}
			for _, s := range services {
				tos, port, err := b.endpoint(s)
				if err != nil {
					return err
				}
				why := "azure " + s
				if s == spec.EntraID {
					why = "workload identity token exchange"
				}
				for _, to := range tos {
					b.add(from, to, []Port{port}, why)
				}
			}
			return nil
		}
		if inCluster {
			if err := reach(self, c.TalksTo, c.Azure, "talksTo"); err != nil {
				return err
			}
			if c.Internet != "" {
				b.add(self, Internet, []Port{HTTPS}, "internet")
			}
			if c.ScrapesMetrics {
				b.add(self, b.kubelets(), []Port{Kubelet}, "metrics")
			}
			iface, known := b.ifaces[name]
			if len(iface.Peer) > 0 {
				b.add(self, self, iface.Peer, "peers")
			}
			for _, s := range scrapers {
				switch {
				case len(iface.Metrics) > 0:
					b.add(b.main(s), self, iface.Metrics, "metrics")
				case !known && s != name:
					// The scraper's own render: the destination's policy
					// names its metrics port, if it has one.
					b.add(b.main(s), self, nil, "metrics")
				}
			}
			if Edge(c) {
				_, ports, _ := b.served(name)
				b.add(Internet, self, ports, "edge")
			}
			if c.Ingress != nil {
				for _, e := range edges {
					_, ports, _ := b.served(name)
					b.add(b.main(e), self, ports, "ingress")
				}
			}
		}
		for _, job := range slices.Sorted(maps.Keys(c.Jobs)) {
			from := self
			from.Job = job
			if err := reach(from, c.Jobs[job].TalksTo, c.Jobs[job].Azure, "job "+job); err != nil {
				return err
			}
		}
	}
	return nil
}

// envIndex is what every unit's graph needs from the whole environment,
// derived once per environment (a 1,000-component environment copied
// every component's spec twice per unit to find it).
type envIndex struct {
	names, scrapers, edges []string
	// users[t] are the components other than t some of whose flows have
	// t at one end because they or one of their jobs talk to it.
	users map[string][]string
}

type envIndexKey struct{}

func indexOf(env *spec.Environment) *envIndex {
	return env.Derived(envIndexKey{}, func() any {
		idx := &envIndex{names: env.ComponentNames(), users: map[string][]string{}}
		for _, name := range idx.names {
			c := env.Spec.Components[name]
			if c.ScrapesMetrics && c.External == nil {
				idx.scrapers = append(idx.scrapers, name)
			}
			if Edge(c) {
				idx.edges = append(idx.edges, name)
			}
			targets := slices.Clone(c.TalksTo)
			for _, j := range c.Jobs {
				targets = append(targets, j.TalksTo...)
			}
			slices.Sort(targets)
			for _, t := range slices.Compact(targets) {
				if t != name {
					idx.users[t] = append(idx.users[t], name)
				}
			}
		}
		return idx
	}).(*envIndex)
}

// involving returns the components whose flows may have component only at
// one end, sorted: only itself, those that (or whose jobs) talk to it, and
// every component when only scrapes every component's metrics or is an
// edge every Ingress is reached through.
func (idx *envIndex) involving(only string) []string {
	if slices.Contains(idx.scrapers, only) || slices.Contains(idx.edges, only) {
		return idx.names
	}
	out := idx.users[only]
	if _, found := slices.BinarySearch(idx.names, only); found {
		out = append(slices.Clone(out), only)
		slices.Sort(out)
	}
	return out
}

// Edge reports whether a component is the cluster's edge (the ingress
// controller): public, in the cluster, without an Ingress of its own. It
// takes traffic from the internet.
func Edge(c spec.Component) bool {
	return c.Tier == spec.TierPublic && c.Ingress == nil && c.External == nil
}

// From returns the flows a peer opens.
func (g *Graph) From(p Peer) []Flow {
	return g.filter(func(f Flow) bool { return samePeer(f.From, p) })
}

// To returns the flows that reach a peer.
func (g *Graph) To(p Peer) []Flow {
	return g.filter(func(f Flow) bool { return samePeer(f.To, p) })
}

func (g *Graph) filter(keep func(Flow) bool) []Flow {
	var out []Flow
	for _, f := range g.Flows {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

func samePeer(a, b Peer) bool {
	return a.Kind == b.Kind && a.Component == b.Component && a.Job == b.Job && a.Name == b.Name && a.CIDR == b.CIDR
}

// Endpoint is a concrete end of a connection: a pod (namespace and labels)
// or an address.
type Endpoint struct {
	Namespace string
	Labels    map[string]string
	IP        string
}

// Contains reports whether the endpoint is one of the peer's.
func (p Peer) Contains(e Endpoint) bool {
	switch p.Kind {
	case Pods:
		return e.Labels != nil && e.Namespace == p.Namespace && e.Labels[LabelName] == p.Component && e.Labels[LabelJob] == p.Job
	case DNS:
		return e.Labels != nil && e.Namespace == DNSNamespace && e.Labels[DNSLabel] == DNSApp
	}
	if e.Labels != nil || e.IP == "" {
		return false
	}
	addr, err := netip.ParseAddr(e.IP)
	if err != nil || !contains(p.CIDR, addr) {
		return false
	}
	return !slices.ContainsFunc(p.Except, func(x string) bool { return contains(x, addr) })
}

func contains(cidr string, addr netip.Addr) bool {
	pf, err := netip.ParsePrefix(cidr)
	return err == nil && pf.Contains(addr)
}

// Leaving returns the graph of the flows that may start at an endpoint, in
// order: its Allows answers as g's does for connections from there, and a
// caller probing every pair asks it once per source, not once per pair.
func (g *Graph) Leaving(from Endpoint) *Graph {
	out := &Graph{Env: g.Env}
	for _, f := range g.Flows {
		if f.From.Contains(from) {
			out.Flows = append(out.Flows, f)
		}
	}
	return out
}

// Allows reports whether the graph declares a connection from one endpoint
// to another on a port, and the flow that does. Every pod may reach
// cluster DNS.
func (g *Graph) Allows(from, to Endpoint, port Port) (Flow, bool) {
	if from.Labels != nil && (Peer{Kind: DNS}).Contains(to) && slices.ContainsFunc(DNSPorts, port.Same) {
		return Flow{To: Peer{Kind: DNS}, Ports: DNSPorts, Why: "dns"}, true
	}
	for _, f := range g.Flows {
		if f.From.Contains(from) && f.To.Contains(to) && slices.ContainsFunc(f.Ports, port.Same) {
			return f, true
		}
	}
	return Flow{}, false
}
