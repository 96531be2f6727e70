package spec

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/libertum/platform-gitops/generator/image"
)

var (
	kubeVersionPattern = regexp.MustCompile(`^v1\.[0-9]+\.[0-9]+$`)
	// A tag is a commit hash, a version or a digest; validation only checks
	// its form here, the image policy decides which forms an environment accepts.
	tagPattern      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?$|^sha256:[a-f0-9]{64}$`)
	validZones      = map[string]bool{"1": true, "2": true, "3": true}
	registryPattern = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9-]+)+$`)
	guidPattern     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// ValidTag reports whether tag has the form of an image tag, digest or
// tag@digest.
func ValidTag(tag string) bool { return tagPattern.MatchString(tag) }

// ImportProblem says why a third-party image cannot be imported into the
// environment's ACR by digest, or "" when it can: it needs its upstream
// repository and a digest in its tag.
func ImportProblem(im Image) string {
	switch {
	case InHouse(im.Name):
		return ""
	case im.Upstream == "" && im.Digest() == "":
		return fmt.Sprintf("third-party image %s names no upstream source and no digest; add upstream: (e.g. docker.io/library/%s) and pin tag: VERSION@sha256:…", im.Name, im.Name)
	case im.Upstream == "":
		return fmt.Sprintf("third-party image %s names no upstream source to import it from; add upstream: (the public repository, e.g. docker.io/library/%s)", im.Name, im.Name)
	case im.Digest() == "":
		return fmt.Sprintf("third-party image %s is not pinned by digest; import by digest needs tag: VERSION@sha256:…", im.Name)
	case !upstreamPattern.MatchString(im.Upstream):
		return fmt.Sprintf("third-party image %s: upstream %q is not a repository (registry host and path, no tag or digest)", im.Name, im.Upstream)
	}
	return ""
}

var upstreamPattern = regexp.MustCompile(`^[a-z0-9.-]+\.[a-z]+(:[0-9]+)?(/[a-z0-9._-]+)+$`)

// InHouse reports whether an image is built by Libertum's CI (tagged with
// the commit it was built from) rather than a third party's (pinned by
// digest once imported into ACR).
func InHouse(image string) bool { return strings.HasPrefix(image, "libertum/") }

var commitPattern = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// ImmutableTag says why a tag is mutable for an image, or "" when it is
// not: in-house images take a commit hash or a digest, third-party images a
// digest.
func ImmutableTag(image, tag string) string {
	digest := strings.Contains(tag, "@sha256:") || strings.HasPrefix(tag, "sha256:")
	switch {
	case digest:
		return ""
	case InHouse(image) && commitPattern.MatchString(tag):
		return ""
	case InHouse(image):
		return fmt.Sprintf("tag %q of in-house image %s can move; use the commit hash it was built from (7 to 40 hex digits) or a digest", tag, image)
	}
	return fmt.Sprintf("tag %q of third-party image %s can move; pin it by digest (TAG@sha256:… or sha256:…) as imported into ACR", tag, image)
}

// Validate checks the environment as a whole and reports every problem at
// once, each with its file and line.
func (e *Environment) Validate() error {
	v := validator{env: e}
	v.check()
	v.int32Range()
	sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
	errs := make([]error, len(v.errs))
	for i, err := range v.errs {
		errs[i] = err
	}
	return errors.Join(errs...)
}

type validator struct {
	env  *Environment
	errs []*Error
}

func (v *validator) fail(path []string, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.env.File, Line: v.env.Line(path...), Msg: fmt.Sprintf(format, args...)})
}

func p(parts ...string) []string { return parts }

func (v *validator) check() {
	e := v.env
	if e.APIVersion != APIVersion {
		v.fail(p("apiVersion"), "apiVersion %q: want %q", e.APIVersion, APIVersion)
	}
	if e.Kind != Kind {
		v.fail(p("kind"), "kind %q: want %q", e.Kind, Kind)
	}
	if err := CheckName(e.Metadata.Name); err != nil {
		v.fail(p("metadata", "name"), "%v", err)
	}
	s := e.Spec
	if s.RepoURL == "" {
		v.fail(p("spec", "repoURL"), "spec.repoURL is required")
	}
	if !registryPattern.MatchString(s.Registry) {
		v.fail(p("spec", "registry"), "spec.registry %q: want a registry host such as acrlibertumdev.azurecr.io", s.Registry)
	}
	if !guidPattern.MatchString(s.TenantID) {
		v.fail(p("spec", "tenantID"), "spec.tenantID %q: want a GUID", s.TenantID)
	}
	for i, k := range s.ArgoCD.SignatureKeys {
		if !longKeyID.MatchString(k) {
			v.fail(p("spec", "argocd", "signatureKeys", strconv.Itoa(i)), "argocd.signatureKeys: %q: want a GnuPG long key ID (16 hex digits, upper case), as Argo CD matches it", k)
		}
	}
	if errs := validation.IsDNS1123Label(s.ArgoCD.Namespace); len(errs) > 0 {
		v.fail(p("spec", "argocd", "namespace"), "argocd.namespace %q: %s", s.ArgoCD.Namespace, errs[0])
	}
	if s.ArgoCD.TargetRevision == "" {
		v.fail(p("spec", "argocd", "targetRevision"), "argocd.targetRevision (the rendered branch) is required")
	}
	if (s.ArgoCD.Sync.Prune || s.ArgoCD.Sync.SelfHeal) && !s.ArgoCD.Sync.Automated {
		v.fail(p("spec", "argocd", "sync"), "argocd.sync: prune and selfHeal apply only to automated sync")
	}
	v.cluster()
	v.network()
	v.stamps()
	v.rollout()
	v.components()
	v.alerting()
	v.frontDoor()
}

// frontDoor checks the entry through Front Door: required in production,
// and then every stamp is an origin with a probe path and a weight.
func (v *validator) frontDoor() {
	f := v.env.Spec.FrontDoor
	if f == nil {
		if v.env.Spec.Production {
			v.fail(p("spec"), "a production environment is reached through Front Door only: spec.frontDoor (id, domain, health, backendCIDRs) is required")
		}
		for i, s := range v.env.Spec.Stamps {
			if s.Origin != nil {
				v.fail(p("spec", "stamps", strconv.Itoa(i), "origin"), "stamp %s: origin applies only to an environment with spec.frontDoor", s.Name)
			}
		}
		return
	}
	at := func(k string) []string { return p("spec", "frontDoor", k) }
	if !guidPattern.MatchString(f.ID) {
		v.fail(at("id"), "frontDoor.id %q: want the profile's Front Door ID (a GUID, sent as X-Azure-FDID)", f.ID)
	}
	if errs := validation.IsDNS1123Subdomain(f.Domain); len(errs) > 0 {
		v.fail(at("domain"), "frontDoor.domain %q: %s", f.Domain, errs[0])
	}
	if c, ok := v.env.Spec.Components[f.Health]; !ok || c.Ingress == nil {
		v.fail(at("health"), "frontDoor.health %q is not a component of this environment with an ingress for Front Door to probe", f.Health)
	}
	if len(f.BackendCIDRs) == 0 {
		v.fail(at("backendCIDRs"), "frontDoor.backendCIDRs: list the AzureFrontDoor.Backend ranges forwarded headers are trusted from")
	}
	if pp := f.ProbePath; !strings.HasPrefix(pp, "/") || strings.ContainsAny(pp, " ?#\t\"'$;{}") || pp == "/" {
		v.fail(at("probePath"), "frontDoor.probePath %q: want an absolute URL path such as /health/stamp", pp)
	}
	for i, c := range f.BackendCIDRs {
		path := p("spec", "frontDoor", "backendCIDRs", strconv.Itoa(i))
		if pr, ok := v.prefix(path, c); ok && pr.Bits() == 0 {
			v.fail(path, "frontDoor.backendCIDRs: %s would trust forwarded headers from anyone", c)
		}
	}
	for i, s := range v.env.Spec.Stamps {
		sp := p("spec", "stamps", strconv.Itoa(i), "origin")
		o := s.Origin
		if o == nil {
			v.fail(p("spec", "stamps", strconv.Itoa(i)), "stamp %s: origin (its weight) is required behind Front Door", s.Name)
			continue
		}
		if o.Weight < 1 || o.Weight > 1000 {
			v.fail(append(sp, "weight"), "stamp %s: origin.weight %d: want 1 to 1000", s.Name, o.Weight)
		}
	}
}

func (v *validator) alerting() {
	a := v.env.Spec.Alerting
	if a == nil {
		return
	}
	at := func(k string) []string { return p("spec", "alerting", k) }
	am, ok := v.env.Spec.Components[a.Alertmanager]
	if !ok || am.External != nil {
		v.fail(at("alertmanager"), "alerting.alertmanager %q is not an in-cluster component of this environment", a.Alertmanager)
	}
	if len(a.Receivers) == 0 {
		v.fail(at("receivers"), "alerting.receivers: route at least the critical severity to a receiver")
	}
	for _, sev := range slices.Sorted(maps.Keys(a.Receivers)) {
		if sev != "critical" && sev != "warning" && sev != "info" {
			v.fail(at("receivers"), "alerting.receivers: severity %q: want critical, warning or info", sev)
		}
		if ok && !slices.Contains(am.Secrets, a.Receivers[sev]) {
			v.fail(at("receivers"), "alerting.receivers.%s: Key Vault object %q is not among %s's secrets, so the Alertmanager cannot read it", sev, a.Receivers[sev], a.Alertmanager)
		}
	}
	if a.RestartsPer15m <= 0 {
		v.fail(at("restartsPer15m"), "alerting.restartsPer15m must be positive")
	}
	if a.VolumeUsage <= 0 || a.VolumeUsage >= 1 {
		v.fail(at("volumeUsage"), "alerting.volumeUsage %v: want a fraction between 0 and 1", a.VolumeUsage)
	}
	if d, err := time.ParseDuration(a.BackupMaxAge); err != nil || d <= 0 {
		v.fail(at("backupMaxAge"), "alerting.backupMaxAge %q: want a duration such as 26h", a.BackupMaxAge)
	}
	if !strings.HasPrefix(a.RunbookURL, "https://") {
		v.fail(at("runbookURL"), "alerting.runbookURL %q: want an https URL", a.RunbookURL)
	}
}

func (v *validator) rollout() {
	r := v.env.Spec.Rollout
	if r == nil {
		return
	}
	stamps := map[string]bool{}
	for _, st := range v.env.Spec.Stamps {
		stamps[st.Name] = true
	}
	seen := map[string]bool{}
	for i, w := range r.Waves {
		wp := p("spec", "rollout", "waves", strconv.Itoa(i))
		if len(w) == 0 {
			v.fail(wp, "rollout wave %d names no stamp", i+1)
		}
		for j, s := range w {
			if !stamps[s] || seen[s] {
				v.fail(append(wp, strconv.Itoa(j)), "rollout wave %d: %q is not a stamp of this environment, or is in an earlier wave", i+1, s)
			}
			seen[s] = true
		}
	}
	if d, err := time.ParseDuration(r.Soak); err != nil || d < 0 {
		v.fail(p("spec", "rollout", "soak"), "rollout.soak %q: want a duration such as 4h or 30m", r.Soak)
	}
}

func (v *validator) cluster() {
	c := v.env.Spec.Cluster
	at := func(parts ...string) []string { return append(p("spec", "cluster"), parts...) }
	if !kubeVersionPattern.MatchString(c.KubernetesVersion) {
		v.fail(at("kubernetesVersion"), "kubernetesVersion %q: want v1.MINOR.PATCH", c.KubernetesVersion)
	}
	if c.Node.Size == "" {
		v.fail(at("node", "size"), "node.size is required (e.g. Standard_D2s_v5)")
	}
	capCPU := v.quantity(at("node", "capacity", "cpu"), c.Node.Capacity.CPU, true)
	capMem := v.quantity(at("node", "capacity", "memory"), c.Node.Capacity.Memory, true)
	allCPU := v.quantity(at("node", "allocatable", "cpu"), c.Node.Allocatable.CPU, true)
	allMem := v.quantity(at("node", "allocatable", "memory"), c.Node.Allocatable.Memory, true)
	if capCPU != nil && allCPU != nil && allCPU.Cmp(*capCPU) > 0 {
		v.fail(at("node", "allocatable", "cpu"), "allocatable cpu %s exceeds node capacity %s", allCPU, capCPU)
	}
	if capMem != nil && allMem != nil && allMem.Cmp(*capMem) > 0 {
		v.fail(at("node", "allocatable", "memory"), "allocatable memory %s exceeds node capacity %s", allMem, capMem)
	}
	a := c.Autoscaler
	if a.MinNodes < 1 || a.MaxNodes < a.MinNodes {
		v.fail(at("autoscaler"), "autoscaler: want 1 <= minNodes (%d) <= maxNodes (%d)", a.MinNodes, a.MaxNodes)
	}
	seen := map[string]bool{}
	for i, z := range c.Zones {
		if !validZones[z] {
			v.fail(at("zones", strconv.Itoa(i)), "zone %q: Azure availability zones are \"1\", \"2\" and \"3\"", z)
		}
		if seen[z] {
			v.fail(at("zones", strconv.Itoa(i)), "zone %q listed twice", z)
		}
		seen[z] = true
	}
	if v.env.Spec.Production && len(c.Zones) < 2 {
		v.fail(at("zones"), "a production environment spreads over at least two availability zones")
	}
}

func (v *validator) quantity(path []string, s string, required bool) *resource.Quantity {
	if s == "" {
		if required {
			v.fail(path, "%s is required", path[len(path)-1])
		}
		return nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		v.fail(path, "quantity %q: %v", s, err)
		return nil
	}
	if q.Sign() <= 0 {
		v.fail(path, "quantity %q must be positive", s)
		return nil
	}
	return &q
}

func (v *validator) prefix(path []string, s string) (netip.Prefix, bool) {
	pf, err := netip.ParsePrefix(s)
	if err != nil {
		v.fail(path, "CIDR %q: %v", s, err)
		return netip.Prefix{}, false
	}
	return pf.Masked(), true
}

// network checks every region's network: its subnets inside its VNet,
// its hosts inside its private subnet, VNets that do not overlap (regions
// are peered), and a region for every stamp.
func (v *validator) network() {
	if len(v.env.Spec.Regions) == 0 {
		v.fail(p("spec", "regions"), "regions is required: each region the stamps run in, with its network (vnet, publicSubnet, privateSubnet, azureEndpoints)")
	}
	hosts := map[string]bool{}
	vnets := map[string]netip.Prefix{}
	for _, r := range v.env.RegionNames() {
		if vnet, ok := v.region(r, hosts); ok {
			for other, pf := range vnets {
				if pf.Overlaps(vnet) {
					v.fail(p("spec", "regions", r, "vnet"), "region %s: VNet %s overlaps region %s's %s (peered VNets need distinct ranges)", r, vnet, other, pf)
				}
			}
			vnets[r] = vnet
		}
	}
	for i, st := range v.env.Spec.Stamps {
		if _, ok := v.env.Spec.Regions[st.Region]; !ok && st.Region != "" {
			v.fail(p("spec", "stamps", strconv.Itoa(i), "region"), "stamp %s: region %q is not declared in spec.regions", st.Name, st.Region)
		}
	}
}

// region checks one region and returns its VNet.
func (v *validator) region(r string, hosts map[string]bool) (netip.Prefix, bool) {
	reg := v.env.Spec.Regions[r]
	n := reg.Network
	at := func(k string) []string { return p("spec", "regions", r, k) }
	vnet, okV := v.prefix(at("vnet"), n.VNet)
	pub, okP := v.prefix(at("publicSubnet"), n.PublicSubnet)
	priv, okQ := v.prefix(at("privateSubnet"), n.PrivateSubnet)
	if okV && okP && !within(pub, vnet) {
		v.fail(at("publicSubnet"), "public subnet %s lies outside the VNet %s", pub, vnet)
	}
	if okV && okQ && !within(priv, vnet) {
		v.fail(at("privateSubnet"), "private subnet %s lies outside the VNet %s", priv, vnet)
	}
	if okP && okQ && pub.Overlaps(priv) {
		v.fail(at("privateSubnet"), "private subnet %s overlaps the public subnet %s", priv, pub)
	}
	for i, h := range reg.ExternalHosts {
		hp := p("spec", "regions", r, "externalHosts", strconv.Itoa(i))
		if h.Name == "" || hosts[h.Name] {
			v.fail(append(hp, "name"), "external host name %q is empty or declared twice", h.Name)
		}
		hosts[h.Name] = true
		addr, err := netip.ParseAddr(h.Address)
		if err != nil {
			v.fail(append(hp, "address"), "external host %s: address %q: %v", h.Name, h.Address, err)
			continue
		}
		if okQ && !priv.Contains(addr) {
			v.fail(append(hp, "address"), "external host %s: address %s lies outside region %s's private subnet %s", h.Name, addr, r, priv)
		}
	}
	if w := reg.MetricsWrite; w != "" {
		u, err := url.Parse(w)
		if err != nil || u.Scheme != "https" || !strings.HasSuffix(u.Hostname(), MetricsIngestSuffix) {
			v.fail(at("metricsWrite"), "region %s: metricsWrite %q: want the https remote-write URL of an Azure Monitor workspace's data collection endpoint (a host ending in %s)", r, w, MetricsIngestSuffix)
		}
	}
	if d := reg.DashboardsDatabase; d != "" {
		if errs := validation.IsDNS1123Label(d); len(errs) > 0 {
			v.fail(at("dashboardsDatabase"), "region %s: dashboardsDatabase %q: want the PostgreSQL flexible server's name (%s)", r, d, errs[0])
		}
		if _, ok := n.Endpoint(Postgres); !ok {
			v.fail(at("dashboardsDatabase"), "region %s: dashboardsDatabase %s is reached at its private endpoint: declare azureEndpoints %s (its cidr, port 5432)", r, d, Postgres)
		}
	}
	if n.PodCIDR != "" {
		pods, ok := v.prefix(at("podCIDR"), n.PodCIDR)
		if ok && okV && pods.Overlaps(vnet) {
			v.fail(at("podCIDR"), "pod CIDR %s overlaps the VNet %s", pods, vnet)
		}
	}
	services := map[string]bool{}
	for i, ep := range n.AzureEndpoints {
		ep := ep
		ip := p("spec", "regions", r, "azureEndpoints", strconv.Itoa(i))
		if len(validation.IsDNS1123Label(ep.Service)) > 0 || services[ep.Service] {
			v.fail(append(ip, "service"), "azure endpoint service %q is not a DNS label or is listed twice", ep.Service)
		}
		services[ep.Service] = true
		ways := 0
		for _, set := range []bool{ep.NAT, ep.CIDR != "", len(ep.Public) > 0} {
			if set {
				ways++
			}
		}
		switch {
		case ways > 1:
			v.fail(ip, "azure endpoint %s: give one of a private endpoint cidr, its public ranges or nat: true", ep.Service)
		case ep.CIDR != "":
			if pf, ok := v.prefix(append(ip, "cidr"), ep.CIDR); ok && okV && !within(pf, vnet) {
				v.fail(append(ip, "cidr"), "azure endpoint %s: private endpoint %s lies outside the VNet %s", ep.Service, pf, vnet)
			}
		case len(ep.Public) > 0:
			for j, c := range ep.Public {
				pf, ok := v.prefix(append(ip, "public", strconv.Itoa(j)), c)
				if ok && isPrivate(pf) {
					v.fail(append(ip, "public", strconv.Itoa(j)), "azure endpoint %s: public range %s lies in a private address range", ep.Service, pf)
				}
			}
		case !ep.NAT:
			v.fail(ip, "azure endpoint %s: give its private endpoint cidr, its public ranges, or nat: true to reach it through the NAT gateway", ep.Service)
		}
	}
	return vnet, okV
}

// azure checks that every Azure service a component or job calls has an
// endpoint declared in spec.regions.<region>.azureEndpoints, and that Entra ID has
// one where the pods call Azure with their workload identity.
func (v *validator) azure(path []string, who string, services []string) {
	seen := map[string]bool{}
	for i, s := range services {
		if seen[s] {
			v.fail(append(append([]string{}, path...), strconv.Itoa(i)), "%s lists Azure service %q twice", who, s)
		}
		seen[s] = true
	}
	// Every region a stamp runs in reaches each service its own way.
	for _, r := range v.stampRegions() {
		n := v.env.Spec.Regions[r].Network
		for i, s := range services {
			if _, ok := n.Endpoint(s); !ok {
				v.fail(append(append([]string{}, path...), strconv.Itoa(i)), "%s calls Azure service %q, which spec.regions.%s.azureEndpoints does not declare", who, s, r)
			}
		}
		if _, ok := n.Endpoint(EntraID); CallsWithIdentity(services) && !ok {
			v.fail(path, "%s calls Azure (%s) with its workload identity, which exchanges the pod's token at Entra ID (login.microsoftonline.com:443) first: declare spec.regions.%s.azureEndpoints %s with its public ranges (the AzureActiveDirectory service tag)",
				who, strings.Join(services, ", "), r, EntraID)
		}
	}
}

// stampRegions are the declared regions some stamp runs in, sorted.
func (v *validator) stampRegions() []string {
	var out []string
	for _, r := range v.env.RegionNames() {
		for _, st := range v.env.Spec.Stamps {
			if st.Region == r {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// isPrivate reports whether a range lies in a private address range.
func isPrivate(pf netip.Prefix) bool {
	for _, r := range []string{"10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"} {
		if within(pf, netip.MustParsePrefix(r)) {
			return true
		}
	}
	return false
}

func within(inner, outer netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

func (v *validator) stamps() {
	st := v.env.Spec.Stamps
	if len(st) == 0 {
		v.fail(p("spec", "stamps"), "at least one stamp is required")
	}
	names := map[string]bool{}
	regions := map[string]bool{}
	for i, s := range st {
		sp := p("spec", "stamps", strconv.Itoa(i))
		if errs := validation.IsDNS1123Label(s.Name); len(errs) > 0 {
			v.fail(append(sp, "name"), "stamp name %q: %s", s.Name, errs[0])
		}
		if names[s.Name] {
			v.fail(append(sp, "name"), "stamp %q listed twice", s.Name)
		}
		if s.Name == BootstrapDir || s.Name == FrontDoorDir {
			v.fail(append(sp, "name"), "stamp name %q is reserved for an environment-wide folder of the rendered tree", s.Name)
		}
		names[s.Name] = true
		if s.Region == "" {
			v.fail(append(sp, "region"), "stamp %s: region is required", s.Name)
		}
		regions[s.Region] = true
		if s.Server == "" {
			v.fail(append(sp, "server"), "stamp %s: server (the cluster API URL) is required", s.Name)
		}
		if errs := validation.IsDNS1123Subdomain(s.Domain); len(errs) > 0 {
			v.fail(append(sp, "domain"), "stamp %s: domain %q: %s", s.Name, s.Domain, errs[0])
		}
		if s.KeyVault == "" {
			v.fail(append(sp, "keyVault"), "stamp %s: keyVault is required", s.Name)
		}
		v.identities(sp, s)
		v.certificate(sp, s)
		c := s.Capacity
		if c.BaselineRPS <= 0 || c.PeakRPS < c.BaselineRPS {
			v.fail(append(sp, "capacity"), "stamp %s: capacity: want 0 < baselineRPS (%d) <= peakRPS (%d)", s.Name, c.BaselineRPS, c.PeakRPS)
		}
	}
	if v.env.Spec.Production && (len(st) < 2 || len(regions) < 2) {
		v.fail(p("spec", "stamps"), "a production environment runs at least two stamps in two regions (has %d in %d)", len(st), len(regions))
	}
}

func (v *validator) components() {
	e := v.env
	if len(e.Spec.Components) == 0 {
		v.fail(p("spec", "components"), "at least one component is required")
	}
	for _, name := range e.ComponentNames() {
		c := e.Spec.Components[name]
		cp := p("spec", "components", name)
		at := func(parts ...string) []string { return append(append([]string{}, cp...), parts...) }
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			v.fail(cp, "component name %q: %s", name, errs[0])
		}
		if name == NamespacesComponent || name == AppsComponent {
			v.fail(cp, "component name %q is reserved for what the generator renders", name)
		}
		if errs := validation.IsDNS1123Label(c.Namespace); len(errs) > 0 {
			v.fail(at("namespace"), "component %s: namespace %q: %s", name, c.Namespace, errs[0])
		}
		if c.Tier != TierPublic && c.Tier != TierPrivate {
			v.fail(at("tier"), "component %s: tier %q: want public or private", name, c.Tier)
		}
		talks := map[string]bool{}
		for i, t := range c.TalksTo {
			if _, ok := e.Spec.Components[t]; !ok || t == name {
				v.fail(at("talksTo", strconv.Itoa(i)), "component %s talks to %q, which is not another component of this environment", name, t)
			}
			if talks[t] {
				v.fail(at("talksTo", strconv.Itoa(i)), "component %s lists %q in talksTo twice", name, t)
			}
			talks[t] = true
		}
		v.azure(at("azure"), name, c.Azure)
		for _, job := range slices.Sorted(maps.Keys(c.Jobs)) {
			jp := at("jobs", job)
			if errs := validation.IsDNS1123Subdomain(job); len(errs) > 0 {
				v.fail(jp, "component %s: job name %q: %s", name, job, errs[0])
			}
			seen := map[string]bool{}
			for i, t := range c.Jobs[job].TalksTo {
				if _, ok := e.Spec.Components[t]; !ok || seen[t] {
					v.fail(append(jp, "talksTo", strconv.Itoa(i)), "job %s of %s talks to %q, which is not a component of this environment or is listed twice", job, name, t)
				}
				seen[t] = true
			}
			v.azure(append(jp, "azure"), name+" job "+job, c.Jobs[job].Azure)
		}
		if c.Base != "" && len(validation.IsDNS1123Label(c.Base)) > 0 {
			v.fail(at("base"), "component %s: base %q must name a folder directly under base/ (a DNS label: no '/', no '..')", name, c.Base)
		}
		seen := map[string]bool{}
		for i, im := range c.Images {
			ip := at("images", strconv.Itoa(i))
			if im.Name == "" || seen[im.Name] {
				v.fail(append(ip, "name"), "component %s: image name %q is empty or listed twice", name, im.Name)
			} else if r, err := image.Parse(im.Name); err != nil || r.Tag != "" || r.Digest != "" {
				v.fail(append(ip, "name"), "component %s: image name %q is not a repository (registry host and path; the tag goes in tag:)", name, im.Name)
			}
			seen[im.Name] = true
			if !ValidTag(im.Tag) {
				v.fail(append(ip, "tag"), "component %s: image %s: malformed tag or digest %q", name, im.Name, im.Tag)
			}
		}
		if c.Replicas < 0 {
			v.fail(at("replicas"), "component %s: replicas must not be negative", name)
		}
		if c.External == nil {
			v.quantity(at("resources", "requests", "cpu"), c.Resources.Requests.CPU, true)
			v.quantity(at("resources", "requests", "memory"), c.Resources.Requests.Memory, true)
			v.quantity(at("resources", "limits", "memory"), c.Resources.Limits.Memory, true)
			v.quantity(at("resources", "limits", "cpu"), c.Resources.Limits.CPU, false)
		}
		if c.Scaling != nil && c.Scaling.PodThroughputRPS <= 0 {
			v.fail(at("scaling", "podThroughputRPS"), "component %s: podThroughputRPS must be positive", name)
		}
		if si := c.SignIn; si != nil {
			if !guidPattern.MatchString(si.ClientID) {
				v.fail(at("signIn", "clientID"), "component %s: signIn.clientID %q: want the app registration's client ID (a GUID)", name, si.ClientID)
			}
			if len(si.Groups) == 0 {
				v.fail(at("signIn", "groups"), "component %s: signIn.groups: name the Entra ID groups whose members may sign in (without, every account of the tenant may)", name)
			}
			for i, g := range si.Groups {
				if !guidPattern.MatchString(g) {
					v.fail(at("signIn", "groups", strconv.Itoa(i)), "component %s: signIn.groups: %q: want a group object ID (a GUID)", name, g)
				}
			}
			if !slices.Contains(c.Secrets, name+"-entra-client-secret") {
				v.fail(at("signIn"), "component %s: signIn needs the app registration's client secret: list %s-entra-client-secret in its secrets", name, name)
			}
		}
		if c.Ingress != nil {
			if c.Tier != TierPublic {
				v.fail(at("ingress"), "component %s: only public-tier components get an Ingress", name)
			}
			if errs := validation.IsDNS1123Label(c.Ingress.Host); len(errs) > 0 {
				v.fail(at("ingress", "host"), "component %s: ingress host %q: %s", name, c.Ingress.Host, errs[0])
			}
		}
		for i, s := range c.Secrets {
			if s == "" {
				v.fail(at("secrets", strconv.Itoa(i)), "component %s: empty secret name", name)
			}
		}
		if x := c.External; x != nil {
			if _, _, ok := e.ExternalHost(x.Host); !ok {
				v.fail(at("external", "host"), "component %s: external host %q is not declared in any region's externalHosts", name, x.Host)
			}
			if len(x.Ports) == 0 {
				v.fail(at("external", "ports"), "component %s: an external component declares its ports", name)
			}
			for i, pt := range x.Ports {
				if pt.Port < 1 || pt.Port > 65535 || len(validation.IsValidPortName(pt.Name)) > 0 {
					v.fail(at("external", "ports", strconv.Itoa(i)), "component %s: port %q %d: want a port name and a number in 1-65535", name, pt.Name, pt.Port)
				}
			}
			if c.Scaling != nil || c.Ingress != nil {
				v.fail(at("external"), "component %s: an external component has no scaling or ingress in the cluster", name)
			}
		}
	}
}

// longKeyID is a GnuPG long key ID as Argo CD's AppProject takes it.
var longKeyID = regexp.MustCompile(`^[0-9A-F]{16}$`)

// certificate requires a stamp's certificate to have a Key Vault object
// name, DNS names, and a component to terminate TLS with it.
func (v *validator) certificate(sp []string, s Stamp) {
	c := s.Certificate
	if c == nil {
		return
	}
	cp := append(sp, "certificate")
	if errs := validation.IsDNS1123Subdomain(c.Name); c.Name == "" || len(errs) > 0 {
		v.fail(append(cp, "name"), "stamp %s: certificate.name %q: want the Key Vault object's name (a DNS-1123 name)", s.Name, c.Name)
	}
	if len(c.Hosts) == 0 {
		v.fail(append(cp, "hosts"), "stamp %s: certificate.hosts: list the DNS names the certificate covers", s.Name)
	}
	for i, n := range c.Hosts {
		if errs := validation.IsDNS1123Subdomain(strings.TrimPrefix(n, "*.")); len(errs) > 0 {
			v.fail(append(cp, "hosts", strconv.Itoa(i)), "stamp %s: certificate.hosts: %q is not a DNS name (%s)", s.Name, n, errs[0])
		}
	}
	var by []string
	for _, name := range v.env.ComponentNames() {
		if v.env.Spec.Components[name].TerminatesTLS {
			by = append(by, name)
		}
	}
	if len(by) != 1 {
		v.fail(cp, "stamp %s: certificate: exactly one component must terminate TLS with it (terminatesTLS: true), not %d %v", s.Name, len(by), by)
	}
}

// identities requires one distinct workload identity per component that
// needs one, and none for a component that does not.
func (v *validator) identities(sp []string, s Stamp) {
	owner := map[string]string{}
	for _, name := range v.env.ComponentNames() {
		id, ok := s.Identities[name]
		switch {
		case !v.env.NeedsIdentity(name):
			if ok {
				v.fail(append(sp, "identities", name), "stamp %s: identities.%s: %s reads no Key Vault object and calls no Azure service: it needs no identity", s.Name, name, name)
			}
			continue
		case !ok:
			v.fail(append(sp, "identities"), "stamp %s: identities.%s is required: %s reads Key Vault or calls Azure, as an identity of its own", s.Name, name, name)
			continue
		case !guidPattern.MatchString(id):
			v.fail(append(sp, "identities", name), "stamp %s: identities.%s %q: want a GUID", s.Name, name, id)
			continue
		}
		if other, shared := owner[strings.ToLower(id)]; shared {
			v.fail(append(sp, "identities", name), "stamp %s: identities.%s is %s's identity too: each component gets its own (least privilege)", s.Name, name, other)
		}
		owner[strings.ToLower(id)] = name
	}
	for name := range s.Identities {
		if _, ok := v.env.Spec.Components[name]; !ok {
			v.fail(append(sp, "identities", name), "stamp %s: identities.%s: no such component", s.Name, name)
		}
	}
}
