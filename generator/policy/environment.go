package policy

import "github.com/libertum/platform-gitops/generator/spec"

// Environment is data.environment: the part of an environment spec the
// policies read, with each component's consumers worked out.
type Environment struct {
	Name       string     `json:"name"`
	Production bool       `json:"production"`
	Registry   string     `json:"registry"`
	Zones      []string   `json:"zones"`
	Node       Node       `json:"node"`
	Autoscaler Autoscaler `json:"autoscaler"`
	// Regions are the networks of the regions the stamps run in, by name.
	Regions    map[string]Region    `json:"regions"`
	Stamps     map[string]Stamp     `json:"stamps"`
	Components map[string]Component `json:"components"`
	// FrontDoor is the environment's Front Door entry, absent where users
	// reach the stamps directly.
	FrontDoor *FrontDoor `json:"frontDoor,omitempty"`
}

// FrontDoor is what the entry rules check the ingress controller against.
type FrontDoor struct {
	ID           string   `json:"id"`
	BackendCIDRs []string `json:"backendCIDRs"`
}

// Node is the node size pods must fit.
type Node struct {
	Size        string            `json:"size"`
	Allocatable map[string]string `json:"allocatable"`
}

// Autoscaler bounds a stamp's node count.
type Autoscaler struct {
	MinNodes int `json:"minNodes"`
	MaxNodes int `json:"maxNodes"`
	// Source is the spec line that sets them (file:line), for findings
	// about the stamp's capacity.
	Source string `json:"source"`
}

// Region is a region's VNet layout and the hosts in it.
type Region struct {
	VNet          string `json:"vnet"`
	PublicSubnet  string `json:"publicSubnet"`
	PrivateSubnet string `json:"privateSubnet"`
	// Hosts are the machines in its private subnet.
	Hosts []Host `json:"hosts"`
	// MetricsWrite is its Azure Monitor workspace's remote-write URL.
	MetricsWrite string `json:"metricsWrite,omitempty"`
}

// Host is an external host of a region; Global says why other regions'
// stamps reach it too.
type Host struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Global  string `json:"global,omitempty"`
}

// Certificate is a stamp's TLS certificate: its Key Vault object and the
// DNS names it covers.
type Certificate struct {
	Name  string   `json:"name"`
	Hosts []string `json:"hosts"`
}

// Stamp is where a stamp runs.
type Stamp struct {
	Region string `json:"region"`
	// Identities are the stamp's workload identities by component.
	Identities map[string]string `json:"identities"`
	// Certificate is the stamp's TLS certificate, if it has one.
	Certificate *Certificate `json:"certificate,omitempty"`
	// FailoverFrom is the stamp whose loss loads this one most behind
	// Front Door (its autoscalers are sized for that); empty without one.
	FailoverFrom string `json:"failoverFrom,omitempty"`
}

// Component is a component's network intent and declared exemptions.
type Component struct {
	Tier                   string   `json:"tier"`
	Namespace              string   `json:"namespace"`
	TalksTo                []string `json:"talksTo"`
	Consumers              []string `json:"consumers"`
	Ingress                bool     `json:"ingress"`
	External               bool     `json:"external"`
	WritableRootFilesystem string   `json:"writableRootFilesystem,omitempty"`
	// State says why it keeps data on a PersistentVolume in the stamp.
	State string `json:"state,omitempty"`
	// ScrapesMetrics marks the metrics collector (Prometheus).
	ScrapesMetrics bool `json:"scrapesMetrics,omitempty"`
	// Dashboards marks the dashboard server (Grafana).
	Dashboards bool `json:"dashboards,omitempty"`
	// SignIn: people sign in to it with Entra ID, members of these groups.
	SignIn *SignIn `json:"signIn,omitempty"`
	// Azure are the Azure services its main pods call with an Azure
	// identity (the API server excepted); Jobs the same per job.
	Azure []string            `json:"azure"`
	Jobs  map[string][]string `json:"jobs"`
	// KeyVaultObjects are the Key Vault objects its pods may read: its
	// secrets (and, where it terminates TLS, the stamp's certificate).
	KeyVaultObjects []string `json:"keyVaultObjects"`
	// TerminatesTLS marks the component where the stamp's TLS ends: it
	// alone reads the stamp's certificate.
	TerminatesTLS bool `json:"terminatesTLS,omitempty"`
}

// SignIn is a component's Entra ID sign-in.
type SignIn struct {
	ClientID string   `json:"clientID"`
	Groups   []string `json:"groups"`
}

func signInOf(s *spec.SignIn) *SignIn {
	if s == nil {
		return nil
	}
	return &SignIn{ClientID: s.ClientID, Groups: append([]string{}, s.Groups...)}
}

// withIdentity keeps the Azure services that need an Azure identity.
func withIdentity(services []string) []string {
	out := []string{}
	for _, s := range services {
		if spec.CallsWithIdentity([]string{s}) {
			out = append(out, s)
		}
	}
	return out
}

// EnvironmentOf derives the policies' view of an environment spec.
func EnvironmentOf(e *spec.Environment) Environment {
	s := e.Spec
	out := Environment{
		Name:       e.Name(),
		Production: s.Production,
		Registry:   s.Registry,
		Zones:      append([]string{}, s.Cluster.Zones...),
		Node: Node{Size: s.Cluster.Node.Size, Allocatable: map[string]string{
			"cpu": s.Cluster.Node.Allocatable.CPU, "memory": s.Cluster.Node.Allocatable.Memory,
		}},
		Autoscaler: Autoscaler{MinNodes: s.Cluster.Autoscaler.MinNodes, MaxNodes: s.Cluster.Autoscaler.MaxNodes, Source: e.Where("spec", "cluster", "autoscaler")},
		Regions:    map[string]Region{},
		Stamps:     map[string]Stamp{},
		Components: map[string]Component{},
	}
	for name, r := range s.Regions {
		hosts := []Host{}
		for _, h := range r.ExternalHosts {
			hosts = append(hosts, Host{Name: h.Name, Address: h.Address, Global: h.Global})
		}
		out.Regions[name] = Region{VNet: r.VNet, PublicSubnet: r.PublicSubnet, PrivateSubnet: r.PrivateSubnet, Hosts: hosts, MetricsWrite: r.MetricsWrite}
	}
	if f := s.FrontDoor; f != nil {
		out.FrontDoor = &FrontDoor{ID: f.ID, BackendCIDRs: append([]string{}, f.BackendCIDRs...)}
	}
	for _, st := range s.Stamps {
		_, from := e.FailoverRPS(st)
		ids := map[string]string{}
		for c, id := range st.Identities {
			ids[c] = id
		}
		var cert *Certificate
		if c := st.Certificate; c != nil {
			cert = &Certificate{Name: c.Name, Hosts: append([]string{}, c.Hosts...)}
		}
		out.Stamps[st.Name] = Stamp{Region: st.Region, Identities: ids, Certificate: cert, FailoverFrom: from}
	}
	for _, name := range e.ComponentNames() {
		c := s.Components[name]
		out.Components[name] = Component{
			Tier:                   c.Tier,
			Namespace:              c.Namespace,
			TalksTo:                append([]string{}, c.TalksTo...),
			Consumers:              append([]string{}, e.Consumers(name)...),
			Ingress:                c.Ingress != nil,
			External:               c.External != nil,
			WritableRootFilesystem: c.WritableRootFilesystem,
			State:                  c.State,
			ScrapesMetrics:         c.ScrapesMetrics,
			Dashboards:             c.Dashboards,
			SignIn:                 signInOf(c.SignIn),
			Azure:                  withIdentity(c.Azure),
			KeyVaultObjects:        append([]string{}, c.Secrets...),
			TerminatesTLS:          c.TerminatesTLS,
			Jobs:                   map[string][]string{},
		}
		for job, j := range c.Jobs {
			out.Components[name].Jobs[job] = withIdentity(j.Azure)
		}
	}
	return out
}
