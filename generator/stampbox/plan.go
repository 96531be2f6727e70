package stampbox

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Addresses AKS gives a cluster, which the box gives its own: the service
// range, the API server's ClusterIP and cluster DNS's.
var (
	serviceCIDR   = netip.MustParsePrefix("10.0.0.0/16")
	apiServiceIP  = netip.MustParseAddr("10.0.0.1")
	clusterDNSIP  = netip.MustParseAddr("10.0.0.10")
	internetIP    = netip.MustParseAddr("203.0.113.10") // a receiver's webhook host
	publicBlobIP  = netip.MustParseAddr("20.60.0.4")    // Blob Storage's public address, through the NAT gateway
	webhookDomain = "hooks.libertum.example"
)

// Pod is one replica of a rendered workload, as the box runs it.
type Pod struct {
	Name      string
	Namespace string
	Component string
	// In is the workload: its object, unit and rendered file.
	In       policy.Input
	Template *corev1.PodTemplateSpec
	IP       netip.Addr
	Node     *Node
	// Hostname and Subdomain give a StatefulSet's pod its DNS name under
	// its headless Service.
	Hostname, Subdomain string
	// Job marks a Job's (or CronJob's) pod: it runs once, to completion.
	Job bool
	// Claims are the StatefulSet's volume claim templates, by name.
	Claims []string
}

// ID is namespace/name.
func (p *Pod) ID() string { return p.Namespace + "/" + p.Name }

// Workload names the pod's workload: Kind namespace/name.
func (p *Pod) Workload() string {
	return p.In.Object.GetKind() + " " + p.In.Object.GetNamespace() + "/" + manifest.Name(p.In.Object)
}

// Node is one node of the stamp: its kubelet answers on its address.
type Node struct {
	Name string
	IP   netip.Addr
	Zone string
}

// Service is a rendered Service with the address the box gives it and
// what it sends to.
type Service struct {
	Svc corev1.Service
	// ClusterIP is invalid for a headless Service.
	ClusterIP netip.Addr
	// Pods it selects; Addresses for a Service without selector (its
	// EndpointSlices').
	Pods      []*Pod
	Addresses []netip.Addr
}

// Headless reports whether the Service has no cluster IP.
func (s *Service) Headless() bool { return s.Svc.Spec.ClusterIP == corev1.ClusterIPNone }

// Plan is one stamp laid out for the box.
type Plan struct {
	Env      *spec.Environment
	Stamp    spec.Stamp
	Inputs   []policy.Input
	Pods     []*Pod
	Nodes    []*Node
	Services map[string]*Service // namespace/name
	// Infrastructure addresses.
	APIServer netip.Addr // the API server's endpoint (spec kube-apiserver)
	Blob      netip.Addr
	EntraID   netip.Addr
	// Postgres is Azure Database for PostgreSQL (Grafana's database) at
	// its private endpoint; invalid when the region declares none.
	Postgres netip.Addr
	// Monitor is Azure Monitor's metrics ingestion, where Prometheus
	// remote-writes; reached over the internet where the spec says nat.
	Monitor    netip.Addr
	External   map[string]netip.Addr // external hosts by name
	Bridge     netip.Addr            // the box's own address: probes and queries come from it
	PodNetwork netip.Prefix
}

// NewPlan lays out one stamp's rendered objects: a pod per replica (the
// autoscaler's minimum for those it scales, one per node for a
// DaemonSet, one run of each CronJob), an address per pod, node and
// Service, and the Azure endpoints where the spec puts them.
func NewPlan(env *spec.Environment, stamp string, inputs []policy.Input) (*Plan, error) {
	p := &Plan{Env: env, Services: map[string]*Service{}, External: map[string]netip.Addr{}}
	i := slices.IndexFunc(env.Spec.Stamps, func(s spec.Stamp) bool { return s.Name == stamp })
	if i < 0 {
		return nil, fmt.Errorf("%s has no stamp %s", env.Name(), stamp)
	}
	p.Stamp = env.Spec.Stamps[i]
	for _, in := range inputs {
		// The stamp's own objects; its Argo CD Applications live in the
		// Argo CD cluster, not in the stamp.
		if in.Stamp == stamp && in.Component != spec.AppsComponent {
			p.Inputs = append(p.Inputs, in)
		}
	}
	var err error
	if p.PodNetwork, err = netip.ParsePrefix(env.Network(p.Stamp).Pods()); err != nil {
		return nil, err
	}
	p.Bridge = p.PodNetwork.Addr().Next()
	if err := p.endpoints(); err != nil {
		return nil, err
	}
	if err := p.nodes(); err != nil {
		return nil, err
	}
	if err := p.pods(); err != nil {
		return nil, err
	}
	if err := p.services(); err != nil {
		return nil, err
	}
	return p, nil
}

// endpoints places the Azure endpoints and external hosts the spec names.
func (p *Plan) endpoints() error {
	first := func(service string) (netip.Addr, bool, error) {
		ep, ok := p.Env.Network(p.Stamp).Endpoint(service)
		switch {
		case !ok:
			return netip.Addr{}, false, nil
		case ep.NAT:
			return netip.Addr{}, true, nil
		case len(ep.Public) > 0:
			pf, err := netip.ParsePrefix(ep.Public[0])
			return pf.Addr().Next(), true, err
		}
		pf, err := netip.ParsePrefix(ep.CIDR)
		return pf.Addr().Next().Next().Next().Next(), true, err
	}
	var err error
	var ok bool
	if p.APIServer, ok, err = first(spec.KubeAPIServer); err != nil || !ok || !p.APIServer.IsValid() {
		return fmt.Errorf("%s: the box runs the API server at the spec's kube-apiserver private endpoint, and there is none (%v)", p.Env.Where("spec", "regions", p.Stamp.Region, "azureEndpoints"), err)
	}
	if p.Blob, _, err = first(programs.ServiceBlob); err != nil {
		return err
	}
	if !p.Blob.IsValid() {
		p.Blob = publicBlobIP
	}
	if p.EntraID, _, err = first(spec.EntraID); err != nil {
		return err
	}
	if p.Monitor, _, err = first(programs.ServiceMonitor); err != nil {
		return err
	}
	if !p.Monitor.IsValid() {
		p.Monitor = internetIP
	}
	var declared bool
	if p.Postgres, declared, err = first(programs.ServicePostgres); err != nil {
		return err
	}
	if declared && !p.Postgres.IsValid() {
		p.Postgres = internetIP // through the NAT gateway
	}
	// Every region's hosts: those of other regions are reached over
	// peering (the policies judge whether they may be).
	for _, r := range p.Env.RegionNames() {
		for _, h := range p.Env.Spec.Regions[r].ExternalHosts {
			a, err := netip.ParseAddr(h.Address)
			if err != nil {
				return err
			}
			p.External[h.Name] = a
		}
	}
	return nil
}

// nodes gives the stamp a node per zone, in the private subnet.
func (p *Plan) nodes() error {
	subnet, err := netip.ParsePrefix(p.Env.Network(p.Stamp).PrivateSubnet)
	if err != nil {
		return err
	}
	zones := p.Env.Spec.Cluster.Zones
	if len(zones) == 0 {
		zones = []string{""}
	}
	a := subnet.Addr().Next().Next().Next() // Azure keeps the first four
	for i, z := range zones {
		a = a.Next()
		zone := p.Stamp.Region
		if z != "" {
			zone += "-" + z
		}
		p.Nodes = append(p.Nodes, &Node{Name: fmt.Sprintf("aks-%s-%d", p.Stamp.Name, i), IP: a, Zone: zone})
	}
	return nil
}

// pods plans the replicas of every workload, in the rendered order.
func (p *Plan) pods() error {
	next := p.Bridge
	alloc := func() netip.Addr { next = next.Next(); return next }
	for _, in := range p.Inputs {
		o := in.Object
		tpl, err := manifest.PodTemplate(o)
		if err != nil {
			return fmt.Errorf("%s: %w", in.File, err)
		}
		if tpl == nil {
			continue
		}
		ns := o.GetNamespace()
		name := manifest.Name(o)
		kind := o.GetKind()
		add := func(podName string, node *Node) *Pod {
			t := tpl.DeepCopy()
			if t.Labels == nil {
				t.Labels = map[string]string{}
			}
			pod := &Pod{Name: podName, Namespace: ns, Component: in.Component, In: in, Template: t, IP: alloc(), Node: node}
			p.Pods = append(p.Pods, pod)
			return pod
		}
		switch kind {
		case "DaemonSet":
			for _, n := range p.Nodes {
				add(name+"-"+n.Name[len(n.Name)-1:], n)
			}
		case "CronJob", "Job":
			pod := add(name+"-box", p.Nodes[0])
			pod.Job = true
		default:
			c := programs.Container{Workload: manifest.IDOf(o), Object: o, Objects: p.unitObjects(in)}
			n := c.Replicas()
			for r := 0; r < n; r++ {
				podName := fmt.Sprintf("%s-%d", name, r)
				if kind != "StatefulSet" {
					podName = fmt.Sprintf("%s-box-%d", name, r)
				}
				pod := add(podName, p.Nodes[r%len(p.Nodes)])
				if kind == "StatefulSet" {
					pod.Hostname = podName
					pod.Subdomain, _, _ = unstructured.NestedString(o.Object, "spec", "serviceName")
					pod.Template.Labels["statefulset.kubernetes.io/pod-name"] = podName
					pod.Template.Labels["apps.kubernetes.io/pod-index"] = strconv.Itoa(r)
					pod.Claims = programs.VolumeClaims(o)
				}
			}
		}
	}
	return nil
}

func (p *Plan) unitObjects(in policy.Input) []*manifest.Object {
	var out []*manifest.Object
	for _, x := range p.Inputs {
		if x.Unit == in.Unit {
			out = append(out, x.Object)
		}
	}
	return out
}

// services gives each Service its cluster IP (in name order) and what it
// sends to.
func (p *Plan) services() error {
	var eps []discoveryv1.EndpointSlice
	for _, in := range p.Inputs {
		o := in.Object
		switch o.GetKind() {
		case "Service":
			var svc corev1.Service
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &svc); err != nil {
				return fmt.Errorf("%s: %w", in.File, err)
			}
			if svc.Namespace == "" {
				svc.Namespace = "default"
			}
			p.Services[svc.Namespace+"/"+svc.Name] = &Service{Svc: svc}
		case "EndpointSlice":
			var es discoveryv1.EndpointSlice
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &es); err != nil {
				return fmt.Errorf("%s: %w", in.File, err)
			}
			eps = append(eps, es)
		}
	}
	keys := make([]string, 0, len(p.Services))
	for k := range p.Services {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	next := serviceCIDR.Addr().Next().Next() // .1 is the API server's, .10 cluster DNS'
	for _, k := range keys {
		s := p.Services[k]
		if !s.Headless() {
			next = next.Next()
			if next == clusterDNSIP {
				next = next.Next()
			}
			s.ClusterIP = next
		}
		if len(s.Svc.Spec.Selector) == 0 {
			for _, es := range eps {
				if es.Namespace == s.Svc.Namespace && es.Labels[discoveryv1.LabelServiceName] == s.Svc.Name {
					for _, e := range es.Endpoints {
						for _, a := range e.Addresses {
							if ip, err := netip.ParseAddr(a); err == nil {
								s.Addresses = append(s.Addresses, ip)
							}
						}
					}
				}
			}
			continue
		}
		for _, pod := range p.Pods {
			if pod.Namespace == s.Svc.Namespace && !pod.Job && labels.SelectorFromSet(s.Svc.Spec.Selector).Matches(labels.Set(pod.Template.Labels)) {
				s.Pods = append(s.Pods, pod)
			}
		}
	}
	return nil
}

// TargetPort resolves a Service port on one of its pods: the number, or
// the pod's container port of that name.
func TargetPort(sp corev1.ServicePort, pod *Pod) (int32, bool) {
	t := sp.TargetPort
	if t.StrVal == "" {
		if t.IntVal == 0 {
			return sp.Port, true
		}
		return t.IntVal, true
	}
	for _, c := range pod.Template.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == t.StrVal {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// Pod returns the pod with that address.
func (p *Plan) Pod(ip netip.Addr) *Pod {
	for _, pod := range p.Pods {
		if pod.IP == ip {
			return pod
		}
	}
	return nil
}

// PodNamed returns a pod by namespace/name.
func (p *Plan) PodNamed(id string) *Pod {
	for _, pod := range p.Pods {
		if pod.ID() == id {
			return pod
		}
	}
	return nil
}

// PodsOf returns the pods of a workload (kind and name).
func (p *Plan) PodsOf(kind, name string) []*Pod {
	var out []*Pod
	for _, pod := range p.Pods {
		if pod.In.Object.GetKind() == kind && manifest.Name(pod.In.Object) == name {
			out = append(out, pod)
		}
	}
	return out
}

// suffix is the cluster's DNS suffix.
const suffix = "svc.cluster.local"

// Names returns what cluster DNS answers for a name: the addresses, and
// whether the name exists (a known name with no address of the asked
// family answers NOERROR, empty).
func (p *Plan) Names(name string) ([]netip.Addr, bool) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	switch {
	case n == "kubernetes.default."+suffix:
		return []netip.Addr{apiServiceIP}, true
	case n == programs.EntraIDHost:
		if p.EntraID.IsValid() {
			return []netip.Addr{p.EntraID}, true
		}
		return nil, false
	case strings.HasSuffix(n, ".blob.core.windows.net"):
		return []netip.Addr{p.Blob}, true
	case strings.HasSuffix(n, spec.MetricsIngestSuffix):
		return []netip.Addr{p.Monitor}, true
	case strings.HasSuffix(n, ".postgres.database.azure.com") && p.Postgres.IsValid():
		return []netip.Addr{p.Postgres}, true
	case n == webhookDomain || strings.HasSuffix(n, "."+webhookDomain):
		return []netip.Addr{internetIP}, true
	}
	rest, ok := strings.CutSuffix(n, "."+suffix)
	if !ok {
		return nil, false
	}
	parts := strings.Split(rest, ".")
	switch len(parts) {
	case 2: // service.namespace
		s, ok := p.Services[parts[1]+"/"+parts[0]]
		if !ok {
			return nil, false
		}
		if !s.Headless() {
			return []netip.Addr{s.ClusterIP}, true
		}
		var out []netip.Addr
		for _, pod := range s.Pods {
			out = append(out, pod.IP)
		}
		return out, true
	case 3: // hostname.subdomain.namespace
		for _, pod := range p.Pods {
			if pod.Hostname == parts[0] && pod.Subdomain == parts[1] && pod.Namespace == parts[2] {
				return []netip.Addr{pod.IP}, true
			}
		}
	}
	return nil, false
}
