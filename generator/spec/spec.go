// Package spec holds the typed environment specification: what each
// environment of the platform runs, where, and at what size. Files are
// decoded strictly (unknown fields are errors) and validated as a whole, every
// problem reported with the file and line it comes from.
package spec

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// APIVersion and Kind identify an environment file.
const (
	APIVersion = "platform.libertum.io/v1alpha1"
	Kind       = "Environment"
)

// Tier values for a component's network exposure.
const (
	TierPublic  = "public"
	TierPrivate = "private"
)

// Names the generator uses for what it renders beside the components.
const (
	// NamespacesComponent holds every stamp's Namespace objects.
	NamespacesComponent = "namespaces"
	// AppsComponent holds a stamp's Argo CD Applications.
	AppsComponent = "argocd"
	// BootstrapDir holds an environment's AppProject and root Applications.
	BootstrapDir = "bootstrap"
	// FrontDoorDir holds an environment's Front Door origins document.
	FrontDoorDir = "frontdoor"
)

// Environment is one file under environments/.
type Environment struct {
	APIVersion string          `yaml:"apiVersion"`
	Kind       string          `yaml:"kind"`
	Metadata   Metadata        `yaml:"metadata"`
	Spec       EnvironmentSpec `yaml:"spec"`

	// File is the repo-relative path the environment was read from.
	File string `yaml:"-"`
	pos  positions

	namesOnce sync.Once
	names     []string
	derivedMu sync.Mutex
	derived   map[any]*derivedValue
}

type derivedValue struct {
	once sync.Once
	v    any
}

// Metadata names the environment.
type Metadata struct {
	Name string `yaml:"name"`
}

// EnvironmentSpec is everything an environment declares.
type EnvironmentSpec struct {
	// Production environments must spread over zones and run at least two
	// stamps in two regions.
	Production bool `yaml:"production,omitempty"`
	// RepoURL is the git URL Argo CD reads the rendered branch from.
	RepoURL string `yaml:"repoURL"`
	// TenantID is the Entra ID tenant the Key Vaults belong to.
	TenantID string  `yaml:"tenantID"`
	Cluster  Cluster `yaml:"cluster"`
	Registry string  `yaml:"registry"`
	// Regions are the Azure regions the stamps run in, by name
	// (westeurope), each with its own network and resources: a stamp
	// reaches only its region's, and the hosts a region declares global.
	Regions map[string]Region `yaml:"regions"`
	Stamps  []Stamp           `yaml:"stamps"`
	ArgoCD  ArgoCD            `yaml:"argocd"`
	// Rollout orders the stamps' updates; nil means every stamp takes a
	// publish at once.
	Rollout *Rollout `yaml:"rollout,omitempty"`
	// Alerting says where alerts go and the thresholds that differ per
	// environment; nil renders no alert rules.
	Alerting *Alerting `yaml:"alerting,omitempty"`
	// FrontDoor is the environment's Azure Front Door profile, the only
	// public entry point (seed 001); nil where users reach the stamps
	// directly (dev).
	FrontDoor  *FrontDoor           `yaml:"frontDoor,omitempty"`
	Components map[string]Component `yaml:"components"`
}

// Rollout says in which order the stamps take a new render: publish moves
// the first wave (and every stamp no wave names), gitops rollout moves each
// next wave to what the previous one runs once that has soaked.
type Rollout struct {
	Waves [][]string `yaml:"waves"`
	// Soak is how long a wave runs a render before the next may take it
	// (a Go duration such as 4h).
	Soak string `yaml:"soak"`
}

// Alerting configures the generated alert rules and their routing.
type Alerting struct {
	// Alertmanager names the component Prometheus sends alerts to.
	Alertmanager string `yaml:"alertmanager"`
	// Receivers map a severity (critical, warning) to the Key Vault object
	// holding its webhook URL; the Alertmanager mounts them through the CSI
	// driver and reads them from files, never from its configuration.
	Receivers map[string]string `yaml:"receivers"`
	// RestartsPer15m is how many container restarts in 15 minutes alert.
	RestartsPer15m int `yaml:"restartsPer15m"`
	// VolumeUsage is the fraction of a volume in use that alerts (0.85).
	VolumeUsage float64 `yaml:"volumeUsage"`
	// BackupMaxAge is how long a backup job may go without a success (26h).
	BackupMaxAge string `yaml:"backupMaxAge"`
	// RunbookURL is where the runbooks live; each alert links to its anchor.
	RunbookURL string `yaml:"runbookURL"`
}

// FrontDoor is what the stamps need to know about the Front Door profile in
// front of them: who may connect, how to tell its requests from anyone
// else's, and the hosts it serves.
type FrontDoor struct {
	// ID is the profile's Front Door ID, which Front Door sends on every
	// request as X-Azure-FDID; the ingress controller refuses any other.
	ID string `yaml:"id"`
	// Domain is the global DNS suffix Front Door serves: every Ingress
	// answers <host>.<domain> as well as <host>.<stamp domain>.
	Domain string `yaml:"domain"`
	// Health names the component whose Ingress Front Door probes on each
	// stamp (the HealthService), at ProbePath.
	Health string `yaml:"health"`
	// ProbePath is the one place the health probe's path is set: Front
	// Door's origins probe it, the HealthService is rendered to serve it,
	// and the ingress controller answers it without the Front Door ID
	// (Front Door's probes are documented with a User-Agent only).
	ProbePath string `yaml:"probePath"`
	// BackendCIDRs are the addresses Front Door connects to origins from
	// (the AzureFrontDoor.Backend service tag): forwarded client addresses
	// are believed from these only.
	BackendCIDRs []string `yaml:"backendCIDRs"`
}

// Origin is a stamp as a Front Door origin (probed at frontDoor.probePath).
type Origin struct {
	// Weight is the stamp's share of traffic among healthy stamps (1-1000).
	Weight int `yaml:"weight"`
}

// Waves returns the stamps in rollout order: the declared waves, with the
// stamps none names joining the first; one wave of every stamp without a
// rollout.
func (e *Environment) Waves() [][]string {
	named := map[string]bool{}
	var waves [][]string
	if e.Spec.Rollout != nil {
		for _, w := range e.Spec.Rollout.Waves {
			waves = append(waves, append([]string(nil), w...))
			for _, s := range w {
				named[s] = true
			}
		}
	}
	var rest []string
	for _, st := range e.Spec.Stamps {
		if !named[st.Name] {
			rest = append(rest, st.Name)
		}
	}
	if len(waves) == 0 {
		return [][]string{rest}
	}
	waves[0] = append(rest, waves[0]...)
	return waves
}

// SoakTime returns the rollout's soak time (0 without a rollout).
func (e *Environment) SoakTime() time.Duration {
	if e.Spec.Rollout == nil {
		return 0
	}
	d, _ := time.ParseDuration(e.Spec.Rollout.Soak)
	return d
}

// StampRef is the branch a stamp's Applications track: the rendered
// branch's name, the environment and the stamp (rendered-prod-weu-1).
func (e *Environment) StampRef(stamp string) string {
	return e.Spec.ArgoCD.TargetRevision + "-" + e.Name() + "-" + stamp
}

// ArgoCD says how Argo CD deploys the environment.
type ArgoCD struct {
	// Namespace is where Argo CD runs and its Application objects live.
	Namespace string `yaml:"namespace"`
	// TargetRevision is the branch of rendered manifests Applications track.
	TargetRevision string `yaml:"targetRevision"`
	Sync           Sync   `yaml:"sync"`
	// SignatureKeys are the GnuPG key IDs (16 hex digits) a rendered commit
	// must be signed with for Argo CD to sync it (the AppProject's
	// signatureKeys); each key's public half is keys/<ID>.asc. Two during
	// a rotation: docs/signing.md.
	SignatureKeys []string `yaml:"signatureKeys,omitempty"`
}

// Sync is the environment's Argo CD sync policy.
type Sync struct {
	// Automated syncs on every new rendered commit; false means a person
	// presses sync (the prod default).
	Automated bool `yaml:"automated"`
	Prune     bool `yaml:"prune"`
	SelfHeal  bool `yaml:"selfHeal"`
}

// Cluster describes the AKS cluster every stamp of the environment runs.
type Cluster struct {
	// KubernetesVersion pins the version charts are rendered against, e.g. v1.32.13.
	KubernetesVersion string `yaml:"kubernetesVersion"`
	// APIVersions are group/versions the cluster serves beyond the built-in ones
	// (CRDs such as secrets-store.csi.x-k8s.io/v1).
	APIVersions []string   `yaml:"apiVersions,omitempty"`
	Node        Node       `yaml:"node"`
	Autoscaler  Autoscaler `yaml:"autoscaler"`
	// Zones are the availability zones nodes run in ("1", "2", "3"); empty
	// means a single-zone cluster.
	Zones []string `yaml:"zones,omitempty"`
}

// Node is the size of one node of the cluster's node pool.
type Node struct {
	// Size is the VM size, e.g. Standard_D2s_v5.
	Size string `yaml:"size"`
	// Capacity is the VM's vCPU and memory; Allocatable what pods may use of it.
	Capacity    ResourceList `yaml:"capacity"`
	Allocatable ResourceList `yaml:"allocatable"`
}

// Autoscaler bounds the cluster autoscaler's node count per stamp.
type Autoscaler struct {
	MinNodes int `yaml:"minNodes"`
	MaxNodes int `yaml:"maxNodes"`
}

// Region is one Azure region of the environment: its network (the basis of
// the NSG intent), the machines in it, and the storage that outlives its
// stamps.
type Region struct {
	Network `yaml:",inline"`
	// ExternalHosts are machines outside the clusters, in this region's
	// private subnet.
	ExternalHosts []ExternalHost `yaml:"externalHosts,omitempty"`
	// LogStorage is the region's storage account for logs (Loki's chunks
	// and index, one container per stamp): a stamp is rebuilt by
	// redeploying it, its logs stay.
	LogStorage string `yaml:"logStorage,omitempty"`
	// MetricsWrite is the remote-write URL of the region's Azure Monitor
	// workspace (its data collection endpoint's metrics ingestion URL):
	// every stamp's Prometheus writes every sample there, so metrics
	// outlive a rebuilt stamp and the in-stamp retention stays short.
	MetricsWrite string `yaml:"metricsWrite,omitempty"`
	// DashboardsDatabase is the region's Azure Database for PostgreSQL
	// flexible server (its name) where the dashboard server keeps users,
	// sessions and preferences: one database per stamp, shared by its
	// replicas and outliving a rebuilt stamp. It is reached at the
	// region's postgres endpoint.
	DashboardsDatabase string `yaml:"dashboardsDatabase,omitempty"`
}

// DashboardsDatabaseHost is the DNS name of the region's dashboards
// database server (its private DNS zone resolves it to the endpoint).
func (r Region) DashboardsDatabaseHost() string {
	return r.DashboardsDatabase + ".postgres.database.azure.com"
}

// DashboardsDatabaseName is the stamp's database on the region's server.
func DashboardsDatabaseName(st Stamp) string {
	return "grafana_" + strings.ReplaceAll(st.Name, "-", "_")
}

// MetricsIngestSuffix ends the host of every Azure Monitor workspace's
// metrics ingestion URL.
const MetricsIngestSuffix = ".metrics.ingest.monitor.azure.com"

// Network is a region's VNet layout.
type Network struct {
	VNet          string `yaml:"vnet"`
	PublicSubnet  string `yaml:"publicSubnet"`
	PrivateSubnet string `yaml:"privateSubnet"`
	// PodCIDR is the address range pods get (Azure CNI overlay); default
	// DefaultPodCIDR. Internet egress excludes it.
	PodCIDR string `yaml:"podCIDR,omitempty"`
	// AzureEndpoints say how the stamp reaches the Azure services its pods
	// call: a private endpoint's address range, or HTTPS out through the
	// NAT gateway.
	AzureEndpoints []AzureEndpoint `yaml:"azureEndpoints,omitempty"`
}

// EntraID is the Azure endpoint workload identity exchanges the pods'
// tokens at (login.microsoftonline.com): every pod that calls Azure with
// its workload identity reaches it first.
const EntraID = "entra-id"

// KubeAPIServer is the Azure endpoint that needs no Azure identity: the
// API server takes the service account's token.
const KubeAPIServer = "kube-apiserver"

// Postgres is Azure Database for PostgreSQL (a flexible server's private
// endpoint, 5432/TCP). Its clients sign in with a password from Key Vault
// (Grafana cannot use an Entra ID token for its database), so calling it
// takes no workload identity.
const Postgres = "postgres"

// KeyVaultObjects are the Key Vault objects a component's pods read in a
// stamp: its secrets and, where it terminates TLS, the stamp's certificate.
func (c Component) KeyVaultObjects(st Stamp) []string {
	objs := append([]string(nil), c.Secrets...)
	if c.TerminatesTLS && st.Certificate != nil {
		objs = append(objs, st.Certificate.Name)
	}
	return objs
}

// NeedsIdentity reports whether a component's pods act as an Azure
// workload identity: they read Key Vault through the CSI driver, or they
// (or its jobs) call Azure services that take an identity.
func (e *Environment) NeedsIdentity(name string) bool {
	c := e.Spec.Components[name]
	if len(c.Secrets) > 0 || c.TerminatesTLS || CallsWithIdentity(c.Azure) {
		return true
	}
	for _, j := range c.Jobs {
		if CallsWithIdentity(j.Azure) {
			return true
		}
	}
	return false
}

// CallsWithIdentity reports whether pods calling these Azure services act
// as a workload identity (any service but the API server).
func CallsWithIdentity(services []string) bool {
	return slices.ContainsFunc(services, func(s string) bool { return s != KubeAPIServer && s != EntraID && s != Postgres })
}

// DefaultPodCIDR is AKS's default pod address range with Azure CNI overlay.
const DefaultPodCIDR = "10.244.0.0/16"

// Pods returns the pod address range.
func (n Network) Pods() string {
	if n.PodCIDR != "" {
		return n.PodCIDR
	}
	return DefaultPodCIDR
}

// Endpoint returns the declared Azure endpoint of a service.
func (n Network) Endpoint(service string) (AzureEndpoint, bool) {
	for _, ep := range n.AzureEndpoints {
		if ep.Service == service {
			return ep, true
		}
	}
	return AzureEndpoint{}, false
}

// AzureEndpoint is how pods reach one Azure service: over HTTPS (443/TCP)
// unless it says otherwise.
type AzureEndpoint struct {
	// Service names it: blob, keyvault, acr, kube-apiserver (the AKS API
	// server with VNet integration), …
	Service string `yaml:"service"`
	// CIDR is the private endpoint's address range.
	CIDR string `yaml:"cidr,omitempty"`
	// Public are the public ranges the service answers on (its service
	// tag's, such as AzureActiveDirectory's for entra-id), reached through
	// the NAT gateway: egress on 443 to these ranges only.
	Public []string `yaml:"public,omitempty"`
	// NAT reaches the service's public address through the NAT gateway:
	// egress to the internet on 443, private ranges excepted.
	NAT bool `yaml:"nat,omitempty"`
	// Port is the TCP port the service answers on: 443 (HTTPS) when unset,
	// 5432 for Azure Database for PostgreSQL.
	Port int32 `yaml:"port,omitempty"`
}

// TCPPort returns the port the endpoint answers on (443 by default).
func (ep AzureEndpoint) TCPPort() int32 {
	if ep.Port == 0 {
		return 443
	}
	return ep.Port
}

// ExternalHost is a machine outside the cluster that components may run on,
// such as the prod-Kafka-redis-libertum VM.
type ExternalHost struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	// Global says why stamps of other regions reach this host too (over
	// VNet peering): a dependency across regions that a region's failure
	// takes from every stamp. Empty means only its region's stamps may
	// reach it; verify warns about every global one.
	Global string `yaml:"global,omitempty"`
}

// Stamp is one scale unit: a cluster in a region, rendered and synced on its own.
type Stamp struct {
	Name   string `yaml:"name"`
	Region string `yaml:"region"`
	// Server is the cluster's API server URL, the Argo CD destination.
	Server string `yaml:"server"`
	// Domain is the DNS suffix public components are served under.
	Domain string `yaml:"domain"`
	// KeyVault is the stamp's Azure Key Vault holding its secrets.
	KeyVault string `yaml:"keyVault"`
	// Identities are the stamp's Azure workload identities by component:
	// one per component that reads Key Vault or calls Azure
	// (Environment.NeedsIdentity), never shared, so a component's token
	// reads only what its own identity is granted.
	Identities map[string]string `yaml:"identities"`
	// Certificate is the stamp's TLS certificate in its Key Vault, read
	// only by the component that terminates TLS (Component.TerminatesTLS).
	// Key Vault issues and renews it: docs/certificates.md.
	Certificate *Certificate `yaml:"certificate,omitempty"`
	Capacity    Capacity     `yaml:"capacity"`
	// Origin is the stamp behind Front Door; required when the
	// environment has one.
	Origin *Origin `yaml:"origin,omitempty"`
}

// Certificate is a TLS certificate in a stamp's Key Vault.
type Certificate struct {
	// Name is its Key Vault object name; the Secret the terminating
	// component's pods sync it into has the same name.
	Name string `yaml:"name"`
	// Hosts are the DNS names it covers (its subject alternative names;
	// "*." covers one label): every host an Ingress of the stamp serves.
	Hosts []string `yaml:"hosts"`
}

// Capacity is the load a stamp is sized for, in requests per second.
type Capacity struct {
	BaselineRPS int `yaml:"baselineRPS"`
	PeakRPS     int `yaml:"peakRPS"`
}

// Component is one part of the platform as an environment runs it.
type Component struct {
	// Base is the folder under base/ the component is built from; defaults to its name.
	Base      string `yaml:"base,omitempty"`
	Namespace string `yaml:"namespace"`
	// Tier is public (reachable from outside through ingress or a load
	// balancer) or private.
	Tier string `yaml:"tier"`
	// TalksTo names the components this one opens connections to; each of
	// them admits this one in its NetworkPolicy.
	TalksTo []string `yaml:"talksTo,omitempty"`
	// Images pins every image the component runs; the registry is the environment's.
	Images    []Image   `yaml:"images"`
	Replicas  int       `yaml:"replicas,omitempty"`
	Resources Resources `yaml:"resources"`
	Scaling   *Scaling  `yaml:"scaling,omitempty"`
	Ingress   *Ingress  `yaml:"ingress,omitempty"`
	// Secrets are Key Vault object names mounted through the CSI driver.
	Secrets []string `yaml:"secrets,omitempty"`
	// SignIn is how people sign in to a component served to them (the
	// dashboard server): Entra ID only, for members of its groups.
	SignIn *SignIn `yaml:"signIn,omitempty"`
	// TerminatesTLS marks the component where the stamp's TLS ends (the
	// ingress controller): its pods alone read the stamp's certificate from
	// Key Vault and serve it for every Ingress; no other pod holds the key.
	TerminatesTLS bool `yaml:"terminatesTLS,omitempty"`
	// External runs the component outside the cluster: it renders as a
	// selector-less Service and an EndpointSlice.
	External *External `yaml:"external,omitempty"`
	// SyncWave orders the component's Argo CD Application among the
	// stamp's: lower waves (monitoring, data) sync before higher ones.
	SyncWave int `yaml:"syncWave,omitempty"`
	// WritableRootFilesystem says why the component's containers cannot run
	// with a read-only root filesystem; empty means they must.
	WritableRootFilesystem string `yaml:"writableRootFilesystem,omitempty"`
	// Values are extra Helm values for chart-based components.
	Values map[string]any `yaml:"values,omitempty"`
	// Azure names the services of spec.regions.<region>.azureEndpoints the
	// component's pods call themselves (Blob Storage, the API server).
	Azure []string `yaml:"azure,omitempty"`
	// ScrapesMetrics marks the metrics collector (Prometheus): it reaches
	// every pod's declared metrics port (prometheus.io/port) and the
	// kubelets, and loads the generated alert rules.
	ScrapesMetrics bool `yaml:"scrapesMetrics,omitempty"`
	// Dashboards marks the dashboard server (Grafana): it provisions the
	// dashboards generated from the spec.
	Dashboards bool `yaml:"dashboards,omitempty"`
	// Internet says why the component's pods call HTTPS endpoints on the
	// internet (through the NAT gateway), such as the Alertmanager's
	// receivers; empty means they may not.
	Internet string `yaml:"internet,omitempty"`
	// State says why the component keeps data on a PersistentVolume inside
	// the stamp, which a stamp rebuilt by redeploying loses; empty means it
	// keeps none (what must outlive a stamp lives in its region's storage).
	State string `yaml:"state,omitempty"`
	// Jobs are the component's CronJobs and Jobs by name, with what their
	// pods reach; they take no traffic.
	Jobs map[string]Job `yaml:"jobs,omitempty"`
}

// SignIn is Entra ID sign-in to a component: the app registration and the
// groups whose members may sign in. The registration's client secret is
// the Key Vault object <component>-entra-client-secret, one of the
// component's secrets.
type SignIn struct {
	// ClientID is the app registration's application (client) ID.
	ClientID string `yaml:"clientID"`
	// Groups are the object IDs of the Entra ID groups allowed in.
	Groups []string `yaml:"groups"`
}

// Job is what one of a component's jobs reaches.
type Job struct {
	TalksTo []string `yaml:"talksTo,omitempty"`
	Azure   []string `yaml:"azure,omitempty"`
}

// Image pins one image: Name as the base or chart references it, Tag the
// commit hash, version or digest it runs at.
type Image struct {
	Name string `yaml:"name"`
	Tag  string `yaml:"tag"`
	// Upstream is the public repository a third-party image is imported
	// from into the environment's ACR (docker.io/library/redis); its digest
	// is the tag's.
	Upstream string `yaml:"upstream,omitempty"`
}

// Digest returns the image's sha256 digest, if its tag pins one.
func (im Image) Digest() string {
	if i := strings.Index(im.Tag, "sha256:"); i >= 0 {
		return im.Tag[i:]
	}
	return ""
}

// Version returns the tag without its digest (empty for a bare digest).
func (im Image) Version() string {
	v, _, _ := strings.Cut(im.Tag, "@")
	if strings.HasPrefix(v, "sha256:") {
		return ""
	}
	return v
}

// Resources are the main container's requests and limits.
type Resources struct {
	Requests ResourceList `yaml:"requests"`
	Limits   ResourceList `yaml:"limits"`
}

// ResourceList holds quantities as written (e.g. 250m, 512Mi).
type ResourceList struct {
	CPU    string `yaml:"cpu,omitempty"`
	Memory string `yaml:"memory,omitempty"`
}

// Scaling is the component's place in the capacity model: how many requests
// per second one pod serves.
type Scaling struct {
	PodThroughputRPS int `yaml:"podThroughputRPS"`
}

// Ingress exposes a public component under Host.<stamp domain>.
type Ingress struct {
	Host string `yaml:"host"`
	// StampOnly serves the component on each stamp's own host alone: an
	// operators' tool that shows its own stamp (Grafana). It gets no
	// global host, Front Door routes each stamp's host to that stamp
	// only, and the stamp's health does not depend on it.
	StampOnly bool   `yaml:"stampOnly,omitempty"`
	Path      string `yaml:"path,omitempty"`
	// Port is the Service port name or number traffic goes to; default "http".
	Port string `yaml:"port,omitempty"`
}

// StampHost is the host the component answers on one stamp:
// <host>.<stamp domain>.
func (in Ingress) StampHost(st Stamp) string { return in.Host + "." + st.Domain }

// GlobalHost is the host users reach through Front Door:
// <host>.<frontDoor domain>.
func (in Ingress) GlobalHost(f *FrontDoor) string { return in.Host + "." + f.Domain }

// RoutePath is the path prefix served, "/" when none is set.
func (in Ingress) RoutePath() string {
	if in.Path == "" {
		return "/"
	}
	return in.Path
}

// External places the component on an ExternalHost.
type External struct {
	Host  string `yaml:"host"`
	Ports []Port `yaml:"ports"`
}

// Port is a named TCP port.
type Port struct {
	Name string `yaml:"name"`
	Port int    `yaml:"port"`
}

// Name returns the environment's name.
func (e *Environment) Name() string { return e.Metadata.Name }

// Names returns the environments' names, in order.
func Names(envs []*Environment) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.Name()
	}
	return out
}

// ComponentNames returns the environment's component names in sorted order.
func (e *Environment) ComponentNames() []string {
	e.namesOnce.Do(func() {
		e.names = make([]string, 0, len(e.Spec.Components))
		for n := range e.Spec.Components {
			e.names = append(e.names, n)
		}
		sort.Strings(e.names)
	})
	return slices.Clone(e.names)
}

// Derived returns compute's value for key, computed once per environment
// (an environment does not change after it is loaded): an index another
// package derives from the whole environment, shared by every unit
// rendered from it instead of rebuilt per unit. key is a type of the
// caller's own, as for context values.
func (e *Environment) Derived(key any, compute func() any) any {
	e.derivedMu.Lock()
	if e.derived == nil {
		e.derived = map[any]*derivedValue{}
	}
	d, ok := e.derived[key]
	if !ok {
		d = &derivedValue{}
		e.derived[key] = d
	}
	e.derivedMu.Unlock()
	d.once.Do(func() { d.v = compute() })
	return d.v
}

// BaseDir returns the folder under base/ a component is built from.
func (c Component) BaseDir(name string) string {
	if c.Base != "" {
		return c.Base
	}
	return name
}

// Consumers returns the components of env that declare name in their
// talksTo, sorted.
func (e *Environment) Consumers(name string) []string {
	consumers := e.Derived(consumersKey{}, func() any {
		index := map[string][]string{}
		for _, other := range e.ComponentNames() {
			seen := map[string]bool{}
			for _, t := range e.Spec.Components[other].TalksTo {
				if !seen[t] {
					seen[t] = true
					index[t] = append(index[t], other)
				}
			}
		}
		return index
	}).(map[string][]string)
	return consumers[name]
}

type consumersKey struct{}

// MinReplicas returns the replica count a component's main workload runs
// with in a stamp (the HPA minimum when it scales), and whether the spec
// sets one.
func (e *Environment) MinReplicas(c Component, st Stamp) (int32, bool) {
	if c.Scaling != nil {
		lo, _ := e.HPABounds(*c.Scaling, st)
		return lo, true
	}
	if c.Replicas > 0 {
		return int32(c.Replicas), true
	}
	return 0, false
}

// Disruptible reports whether a workload running replicas gets a
// PodDisruptionBudget: several replicas, or any in a zoned cluster.
func (e *Environment) Disruptible(replicas int32) bool {
	return len(e.Spec.Cluster.Zones) > 0 || replicas >= 2
}

// HPABounds derives a component's HPA min and max replicas in a stamp from
// the capacity model: enough pods for the stamp's baseline and for its own
// peak load at the component's per-pod throughput, and never fewer than
// one pod per zone. (Environment.HPABounds adds failover.)
func (s Scaling) HPABounds(st Stamp, zones int) (minReplicas, maxReplicas int32) {
	return s.bounds(st.Capacity.BaselineRPS, st.Capacity.PeakRPS, zones)
}

func (s Scaling) bounds(baseline, peak, zones int) (int32, int32) {
	floor := max(zones, 1)
	lo := max(floor, ceilDiv(baseline, s.PodThroughputRPS))
	hi := max(lo, ceilDiv(peak, s.PodThroughputRPS))
	return clamp32(lo), clamp32(hi)
}

// HPABounds are a component's HPA bounds in a stamp of the environment:
// the maximum covers the most traffic the stamp takes, its own peak or,
// behind Front Door, its failover share when another stamp is out (N-1,
// FailoverRPS).
func (e *Environment) HPABounds(s Scaling, st Stamp) (minReplicas, maxReplicas int32) {
	rps, _ := e.FailoverRPS(st)
	return s.bounds(st.Capacity.BaselineRPS, max(st.Capacity.PeakRPS, rps), len(e.Spec.Cluster.Zones))
}

// FailoverRPS is the traffic a stamp takes at peak when the one other
// stamp whose loss loads it most is out, and that stamp. Front Door sends
// each healthy origin its weight's share of the environment's traffic (the
// origins' peaks together), so losing T gives S
// total x weight(S) / (W - weight(T)), rounded up. Without Front Door, or
// alone behind it, it is the stamp's own peak and from is empty.
func (e *Environment) FailoverRPS(st Stamp) (rps int, from string) {
	rps = st.Capacity.PeakRPS
	if e.Spec.FrontDoor == nil || st.Origin == nil {
		return rps, ""
	}
	weights, total := 0, 0
	for _, s := range e.Spec.Stamps {
		if s.Origin != nil {
			weights += s.Origin.Weight
			total += s.Capacity.PeakRPS
		}
	}
	for _, s := range e.Spec.Stamps {
		rest := weights
		if s.Origin != nil {
			rest -= s.Origin.Weight
		}
		if s.Name == st.Name || s.Origin == nil || rest <= 0 {
			continue
		}
		if r := ceilDiv(total*st.Origin.Weight, rest); r > rps {
			rps, from = r, s.Name
		}
	}
	return rps, from
}

// ExternalHost returns the external host named name, if a region
// declares it, and that region's name.
func (e *Environment) ExternalHost(name string) (ExternalHost, string, bool) {
	for _, r := range e.RegionNames() {
		for _, h := range e.Spec.Regions[r].ExternalHosts {
			if h.Name == name {
				return h, r, true
			}
		}
	}
	return ExternalHost{}, "", false
}

// RegionNames are the environment's regions, sorted.
func (e *Environment) RegionNames() []string {
	names := make([]string, 0, len(e.Spec.Regions))
	for r := range e.Spec.Regions {
		names = append(names, r)
	}
	sort.Strings(names)
	return names
}

// Network is the network of the region a stamp runs in.
func (e *Environment) Network(st Stamp) Network { return e.Spec.Regions[st.Region].Network }

// ProbeHost is where Front Door probes a stamp: the host of the
// frontDoor.health component's Ingress on the stamp; empty without a Front
// Door or that Ingress.
func (e *Environment) ProbeHost(st Stamp) string {
	f := e.Spec.FrontDoor
	if f == nil {
		return ""
	}
	if in := e.Spec.Components[f.Health].Ingress; in != nil {
		return in.StampHost(st)
	}
	return ""
}

// StampNamed returns the stamp of that name, if the environment has it.
func (e *Environment) StampNamed(name string) (Stamp, bool) {
	for _, st := range e.Spec.Stamps {
		if st.Name == name {
			return st, true
		}
	}
	return Stamp{}, false
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

func clamp32(n int) int32 {
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(n)
}
