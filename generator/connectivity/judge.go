package connectivity

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/mattfenwick/cyclonus/pkg/matcher"

	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
)

// Judge answers, with the engine, whether one stamp's rendered
// NetworkPolicies let an endpoint reach another: the reading Findings holds
// the intent graph against, asked one connection at a time — what a
// program needs (package needs), what was seen on the wire (the stamp in a
// box).
type Judge struct {
	sel      *selection
	nsLabels map[string]map[string]string
	files    map[string]string // namespace/name of a NetworkPolicy -> its rendered file
}

// Verdict is the engine's answer for one connection.
type Verdict struct {
	Allowed bool
	// Policies decide it (namespace/name): those denying a denied
	// connection (none when no rule of a selecting policy admits it in
	// one direction), those admitting an allowed one.
	Policies []string
	// Files are the rendered files of Policies.
	Files []string
}

// NewJudge reads the NetworkPolicies and namespaces among one stamp's
// rendered objects, converting them through typed (nil: converted here).
func NewJudge(inputs []policy.Input, typed *manifest.Typed) (j *Judge, err error) {
	se, err := engineOf(inputs, typed)
	if err != nil {
		return nil, err
	}
	st := se.st
	files := map[string]string{}
	for i, np := range st.netpols {
		files[np.Namespace+"/"+np.Name] = st.files[i]
	}
	return &Judge{sel: newSelection(se.engine), nsLabels: st.nsLabels, files: files}, nil
}

// peer is an endpoint as the engine sees it: a pod (with its namespace's
// labels, the one Kubernetes sets among them) or an address.
func (j *Judge) peer(e flow.Endpoint) *matcher.TrafficPeer {
	if e.Labels == nil {
		return &matcher.TrafficPeer{IP: e.IP}
	}
	ns := e.Namespace
	if ns == "" {
		ns = "default"
	}
	labels := map[string]string{flow.NamespaceLabel: ns}
	maps.Copy(labels, j.nsLabels[ns])
	return &matcher.TrafficPeer{IP: e.IP, Internal: &matcher.InternalPeer{PodLabels: e.Labels, NamespaceLabels: labels, Namespace: ns}}
}

// Judge asks the engine about one connection: both the source's egress
// and the destination's ingress must admit it.
func (j *Judge) Judge(from, to flow.Endpoint, port flow.Port) (v Verdict, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the NetworkPolicy engine failed on %v -> %v %s: %v", from, to, port, r)
		}
	}()
	t := &matcher.Traffic{Source: j.peer(from), Destination: j.peer(to), ResolvedPort: int(port.Port), ResolvedPortName: port.Name, Protocol: port.Protocol}
	egress, ingress := j.sel.direction(t, false), j.sel.direction(t, true)
	v.Allowed = egress.IsAllowed() && ingress.IsAllowed()
	if v.Allowed {
		v.Policies = append(names(egress.AllowingTargets), names(ingress.AllowingTargets)...)
	} else {
		if !egress.IsAllowed() {
			v.Policies = append(v.Policies, names(egress.DenyingTargets)...)
		}
		if !ingress.IsAllowed() {
			v.Policies = append(v.Policies, names(ingress.DenyingTargets)...)
		}
	}
	sort.Strings(v.Policies)
	v.Policies = slices.Compact(v.Policies)
	for _, p := range v.Policies {
		if f, ok := j.files[p]; ok {
			v.Files = append(v.Files, f)
		}
	}
	return v, nil
}

// PodEndpoint is a pod of a rendered workload as an endpoint: its
// namespace and its template's labels.
func PodEndpoint(o *manifest.Object, labels map[string]string, ip string) flow.Endpoint {
	ns := o.GetNamespace()
	if ns == "" {
		ns = "default"
	}
	if labels == nil {
		labels = map[string]string{}
	}
	return flow.Endpoint{Namespace: ns, Labels: labels, IP: ip}
}
