// Package connectivity asks an independent NetworkPolicy engine —
// cyclonus' matcher, which evaluates ingress and egress the way the
// Kubernetes conformance suite reads the API — what a stamp's rendered
// NetworkPolicies allow, for every ordered pair of workloads (and each
// address outside the cluster) on every relevant port, and holds the answer
// against the network intent graph (package flow). Policies from bases and
// overlays count like the generated ones: the engine sees every
// NetworkPolicy the stamp renders.
package connectivity

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Rule names the findings of this check.
const Rule = "network.connectivity"

// InternetProbe is the public address that stands for the internet.
const InternetProbe = "203.0.113.10"

// Conn is the engine's answer for one connection and the graph's.
type Conn struct {
	Stamp string `json:"stamp"`
	From  string `json:"from"`
	To    string `json:"to"`
	// FromComponent and ToComponent name the component (or, outside the
	// cluster, the address peer: internet, azure:blob, a host) of each end.
	FromComponent string    `json:"fromComponent"`
	ToComponent   string    `json:"toComponent"`
	Port          flow.Port `json:"port"`
	// Allowed is the engine's answer; Intended the graph's.
	Allowed  bool `json:"allowed"`
	Intended bool `json:"intended"`
	// Why is what declares an intended flow.
	Why string `json:"why,omitempty"`
	// Policies are the NetworkPolicies (namespace/name) that decide: those
	// denying a blocked flow, those admitting an undeclared one.
	Policies []string `json:"policies,omitempty"`
	// Unselected names the workload (and direction) no policy selects when
	// that is what lets an undeclared flow through.
	Unselected string `json:"unselected,omitempty"`

	from, to node
}

// Unlinked returns copies of conns without their links to the probed
// objects (which Findings reads): what a report keeps of them, holding
// none of the objects.
func Unlinked(conns []Conn) []Conn {
	out := slices.Clone(conns)
	for i := range out {
		out[i].from, out[i].to = node{}, node{}
	}
	return out
}

// Key identifies the connection regardless of the answers.
func (c Conn) Key() string {
	return fmt.Sprintf("%s|%s|%s|%d/%s", c.Stamp, c.From, c.To, c.Port.Port, c.Port.Protocol)
}

func (c Conn) String() string {
	return fmt.Sprintf("%s -> %s on %s", c.From, c.To, c.Port)
}

// node is one probe end: a workload's pods, cluster DNS or an address.
type node struct {
	name      string
	component string
	ep        flow.Endpoint
	ports     []flow.Port
	peer      *matcher.TrafficPeer
	input     *policy.Input
}

// Evaluate probes every ordered pair of every stamp of an environment's
// rendered objects and returns, sorted, the connections that matter: those
// the engine allows and those the intent graph declares (a pair neither
// allows nor declares is fine and not kept; at 1,000 components a stamp has
// millions). Pod templates and NetworkPolicies are converted through
// typed (nil: converted here).
func Evaluate(env *spec.Environment, inputs []policy.Input, typed *manifest.Typed) ([]Conn, error) {
	byStamp := map[string][]policy.Input{}
	for _, in := range inputs {
		if in.Stamp != "" {
			byStamp[in.Stamp] = append(byStamp[in.Stamp], in)
		}
	}
	var out []Conn
	for _, st := range env.Spec.Stamps {
		conns, err := evaluateStamp(env, st, byStamp[st.Name], typed)
		if err != nil {
			return nil, fmt.Errorf("connectivity %s/%s: %w", env.Name(), st.Name, err)
		}
		out = append(out, conns...)
	}
	return out, nil
}

func evaluateStamp(env *spec.Environment, stamp spec.Stamp, inputs []policy.Input, typed *manifest.Typed) (conns []Conn, err error) {
	defer func() {
		if r := recover(); r != nil {
			conns, err = nil, fmt.Errorf("the NetworkPolicy engine failed: %v", r)
		}
	}()
	p, err := newProbe(env, stamp, inputs, typed)
	if err != nil {
		return nil, err
	}
	g, srcs, dsts, sel := p.graph, p.srcs, p.dsts, p.sel
	dix := newDestinations(dsts)
	var out []Conn
	for _, src := range srcs {
		leaving := g.Leaving(src.ep)
		for _, d := range dix.candidates(src, leaving, sel) {
			dst := dsts[d]
			if src.peer.Internal == nil && (dst.peer.Internal == nil || dst.input == nil) {
				continue // outside to outside, or to cluster DNS: not ours to police
			}
			for _, port := range dst.ports {
				traffic := &matcher.Traffic{
					Source: src.peer, Destination: dst.peer,
					ResolvedPort: int(port.Port), ResolvedPortName: port.Name, Protocol: port.Protocol,
				}
				f, intended := leaving.Allows(src.ep, dst.ep, port)
				if !intended && !sel.allowed(traffic, false) {
					continue // denied on the way out and not needed: most pairs
				}
				egress := sel.direction(traffic, false)
				ingress := sel.direction(traffic, true)
				allowed := egress.IsAllowed() && ingress.IsAllowed()
				if !allowed && !intended {
					continue
				}
				c := Conn{Stamp: stamp.Name, From: src.name, To: dst.name, Port: port, FromComponent: src.component, ToComponent: dst.component,
					Allowed: allowed, Intended: intended, from: src, to: dst}
				if intended {
					c.Why = f.Why
				}
				switch {
				case intended && !c.Allowed:
					c.Policies = append(names(ingress.DenyingTargets), names(egress.DenyingTargets)...)
				case !intended && c.Allowed:
					c.Policies = append(names(ingress.AllowingTargets), names(egress.AllowingTargets)...)
					if len(egress.AllowingTargets)+len(egress.DenyingTargets) == 0 && src.peer.Internal != nil {
						c.Unselected = src.name + " (egress)"
					} else if len(ingress.AllowingTargets)+len(ingress.DenyingTargets) == 0 && dst.peer.Internal != nil {
						c.Unselected = dst.name + " (ingress)"
					}
				}
				out = append(out, c)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// probe is what a stamp is probed with: its intent graph, the probe ends
// (workloads, cluster DNS, the addresses outside) and the engine's
// policies.
type probe struct {
	graph      *flow.Graph
	srcs, dsts []node
	engine     *matcher.Policy
	sel        *selection
}

func newProbe(env *spec.Environment, stamp spec.Stamp, inputs []policy.Input, typed *manifest.Typed) (*probe, error) {
	// Each pod template is decoded once, for the interfaces and the probes.
	if typed == nil {
		typed = manifest.NewTyped()
	}
	se, err := engineOf(inputs, typed)
	if err != nil {
		return nil, err
	}
	st := se.st
	template := typed.Template
	ifaces := map[string]flow.Interface{}
	for name, c := range env.Spec.Components {
		if c.External != nil {
			continue
		}
		iface, err := programs.Interface(name, st.byComponent[name], template)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		ifaces[name] = iface
	}
	g, err := flow.Build(env, stamp, ifaces)
	if err != nil {
		return nil, err
	}
	pods, err := workloads(inputs, st.nsLabels, env.Network(stamp).Pods(), template, ifaces)
	if err != nil {
		return nil, err
	}
	dsts := append([]node(nil), pods...)
	dsts = append(dsts, dnsNode())
	srcs := append([]node(nil), pods...)
	for _, a := range addresses(g) {
		dsts = append(dsts, a)
		srcs = append(srcs, a)
	}
	return &probe{graph: g, srcs: srcs, dsts: dsts, engine: se.engine, sel: newSelection(se.engine)}, nil
}

// stampEngine is what the engine reads of one stamp: its objects by
// component, NetworkPolicies and namespaces' labels, and the engine built
// from the policies. The connectivity rule and the programs' needs (Judge)
// judge the same stamp at once; through typed they build it once. Both
// only read it (each asks through a selection of its own, which caches).
type stampEngine struct {
	st     *stampObjects
	engine *matcher.Policy
}

// engineKey names a stamp's stampEngine in a manifest.Typed by its inputs:
// the first object and how many.
type engineKey struct {
	first *manifest.Object
	n     int
}

// engineOf is the stampEngine of one stamp's inputs, built once per typed.
func engineOf(inputs []policy.Input, typed *manifest.Typed) (*stampEngine, error) {
	newEngine := func() (*stampEngine, error) {
		st, err := decodeStamp(inputs, typed)
		if err != nil {
			return nil, err
		}
		engine, err := build(st.netpols, st.files)
		if err != nil {
			return nil, err
		}
		return &stampEngine{st: st, engine: engine}, nil
	}
	if len(inputs) == 0 {
		return newEngine()
	}
	return manifest.Shared(typed, engineKey{inputs[0].Object, len(inputs)}, newEngine)
}

// stampObjects is what a stamp's rendered objects give the engine.
type stampObjects struct {
	byComponent map[string][]*manifest.Object
	netpols     []*networkingv1.NetworkPolicy
	files       []string // each NetworkPolicy's file
	nsLabels    map[string]map[string]string
}

// decodeStamp reads a stamp's NetworkPolicies (with the API server's defaults
// applied, which the engine expects; each converted once per typed) and its
// namespaces' labels.
func decodeStamp(inputs []policy.Input, typed *manifest.Typed) (*stampObjects, error) {
	st := &stampObjects{byComponent: map[string][]*manifest.Object{}, nsLabels: map[string]map[string]string{}}
	for i := range inputs {
		in := &inputs[i]
		o := in.Object
		st.byComponent[in.Component] = append(st.byComponent[in.Component], o)
		switch o.GetKind() {
		case "NetworkPolicy":
			np, err := manifest.Convert(typed, networkPolicyKey{}, o, networkPolicy)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", in.File, err)
			}
			st.netpols = append(st.netpols, np)
			st.files = append(st.files, in.File)
		case "Namespace":
			st.nsLabels[manifest.Name(o)] = manifest.Labels(o)
		}
	}
	return st, nil
}

// networkPolicyKey names networkPolicy's conversions in a manifest.Typed.
type networkPolicyKey struct{}

// networkPolicy converts a NetworkPolicy with the API server's defaults.
func networkPolicy(o *manifest.Object) (*networkingv1.NetworkPolicy, error) {
	var np networkingv1.NetworkPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &np); err != nil {
		return nil, err
	}
	if np.Namespace == "" {
		np.Namespace = "default"
	}
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	return &np, nil
}

// selection gives the engine's verdict for one direction of traffic, as its
// IsIngressOrEgressAllowed does, asking which policies select a pod once
// per pod and direction instead of once per pair, and through an index
// instead of the engine's scan of every policy (quadratic for a large
// stamp): a pod outside the cluster is never restricted, a pod no policy
// selects is open, otherwise the traffic needs one selecting policy whose
// rules (the engine's Target.Allows) admit the peer and port.
type selection struct {
	egress, ingress side
}

// side is one direction's policies: indexed, and those selecting each pod
// asked about so far.
type side struct {
	index targetIndex
	pods  map[*matcher.InternalPeer][]*matcher.Target
}

func newSelection(engine *matcher.Policy) *selection {
	return &selection{
		egress:  side{index: newTargetIndex(engine.Egress), pods: map[*matcher.InternalPeer][]*matcher.Target{}},
		ingress: side{index: newTargetIndex(engine.Ingress), pods: map[*matcher.InternalPeer][]*matcher.Target{}},
	}
}

// targetIndex files policies under namespace and the first (sorted) label
// of their selector's matchLabels; those without matchLabels under the
// namespace alone.
type targetIndex struct {
	byLabel map[[3]string][]*matcher.Target // namespace, key, value
	any     map[string][]*matcher.Target
}

func newTargetIndex(targets map[string]*matcher.Target) targetIndex {
	ix := targetIndex{byLabel: map[[3]string][]*matcher.Target{}, any: map[string][]*matcher.Target{}}
	for _, tg := range targets {
		if len(tg.PodSelector.MatchLabels) == 0 {
			ix.any[tg.Namespace] = append(ix.any[tg.Namespace], tg)
			continue
		}
		k := slices.Min(slices.Collect(maps.Keys(tg.PodSelector.MatchLabels)))
		key := [3]string{tg.Namespace, k, tg.PodSelector.MatchLabels[k]}
		ix.byLabel[key] = append(ix.byLabel[key], tg)
	}
	return ix
}

// selecting returns the policies selecting a pod: the engine's
// TargetsApplyingToPod, from the index's candidates by the engine's own
// Target.IsMatch.
func (ix targetIndex) selecting(namespace string, labels map[string]string) []*matcher.Target {
	var out []*matcher.Target
	keep := func(tgs []*matcher.Target) {
		for _, tg := range tgs {
			if tg.IsMatch(namespace, labels) {
				out = append(out, tg)
			}
		}
	}
	keep(ix.any[namespace])
	for k, v := range labels {
		keep(ix.byLabel[[3]string{namespace, k, v}])
	}
	return out
}

func (s *selection) direction(t *matcher.Traffic, isIngress bool) *matcher.DirectionResult {
	d := &matcher.DirectionResult{}
	targets, peer := s.targets(t, isIngress)
	for _, tg := range targets {
		if tg.Allows(peer, t.ResolvedPort, t.ResolvedPortName, t.Protocol) {
			d.AllowingTargets = append(d.AllowingTargets, tg)
		} else {
			d.DenyingTargets = append(d.DenyingTargets, tg)
		}
	}
	return d
}

// allowed is direction(t, isIngress).IsAllowed() without collecting which
// policies decide (no policy selects the pod, or one admits the traffic),
// for the million pairs of a large stamp that are denied and need no more.
func (s *selection) allowed(t *matcher.Traffic, isIngress bool) bool {
	targets, peer := s.targets(t, isIngress)
	if len(targets) == 0 {
		return true
	}
	for _, tg := range targets {
		if tg.Allows(peer, t.ResolvedPort, t.ResolvedPortName, t.Protocol) {
			return true
		}
	}
	return false
}

// targets returns the policies selecting the pod the traffic leaves
// (egress) or reaches (ingress), none outside the cluster, and the other end.
func (s *selection) targets(t *matcher.Traffic, isIngress bool) ([]*matcher.Target, *matcher.TrafficPeer) {
	pod, peer, sd := t.Source.Internal, t.Destination, &s.egress
	if isIngress {
		pod, peer, sd = t.Destination.Internal, t.Source, &s.ingress
	}
	if pod == nil {
		return nil, peer
	}
	targets, ok := sd.pods[pod]
	if !ok {
		targets = sd.index.selecting(pod.Namespace, pod.PodLabels)
		sd.pods[pod] = targets
	}
	return targets, peer
}

// build hands the policies to the engine, which panics on what it cannot
// read: that is an error naming the policies' files, not a crash.
func build(netpols []*networkingv1.NetworkPolicy, files []string) (p *matcher.Policy, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the NetworkPolicy engine cannot read the policies of %s: %v", strings.Join(files, ", "), r)
		}
	}()
	return matcher.BuildNetworkPolicies(false, netpols), nil
}

func names(targets []*matcher.Target) []string {
	var out []string
	for _, t := range targets {
		for _, np := range t.SourceRules {
			n := np.Namespace + "/" + np.Name
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// workloads lists every pod template of the stamp (read with template) as
// a probe node, with a pod address from the pod range so address blocks are
// tested against pods too. A component's main pods are probed on the ports
// they declare and on those their interface names (a program's peer port
// need not be declared: UDP gossip beside its TCP twin).
func workloads(inputs []policy.Input, nsLabels map[string]map[string]string, podCIDR string, template func(*manifest.Object) (*corev1.PodTemplateSpec, error), ifaces map[string]flow.Interface) ([]node, error) {
	pf, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return nil, err
	}
	addr := pf.Addr()
	var out []node
	for i := range inputs {
		in := &inputs[i]
		t, err := template(in.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.File, err)
		}
		if t == nil {
			continue
		}
		ns := in.Object.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		labels := map[string]string{flow.NamespaceLabel: ns}
		for k, v := range nsLabels[ns] {
			labels[k] = v
		}
		ports := flow.ContainerPorts(t)
		if iface, ok := ifaces[in.Component]; ok && t.Labels[flow.LabelName] == in.Component && t.Labels[flow.LabelJob] == "" {
			for _, p := range slices.Concat(iface.Client, iface.Peer, iface.Metrics) {
				if !slices.ContainsFunc(ports, p.Same) {
					ports = append(ports, p)
				}
			}
		}
		addr = addr.Next()
		podLabels := t.Labels
		if podLabels == nil {
			podLabels = map[string]string{}
		}
		out = append(out, node{
			name: ns + "/" + manifest.Name(in.Object), component: in.Component, input: in,
			ep:    flow.Endpoint{Namespace: ns, Labels: podLabels},
			ports: ports,
			peer: &matcher.TrafficPeer{IP: addr.String(), Internal: &matcher.InternalPeer{
				PodLabels: podLabels, NamespaceLabels: labels, Namespace: ns,
			}},
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func dnsNode() node {
	labels := map[string]string{flow.DNSLabel: flow.DNSApp}
	return node{
		name: flow.DNSNamespace + "/" + flow.DNSApp,
		ep:   flow.Endpoint{Namespace: flow.DNSNamespace, Labels: labels}, ports: flow.DNSPorts,
		peer: &matcher.TrafficPeer{IP: "10.0.0.10", Internal: &matcher.InternalPeer{
			PodLabels: labels, Namespace: flow.DNSNamespace,
			NamespaceLabels: map[string]string{flow.NamespaceLabel: flow.DNSNamespace},
		}},
	}
}

// addresses are the graph's peers outside the cluster, each probed at one
// address on every port any flow reaches it on; the internet also on 80
// and 443.
func addresses(g *flow.Graph) []node {
	byName := map[string]*node{}
	var order []string
	add := func(p flow.Peer, ports []flow.Port) {
		n, ok := byName[p.Name]
		if !ok {
			ip := InternetProbe
			if p.Name != flow.Internet.Name {
				pf, err := netip.ParsePrefix(p.CIDR)
				if err != nil {
					return
				}
				a := pf.Addr()
				if pf.Bits() < a.BitLen() {
					a = a.Next()
				}
				ip = a.String()
			}
			n = &node{name: p.Name + " " + ip, component: p.Name, ep: flow.Endpoint{IP: ip}, peer: &matcher.TrafficPeer{IP: ip}}
			byName[p.Name] = n
			order = append(order, p.Name)
		}
		for _, q := range ports {
			if !slices.ContainsFunc(n.ports, q.Same) {
				n.ports = append(n.ports, q)
			}
		}
	}
	add(flow.Internet, []flow.Port{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}, flow.HTTPS})
	for _, f := range g.Flows {
		if f.From.Kind == flow.Address {
			add(f.From, nil)
		}
		if f.To.Kind == flow.Address {
			add(f.To, f.Ports)
		}
	}
	sort.Strings(order)
	out := make([]node, 0, len(order))
	for _, name := range order {
		out = append(out, *byName[name])
	}
	return out
}

// Findings holds the engine's answers (Evaluate's, for the same inputs)
// against the graph: a needed flow the policies block and a flow they
// allow that nothing declares are both findings, naming source,
// destination, port and the policy to change.
func Findings(env *spec.Environment, inputs []policy.Input, conns []Conn) []policy.Finding {
	files := map[string]policy.Input{}
	for _, in := range inputs {
		if in.Object.GetKind() == "NetworkPolicy" {
			ns := in.Object.GetNamespace()
			if ns == "" {
				ns = "default"
			}
			files[in.Stamp+"|"+ns+"/"+manifest.Name(in.Object)] = in
		}
	}
	var out []policy.Finding
	for _, c := range conns {
		if c.Allowed == c.Intended {
			continue
		}
		f := policy.Finding{Rule: Rule, Level: policy.Deny, Unit: layout.Unit{Env: env.Name(), Stamp: c.Stamp}}
		// Locate the finding at the first policy to change, or at the
		// workload no policy selects.
		if len(c.Policies) > 0 {
			if in, ok := files[c.Stamp+"|"+c.Policies[0]]; ok {
				f.Component, f.Kind, f.Namespace, f.Name = in.Component, "NetworkPolicy", in.Object.GetNamespace(), manifest.Name(in.Object)
				f.File, f.Source = in.File, in.Source
			}
		} else {
			n := c.to
			if strings.HasPrefix(c.Unselected, c.From) {
				n = c.from
			}
			if n.input != nil {
				f.Component, f.Kind, f.Namespace, f.Name = n.input.Component, n.input.Object.GetKind(), n.input.Object.GetNamespace(), manifest.Name(n.input.Object)
				f.File, f.Source = n.input.File, n.input.Source
			}
		}
		if c.Intended {
			f.Message = fmt.Sprintf("%s cannot reach %s on %s, which %s needs; denied by %s", c.From, c.To, c.Port, c.Why, strings.Join(c.Policies, ", "))
			f.Fix = "admit the flow in the denying NetworkPolicy (a base or overlay policy must not narrow what the spec declares)"
		} else {
			by := "NetworkPolicy " + strings.Join(c.Policies, ", ")
			if len(c.Policies) == 0 {
				by = "no NetworkPolicy selecting " + c.Unselected
			}
			f.Message = fmt.Sprintf("%s can reach %s on %s, which no flow of the spec declares; allowed by %s", c.From, c.To, c.Port, by)
			f.Fix = "declare the flow in the spec (talksTo, jobs, azure) or narrow the NetworkPolicy that admits it"
		}
		out = append(out, f)
	}
	return out
}
