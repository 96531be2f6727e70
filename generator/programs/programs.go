// Package programs is what each third-party program the platform runs
// needs from the platform, written down once: the ports its peers, clients
// and scrapers connect to (protocol included), the files it reads and the
// modes it accepts, the paths it writes and the endpoints it calls. Every
// fact names its source — the program's own documentation or source at the
// version the environments pin — and is derived from the program's
// rendered configuration where the configuration sets it (Loki's
// server.grpc_listen_port, Kafka's listeners and voters, Redis' replicaof).
//
// The generator renders the NetworkPolicies' peer ports from it (not from
// annotations a chart writes about itself), and package needs holds every
// rendered pod against it.
package programs

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/image"
	"github.com/libertum/platform-gitops/generator/manifest"
)

// Users says who connects to a port.
type Users uint8

// Who connects to a port: the program's clients, its own replicas, the
// metrics scraper.
const (
	Clients Users = 1 << iota
	Peers
	Scrapers
)

func (u Users) String() string {
	var out []string
	for _, n := range []struct {
		u    Users
		name string
	}{{Clients, "clients"}, {Peers, "peers"}, {Scrapers, "scrapers"}} {
		if u&n.u != 0 {
			out = append(out, n.name)
		}
	}
	return strings.Join(out, ", ")
}

// Listen is a port the program listens on.
type Listen struct {
	Port  flow.Port
	Users Users
	// Why says what the port is for and where its number comes from.
	Why    string
	Source string
}

// Read is a file the program reads.
type Read struct {
	Path string
	// Private: the program refuses the file when group or others may
	// read it (a mode with any of 077).
	Private bool
	Why     string
	Source  string
}

// SecretRead is a Secret the program reads from the API server (not from
// a file): the program runs without it, worse, when it is missing.
type SecretRead struct {
	Namespace, Name string
	// Type is the Secret type the program wants (kubernetes.io/tls).
	Type string
	// Missing is what the program does without it.
	Missing string
	Why     string
	Source  string
}

// Write is a path the program writes (a file or a directory).
type Write struct {
	Path   string
	Why    string
	Source string
}

// Call is a connection the program opens.
type Call struct {
	// Service is an Azure service of spec.regions.<region>.azureEndpoints
	// (entra-id, blob, kube-apiserver), "internet", or empty when Host is
	// a name in the cluster (a Service's DNS name).
	Service string
	// Host is the name the program connects to.
	Host   string
	Port   flow.Port
	Why    string
	Source string
}

// Problem is a configuration the program cannot work with on its own.
type Problem struct {
	Message string
	Source  string
}

// Needs is what one container's program needs.
type Needs struct {
	// Program names the catalog entry and the version it was read for.
	Program  string
	Version  string
	Listens  []Listen
	Reads    []Read
	Secrets  []SecretRead
	Writes   []Write
	Calls    []Call
	Problems []Problem
	// ServiceAccountToken: the program reads the pod's service account
	// token to call the API server.
	ServiceAccountToken bool
}

// PeerPorts returns the ports the program's replicas connect to each
// other on.
func (n Needs) PeerPorts() []flow.Port {
	var out []flow.Port
	for _, l := range n.Listens {
		if l.Users&Peers != 0 && !slices.ContainsFunc(out, l.Port.Same) {
			out = append(out, l.Port)
		}
	}
	return flow.SortPorts(out)
}

// Program is one catalog entry.
type Program struct {
	Name string
	// Images are the repositories the program ships in, as the
	// environment pins them (the path after the registry); none means
	// any image (a tool Run recognises by its command).
	Images []string
	// Versions are the versions (major.minor) the entry was read for.
	Versions []string
	// Run says whether a container runs this program (several programs
	// ship in one image: mongod and mongosh); nil means every container
	// of the image does.
	Run   func(c *corev1.Container) bool
	needs func(c Container) (Needs, error)
}

// Covers reports whether the entry was read for the version an image tag
// names (3.4.2 is covered by 3.4).
func (p *Program) Covers(version string) bool {
	v := strings.TrimPrefix(version, "v")
	for _, want := range p.Versions {
		if v == want || strings.HasPrefix(v, want+".") {
			return true
		}
	}
	return false
}

// catalog lists every entry; see the files of this package for each.
var catalog = []*Program{
	install,
	loki, promtail, grafana, prometheus, alertmanager, kubeStateMetrics,
	ingressNginx, kafka, redis, mongod, mongosh,
}

// Repository returns an image reference's repository without its registry,
// tag and digest (acr.azurecr.io/grafana/loki:3.4.2@sha256:… is
// grafana/loki), and its tag without the digest.
func Repository(ref string) (repo, tag string) {
	r, err := image.Parse(ref)
	if err != nil {
		return "", ""
	}
	return r.Path, r.Tag
}

// Of returns the catalog entry for a container, nil when the catalog has
// none for its image.
func Of(c *corev1.Container) *Program {
	repo, _ := Repository(c.Image)
	for _, p := range catalog {
		if (len(p.Images) == 0 || slices.Contains(p.Images, repo)) && (p.Run == nil || p.Run(c)) {
			return p
		}
	}
	return nil
}

// For returns what a container's program needs, and the entry; a nil
// entry (no error) means the catalog does not know the program.
func For(c Container) (Needs, *Program, error) {
	p := Of(c.Spec)
	if p == nil {
		return Needs{}, nil, nil
	}
	n, err := p.needs(c)
	if err != nil {
		return Needs{}, p, fmt.Errorf("%s container %s (%s): %w", c.Workload, c.Spec.Name, p.Name, err)
	}
	n.Program, n.Version = p.Name, strings.Join(p.Versions, ", ")
	return n, p, nil
}

// PeerPorts returns the ports a component's replicas connect to each other
// on: what the programs of its main pods (those labelled with the
// component and no job) need, from their rendered configuration.
func PeerPorts(component string, objs []*manifest.Object, template func(*manifest.Object) (*corev1.PodTemplateSpec, error)) ([]flow.Port, error) {
	var out []flow.Port
	for _, o := range objs {
		if manifest.IsJob(o.GetKind()) {
			continue
		}
		t, err := template(o)
		if err != nil {
			return nil, err
		}
		if t == nil || t.Labels[flow.LabelName] != component || t.Labels[flow.LabelJob] != "" {
			continue
		}
		for i := range t.Spec.Containers {
			n, _, err := For(Container{Component: component, Workload: manifest.IDOf(o), Object: o, Pod: t, Spec: &t.Spec.Containers[i], Objects: objs})
			if err != nil {
				return nil, err
			}
			for _, p := range n.PeerPorts() {
				if !slices.ContainsFunc(out, p.Same) {
					out = append(out, p)
				}
			}
		}
	}
	return flow.SortPorts(out), nil
}

// Interface is flow.InterfaceWith with the peer ports the catalog derives
// from the programs' configuration.
func Interface(component string, objs []*manifest.Object, template func(*manifest.Object) (*corev1.PodTemplateSpec, error)) (flow.Interface, error) {
	iface, err := flow.InterfaceWith(component, objs, template)
	if err != nil {
		return iface, err
	}
	iface.Peer, err = PeerPorts(component, objs, template)
	return iface, err
}

func tcp(name string, port int32) flow.Port {
	return flow.Port{Name: name, Port: port, Protocol: corev1.ProtocolTCP}
}

func udp(name string, port int32) flow.Port {
	return flow.Port{Name: name, Port: port, Protocol: corev1.ProtocolUDP}
}
