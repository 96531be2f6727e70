package needs

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/libertum/platform-gitops/generator/connectivity"
	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/programs"
)

// connections collects the connections one pod's programs need, then has
// the engine judge each once.
type connections struct {
	stamp *stamp
	from  *pod
	list  []conn
	// problems are needs that name nothing to connect to.
	problems []policy.Finding
}

// conn is one needed connection to one endpoint.
type conn struct {
	to     flow.Endpoint
	toName string // what the finding calls the destination
	// group joins the connections one finding reports together: the
	// ranges of one Azure service.
	group string
	port  flow.Port
	why   string // program: reason [source]
}

func (cs *connections) add(to flow.Endpoint, toName string, port flow.Port, why string) {
	cs.addTo(to, toName, toName, port, why)
}

func (cs *connections) addTo(to flow.Endpoint, toName, group string, port flow.Port, why string) {
	for _, c := range cs.list {
		if c.toName == toName && c.port.Same(port) && c.to.IP == to.IP {
			return
		}
	}
	cs.list = append(cs.list, conn{to: to, toName: toName, group: group, port: port, why: why})
}

// needs adds the connections of one container's needs.
func (cs *connections) needs(program, container string, n programs.Needs, replicas int) {
	p := cs.from
	who := program
	if who == "" {
		who = n.Program
	}
	if replicas != 1 {
		for _, l := range n.Listens {
			if l.Users&programs.Peers != 0 {
				cs.add(p.ep, "the other replicas of "+p.String(), l.Port, fmt.Sprintf("%s: %s [%s]", who, l.Why, l.Source))
			}
		}
	}
	for _, c := range n.Calls {
		why := fmt.Sprintf("%s: %s [%s]", who, c.Why, c.Source)
		switch c.Service {
		case "":
			cs.cluster(c, why)
		case programs.ServiceAnnotatedPods:
			for _, q := range cs.stamp.pods {
				if q.tpl.Annotations[flow.ScrapeAnnotation] != "true" {
					continue
				}
				port, err := strconv.ParseInt(q.tpl.Annotations[flow.MetricsPortAnnotation], 10, 32)
				if err != nil {
					continue // the metrics port check (connectivity) names it
				}
				cs.add(q.ep, q.String(), flow.Port{Name: "metrics", Port: int32(port), Protocol: corev1.ProtocolTCP}, why)
			}
		case programs.ServiceNodes:
			pf, err := netip.ParsePrefix(cs.stamp.net.PrivateSubnet)
			if err != nil {
				continue // the spec's own validation names it
			}
			a := pf.Addr().Next().Next().Next().Next()
			cs.add(flow.Endpoint{IP: a.String()}, "the nodes ("+pf.String()+")", c.Port, why)
		case programs.ServiceInternet:
			cs.add(flow.Endpoint{IP: connectivity.InternetProbe}, "the internet ("+c.Host+")", c.Port, why)
		default:
			cs.azure(c, why)
		}
	}
}

// azure adds a call to an Azure service at the address the spec declares
// for it.
func (cs *connections) azure(c programs.Call, why string) {
	ep, ok := cs.stamp.net.Endpoint(c.Service)
	if !ok {
		cs.problems = append(cs.problems, cs.from.finding(RuleConnect, policy.Deny,
			fmt.Sprintf("%s's pods call %s (%s:%d) but spec.regions' azureEndpoints declare no %s for the stamp's region, so no NetworkPolicy can admit it: %s", cs.from, c.Service, c.Host, c.Port.Port, c.Service, why),
			"declare the service in the region's spec.regions.<region>.azureEndpoints (its private endpoint cidr, its public ranges, or nat: true)"))
		return
	}
	switch {
	case ep.NAT:
		cs.add(flow.Endpoint{IP: connectivity.InternetProbe}, c.Service+" "+c.Host+" (through the NAT gateway)", c.Port, why)
	case len(ep.Public) > 0:
		for _, r := range ep.Public {
			if pf, err := netip.ParsePrefix(r); err == nil {
				cs.addTo(flow.Endpoint{IP: pf.Addr().Next().String()}, r, c.Service+" "+c.Host, c.Port, why)
			}
		}
	default:
		if pf, err := netip.ParsePrefix(ep.CIDR); err == nil {
			a := pf.Addr()
			if pf.Bits() < a.BitLen() {
				a = a.Next().Next().Next().Next()
			}
			cs.add(flow.Endpoint{IP: a.String()}, c.Service+" "+c.Host+" ("+ep.CIDR+")", c.Port, why)
		}
	}
}

// cluster adds a call to a name in the cluster: a Service, or one pod of
// a headless Service.
func (cs *connections) cluster(c programs.Call, why string) {
	svc, ok := cs.stamp.resolve(c.Host, cs.from.in.Object.GetNamespace())
	if !ok {
		cs.problems = append(cs.problems, cs.from.finding(RuleConnect, policy.Deny,
			fmt.Sprintf("%s's pods call %s:%d, which no Service rendered in the stamp answers: %s", cs.from, c.Host, c.Port.Port, why),
			"point the program at a Service the stamp renders, or render it"))
		return
	}
	name := "Service " + svc.svc.Namespace + "/" + svc.svc.Name
	headless := svc.svc.Spec.ClusterIP == corev1.ClusterIPNone
	var sp *corev1.ServicePort
	for i := range svc.svc.Spec.Ports {
		q := &svc.svc.Spec.Ports[i]
		if q.Port == c.Port.Port && protocolOf(q.Protocol) == c.Port.Protocol {
			sp = q
		}
	}
	if len(svc.svc.Spec.Selector) == 0 {
		// Outside the cluster: the addresses of its EndpointSlices.
		for _, es := range svc.slice {
			port := c.Port
			for _, ep := range es.Ports {
				if sp != nil && ep.Name != nil && *ep.Name == sp.Name && ep.Port != nil {
					port.Port = *ep.Port
				}
			}
			for _, e := range es.Endpoints {
				for _, a := range e.Addresses {
					cs.add(flow.Endpoint{IP: a}, name+" ("+a+")", port, why)
				}
			}
		}
		return
	}
	if sp == nil && !headless {
		cs.problems = append(cs.problems, cs.from.finding(RuleConnect, policy.Deny,
			fmt.Sprintf("%s's pods call %s:%d, but %s has no port %d: %s", cs.from, c.Host, c.Port.Port, name, c.Port.Port, why),
			"make the program and the Service agree on the port"))
		return
	}
	found := false
	for _, q := range cs.stamp.pods {
		if q.in.Object.GetNamespace() != svc.svc.Namespace || !labels.SelectorFromSet(svc.svc.Spec.Selector).Matches(labels.Set(q.tpl.Labels)) {
			continue
		}
		port := c.Port
		if !headless {
			target, ok := targetPort(*sp, q.tpl)
			if !ok {
				cs.problems = append(cs.problems, cs.from.finding(RuleConnect, policy.Deny,
					fmt.Sprintf("%s's pods call %s:%d, whose targetPort %s no container of %s declares: %s", cs.from, c.Host, c.Port.Port, sp.TargetPort.String(), q, why),
					"declare the target port in the pods the Service selects"))
				continue
			}
			port.Port = target
		}
		found = true
		cs.add(q.ep, name+" ("+q.String()+")", port, why)
	}
	if !found {
		cs.problems = append(cs.problems, cs.from.finding(RuleConnect, policy.Deny,
			fmt.Sprintf("%s's pods call %s:%d, but %s selects no pod the stamp renders: %s", cs.from, c.Host, c.Port.Port, name, why),
			"make the Service's selector match the pods it fronts"))
	}
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// targetPort resolves a Service port's target in a pod template: a
// number, or a container port's name.
func targetPort(sp corev1.ServicePort, t *corev1.PodTemplateSpec) (int32, bool) {
	switch {
	case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal == 0:
		return sp.Port, true
	case sp.TargetPort.Type == intstr.Int:
		return sp.TargetPort.IntVal, true
	}
	for _, c := range t.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == sp.TargetPort.StrVal {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// resolve finds the Service a name in the cluster stands for, as cluster
// DNS answers it from a pod in namespace ns: svc, svc.ns, svc.ns.svc,
// svc.ns.svc.cluster.local, and pod.svc.ns… for a headless Service's pod.
func (s *stamp) resolve(host, ns string) (*service, bool) {
	h := strings.TrimSuffix(strings.TrimSuffix(host, "."), ".cluster.local")
	h = strings.TrimSuffix(h, ".svc")
	parts := strings.Split(h, ".")
	var key string
	switch len(parts) {
	case 1:
		key = ns + "/" + parts[0]
	case 2:
		key = parts[1] + "/" + parts[0]
	case 3:
		key = parts[2] + "/" + parts[1]
	default:
		return nil, false
	}
	svc, ok := s.services[key]
	return svc, ok
}

// judge asks the engine about every collected connection; each denied one
// is a finding naming the pods, the port and the policy files.
func (cs *connections) judge() ([]policy.Finding, error) {
	out := slices.Clone(cs.problems)
	if cs.stamp.judge == nil {
		return out, nil // no NetworkPolicy rendered: nothing to deny with
	}
	type denied struct {
		c     conn
		names []string
		v     connectivity.Verdict
	}
	var order []string
	byGroup := map[string]*denied{}
	for _, c := range cs.list {
		v, err := cs.stamp.judge.Judge(cs.from.ep, c.to, c.port)
		if err != nil {
			return nil, err
		}
		if v.Allowed {
			continue
		}
		k := c.group + "|" + c.port.String() + "|" + c.why
		d, ok := byGroup[k]
		if !ok {
			d = &denied{c: c, v: v}
			byGroup[k] = d
			order = append(order, k)
		}
		if c.toName != c.group {
			d.names = append(d.names, c.toName)
		}
	}
	for _, k := range order {
		d := byGroup[k]
		to := d.c.group
		if len(d.names) > 0 {
			to += " (" + strings.Join(d.names, ", ") + ")"
		}
		by := "no rule of the policies selecting them admits it"
		if len(d.v.Policies) > 0 {
			var ps []string
			for i, p := range d.v.Policies {
				if i < len(d.v.Files) {
					p += " (" + d.v.Files[i] + ")"
				}
				ps = append(ps, p)
			}
			by = "denied by " + strings.Join(ps, ", ")
		}
		out = append(out, cs.from.finding(RuleConnect, policy.Deny,
			fmt.Sprintf("%s's pods cannot reach %s on %s, which %s needs; %s", cs.from, to, d.c.port, d.c.why, by),
			"admit the connection in the NetworkPolicies (the generator derives them from the spec and the programs' configuration: declare the flow, or fix the base or overlay that narrows it)"))
	}
	return out, nil
}
