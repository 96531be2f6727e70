package connectivity

import (
	"maps"
	"net"
	"slices"

	"github.com/mattfenwick/cyclonus/pkg/matcher"

	"github.com/libertum/platform-gitops/generator/flow"
)

// destinations indexes a stamp's probe destinations so that each source is
// paired only with those it might reach: the ones a flow leaving it
// declares, and the ones a peer of an egress policy selecting it may
// admit. Every other pair is undeclared and denied on the way out, which
// the pair loop skips without asking more; at 1,000 components that was
// almost every one of a stamp's million pairs, asked one by one.
//
// The index only narrows which pairs are asked: the verdict on each is
// still the engine's. Peers it cannot narrow (address blocks aside, any
// peer not selected by pod labels or namespace) make every destination a
// candidate.
type destinations struct {
	all []int
	// internal are the destinations inside the cluster; byLabel files them
	// under each of their pods' labels, byNamespace under their namespace.
	internal    []int
	byLabel     map[[2]string][]int
	byNamespace map[string][]int
	// byComponent files the destinations flows name (pods carrying
	// app.kubernetes.io/name) under namespace and name; dns are those a
	// flow to cluster DNS reaches; unlabelled those outside the cluster.
	byComponent map[[2]string][]int
	dns         []int
	unlabelled  []int
	// ips are the destinations' addresses, for address blocks; byBlock
	// remembers each block's destinations.
	ips     []net.IP
	byBlock map[string][]int

	seen []int // the generation that last listed each destination
	gen  int
}

func newDestinations(dsts []node) *destinations {
	d := &destinations{
		byLabel: map[[2]string][]int{}, byNamespace: map[string][]int{}, byComponent: map[[2]string][]int{},
		ips: make([]net.IP, len(dsts)), byBlock: map[string][]int{}, seen: make([]int, len(dsts)),
	}
	for i, dst := range dsts {
		d.all = append(d.all, i)
		d.ips[i] = net.ParseIP(dst.peer.IP)
		if in := dst.peer.Internal; in != nil {
			d.internal = append(d.internal, i)
			d.byNamespace[in.Namespace] = append(d.byNamespace[in.Namespace], i)
			for k, v := range in.PodLabels {
				d.byLabel[[2]string{k, v}] = append(d.byLabel[[2]string{k, v}], i)
			}
		}
		if dst.ep.Labels == nil {
			d.unlabelled = append(d.unlabelled, i)
		} else {
			key := [2]string{dst.ep.Namespace, dst.ep.Labels[flow.LabelName]}
			d.byComponent[key] = append(d.byComponent[key], i)
		}
		if (flow.Peer{Kind: flow.DNS}).Contains(dst.ep) {
			d.dns = append(d.dns, i)
		}
	}
	return d
}

// candidates lists, in order, the destinations src might reach: every one
// for a source outside the cluster or one no egress policy selects.
func (d *destinations) candidates(src node, leaving *flow.Graph, sel *selection) []int {
	if src.peer.Internal == nil {
		return d.all
	}
	targets, _ := sel.targets(&matcher.Traffic{Source: src.peer}, false)
	if len(targets) == 0 {
		return d.all
	}
	d.gen++
	var out []int
	add := func(ix []int) {
		for _, i := range ix {
			if d.seen[i] != d.gen {
				d.seen[i] = d.gen
				out = append(out, i)
			}
		}
	}
	// Declared: flow.Graph.Allows, which lets every pod reach cluster DNS.
	add(d.dns)
	for _, f := range leaving.Flows {
		switch f.To.Kind {
		case flow.Pods:
			add(d.byComponent[[2]string{f.To.Namespace, f.To.Component}])
		case flow.DNS:
			// Listed above for every source.
		default:
			// Any other peer holds only endpoints without labels.
			add(d.unlabelled)
		}
	}
	// Admitted on the way out: the destinations some peer may allow.
	for _, tg := range targets {
		for _, pm := range tg.Peers {
			ix, ok := d.admittable(pm)
			if !ok {
				return d.all
			}
			add(ix)
		}
	}
	slices.Sort(out)
	return out
}

// admittable narrows the destinations a peer of a policy may allow; ok is
// false for a peer it cannot narrow.
func (d *destinations) admittable(pm matcher.PeerMatcher) ([]int, bool) {
	switch p := pm.(type) {
	case *matcher.PodPeerMatcher:
		// Only pods, and only those carrying every label the selector
		// names (any one of them narrows enough).
		if ls, ok := p.Pod.(*matcher.LabelSelectorPodMatcher); ok && len(ls.Selector.MatchLabels) > 0 {
			k := slices.Min(slices.Collect(maps.Keys(ls.Selector.MatchLabels)))
			return d.byLabel[[2]string{k, ls.Selector.MatchLabels[k]}], true
		}
		if ns, ok := p.Namespace.(*matcher.ExactNamespaceMatcher); ok {
			return d.byNamespace[ns.Namespace], true
		}
		return d.internal, true
	case *matcher.IPPeerMatcher:
		// The destinations whose address is in the block (its exceptions
		// are the engine's to apply), or that have none it can read.
		if ix, ok := d.byBlock[p.IPBlock.CIDR]; ok {
			return ix, true
		}
		_, block, err := net.ParseCIDR(p.IPBlock.CIDR)
		if err != nil {
			return nil, false
		}
		var ix []int
		for i, ip := range d.ips {
			if ip == nil || block.Contains(ip) {
				ix = append(ix, i)
			}
		}
		d.byBlock[p.IPBlock.CIDR] = ix
		return ix, true
	}
	return nil, false
}
