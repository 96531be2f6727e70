package flow

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Policies renders one component's NetworkPolicies from the graph: every
// pod of the component (jobs included) denied both ways and allowed
// cluster DNS; its main pods admitting exactly the flows that reach them,
// on their ports; its main pods and each job's pods reaching exactly the
// flows they open. Egress to another component's pods names no port when
// the graph does not know them: that component's own ingress policy names
// them, and a connection needs both.
func Policies(g *Graph, component, namespace string, jobs []string, hasMain bool) []*networkingv1.NetworkPolicy {
	all := metav1.LabelSelector{MatchLabels: map[string]string{LabelName: component}}
	out := []*networkingv1.NetworkPolicy{
		policy(component+"-default-deny", namespace, all, true, true),
		withEgress(policy(component+"-allow-dns", namespace, all, false, true), []networkingv1.NetworkPolicyEgressRule{{
			To:    []networkingv1.NetworkPolicyPeer{Peer{Kind: DNS}.NetworkPolicyPeer()},
			Ports: policyPorts(DNSPorts),
		}}),
	}
	main := Peer{Kind: Pods, Component: component, Namespace: namespace}
	if hasMain {
		var in []networkingv1.NetworkPolicyIngressRule
		for _, f := range g.To(main) {
			in = append(in, networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{f.From.NetworkPolicyPeer()}, Ports: policyPorts(f.Ports)})
		}
		if len(in) > 0 {
			np := policy(component+"-ingress", namespace, main.selector(), true, false)
			np.Spec.Ingress = in
			out = append(out, np)
		}
	}
	groups := []Peer{}
	if hasMain {
		groups = append(groups, main)
	}
	for _, j := range jobs {
		p := main
		p.Job = j
		groups = append(groups, p)
	}
	for _, p := range groups {
		var eg []networkingv1.NetworkPolicyEgressRule
		// The ranges of one address peer (an Azure service's public
		// ranges) on the same ports are one rule.
		ranges := map[string]int{}
		for _, f := range g.From(p) {
			if f.To.Kind == Address {
				k := fmt.Sprintf("%s|%v", f.To.Name, f.Ports)
				if i, ok := ranges[k]; ok {
					eg[i].To = append(eg[i].To, f.To.NetworkPolicyPeer())
					continue
				}
				ranges[k] = len(eg)
			}
			eg = append(eg, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{f.To.NetworkPolicyPeer()}, Ports: policyPorts(f.Ports)})
		}
		if len(eg) == 0 {
			continue
		}
		name := component + "-egress"
		if p.Job != "" {
			name = p.Job + "-egress"
		}
		out = append(out, withEgress(policy(name, namespace, p.selector(), false, true), eg))
	}
	return out
}

func policy(name, namespace string, sel metav1.LabelSelector, ingress, egress bool) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: sel},
	}
	if ingress {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
	}
	if egress {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
	return np
}

func withEgress(np *networkingv1.NetworkPolicy, rules []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	np.Spec.Egress = rules
	return np
}

// selector selects a pods peer's pods in its own namespace.
func (p Peer) selector() metav1.LabelSelector {
	if p.Kind == DNS {
		return metav1.LabelSelector{MatchLabels: map[string]string{DNSLabel: DNSApp}}
	}
	if p.Job != "" {
		return metav1.LabelSelector{MatchLabels: map[string]string{LabelName: p.Component, LabelJob: p.Job}}
	}
	return metav1.LabelSelector{
		MatchLabels:      map[string]string{LabelName: p.Component},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelJob, Operator: metav1.LabelSelectorOpDoesNotExist}},
	}
}

// NetworkPolicyPeer is the peer as a NetworkPolicy names it.
func (p Peer) NetworkPolicyPeer() networkingv1.NetworkPolicyPeer {
	if p.Kind == Address {
		return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: p.CIDR, Except: p.Except}}
	}
	ns := p.Namespace
	if p.Kind == DNS {
		ns = DNSNamespace
	}
	sel := p.selector()
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceLabel: ns}},
		PodSelector:       &sel,
	}
}

func policyPorts(ps []Port) []networkingv1.NetworkPolicyPort {
	if ps == nil {
		return nil
	}
	out := make([]networkingv1.NetworkPolicyPort, len(ps))
	for i, p := range ps {
		proto, port := p.Protocol, intstr.FromInt32(p.Port)
		out[i] = networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port}
	}
	return out
}
