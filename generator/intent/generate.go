package intent

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/monitoring"
	"github.com/libertum/platform-gitops/generator/programs"
)

// ShapeAndGenerate shapes the objects the component's base or chart
// produced (in place) and returns the objects its intent calls for, each
// workload decoded once: the generators read the workloads as shaping
// left them instead of decoding the shaped objects again.
func ShapeAndGenerate(t Target, objs []*manifest.Object) ([]*manifest.Object, error) {
	ws, err := shape(t, objs)
	if err != nil {
		return nil, err
	}
	return generate(t, objs, ws)
}

// generate returns the objects the intent calls for, given the shaped
// objects and their workloads, decoded in order.
func generate(t Target, objs []*manifest.Object, ws []*workload) ([]*manifest.Object, error) {
	var out []runtime.Object
	if t.Component.External != nil {
		svc, slice, err := t.external()
		if err != nil {
			return nil, err
		}
		out = append(out, svc, slice)
	}
	// The generated configuration is what the programs will read: their
	// needs (the peer ports of the NetworkPolicies) are derived with it.
	cms, err := t.monitoringConfig()
	if err != nil {
		return nil, err
	}
	seen := slices.Clone(objs)
	for _, cm := range cms {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cm)
		if err != nil {
			return nil, fmt.Errorf("generate %s/%s: %w", t.Env.Name(), t.Name, err)
		}
		seen = append(seen, &manifest.Object{Object: m})
	}
	nps, err := t.networkPolicies(seen, ws)
	if err != nil {
		return nil, err
	}
	out = append(out, nps...)
	out = append(out, t.serviceAccounts(objs, ws)...)
	for _, w := range ws {
		if w.selector == nil || (w.kind != "Deployment" && w.kind != "StatefulSet") {
			continue
		}
		if hpa := t.hpa(w); hpa != nil {
			out = append(out, hpa)
		}
		if pdb := t.pdb(w); pdb != nil {
			out = append(out, pdb)
		}
	}
	if t.Component.Scaling != nil && !hasKind(out, "HorizontalPodAutoscaler") {
		return nil, fmt.Errorf("%s: component scales, but renders no Deployment or StatefulSet named %q for the HPA to target", t.where("scaling"), t.Name)
	}
	if t.Component.Ingress != nil {
		out = append(out, t.ingress())
	}
	if spc := t.secretProviderClass(); spc != nil {
		out = append(out, spc)
	}
	out = append(out, cms...)
	res := make([]*manifest.Object, 0, len(out))
	for _, o := range out {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, fmt.Errorf("generate %s/%s: %w", t.Env.Name(), t.Name, err)
		}
		res = append(res, &manifest.Object{Object: m})
	}
	return res, nil
}

func hasKind(objs []runtime.Object, kind string) bool {
	for _, o := range objs {
		if o.GetObjectKind().GroupVersionKind().Kind == kind {
			return true
		}
	}
	return false
}

func (t Target) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: t.Component.Namespace, Labels: map[string]string{LabelName: t.Name}}
}

func (t Target) hpa(w *workload) *autoscalingv2.HorizontalPodAutoscaler {
	s := t.Component.Scaling
	if s == nil || w.meta.Name != t.Name {
		return nil
	}
	lo, hi := t.Env.HPABounds(*s, t.Stamp)
	utilization := int32(70)
	window := int32(300)
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: t.meta(t.Name),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: w.kind, Name: w.meta.Name},
			MinReplicas:    &lo,
			MaxReplicas:    hi,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &utilization},
				},
			}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window},
			},
		},
	}
}

// pdb keeps all but one pod of a replicated workload up through node
// drains and zone maintenance.
func (t Target) pdb(w *workload) *policyv1.PodDisruptionBudget {
	// The least the workload runs with: the HPA minimum when it scales
	// (it renders no replicas then), else its replica count.
	replicas := int32(1)
	if n, ok := t.Replicas(); ok {
		replicas = n
	} else if w.replicas != nil && *w.replicas != nil {
		replicas = **w.replicas
	}
	if !t.Env.Disruptible(replicas) {
		return nil
	}
	one := intstr.FromInt32(1)
	// Pods that are not ready cannot serve anyway: let a node drain evict
	// them rather than wait on a budget they already break.
	alwaysAllow := policyv1.AlwaysAllow
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: t.meta(w.meta.Name),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             &one,
			Selector:                   w.selector.DeepCopy(),
			UnhealthyPodEvictionPolicy: &alwaysAllow,
		},
	}
}

// networkPolicies renders the component's NetworkPolicies from the
// network intent graph (see package flow): the spec's flows, on the ports
// the component's own objects serve and its programs need among their
// replicas (package programs, from their rendered configuration).
func (t Target) networkPolicies(objs []*manifest.Object, ws []*workload) ([]runtime.Object, error) {
	// The workloads are decoded already: their pod templates are what
	// decoding the objects' would give.
	templates := make(map[*manifest.Object]*corev1.PodTemplateSpec, len(ws))
	for _, w := range ws {
		templates[w.src] = w.pod
	}
	iface, err := programs.Interface(t.Name, objs, func(o *manifest.Object) (*corev1.PodTemplateSpec, error) {
		if p, ok := templates[o]; ok {
			return p, nil
		}
		return manifest.PodTemplate(o)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.where(), err)
	}
	inCluster := t.Component.External == nil
	ifaces := map[string]flow.Interface{}
	if inCluster {
		ifaces[t.Name] = iface
		if consumers := t.Env.Consumers(t.Name); len(consumers) > 0 && len(iface.Client) == 0 {
			return nil, fmt.Errorf("%s: %s talk to %s, but no Service of its base or chart selects its pods with a port for them",
				t.where(), strings.Join(consumers, ", "), t.Name)
		}
	}
	g, err := flow.BuildFor(t.Env, t.Stamp, ifaces, t.Name)
	if err != nil {
		return nil, err
	}
	rendered := map[string]bool{}
	for _, w := range ws {
		if manifest.IsJob(w.kind) {
			rendered[w.meta.Name] = true
		}
	}
	var jobs []string
	for _, j := range slices.Sorted(maps.Keys(t.Component.Jobs)) {
		if !rendered[j] {
			return nil, fmt.Errorf("%s: base %s renders no CronJob or Job named %q", t.where("jobs", j), t.Component.BaseDir(t.Name), j)
		}
		jobs = append(jobs, j)
	}
	if len(ws) == 0 {
		return nil, nil
	}
	var out []runtime.Object
	for _, np := range flow.Policies(g, t.Name, t.Component.Namespace, jobs, inCluster) {
		np.Labels = map[string]string{LabelName: t.Name}
		out = append(out, np)
	}
	return out, nil
}

// monitoringConfig renders what package monitoring generates from the
// spec as ConfigMaps of the components that load them: the alert rules
// (Prometheus: <name>-rules), the Alertmanager's routing (<name>-config) and
// the dashboards (Grafana: <name>-dashboards).
func (t Target) monitoringConfig() ([]runtime.Object, error) {
	var out []runtime.Object
	cm := func(name string, data map[string]string) *corev1.ConfigMap {
		c := &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: t.meta(name), Data: data,
		}
		out = append(out, c)
		return c
	}
	a := t.Env.Spec.Alerting
	if a != nil && t.Component.ScrapesMetrics {
		// The rules watch what the whole stamp runs: render fills them in
		// once every unit of the stamp is rendered (monitoring.Runs).
		b, err := monitoring.Rules(t.Env, nil).Encode()
		if err != nil {
			return nil, fmt.Errorf("%s: alert rules: %w", t.where(), err)
		}
		cm(monitoring.RulesConfigMap(t.Name), map[string]string{monitoring.RulesKey: string(b)})
	}
	if a != nil && a.Alertmanager == t.Name {
		b, err := monitoring.AlertmanagerConfig(t.Env, secretsMountPath)
		if err != nil {
			return nil, fmt.Errorf("%s: alertmanager configuration: %w", t.where(), err)
		}
		cm(t.Name+"-config", map[string]string{"alertmanager.yml": string(b)})
	}
	if t.Component.Dashboards {
		data := map[string]string{}
		for name, d := range monitoring.Dashboards(t.Env) {
			b, err := d.Encode()
			if err != nil {
				return nil, fmt.Errorf("%s: dashboard %s: %w", t.where(), name, err)
			}
			data[name] = string(b)
		}
		// The label Grafana's dashboard sidecar looks for, should one be
		// used instead of the mounted provider.
		cm(t.Name+"-dashboards", data).Labels["grafana_dashboard"] = "1"
	}
	return out, nil
}

// ingress serves the component under its stamp host and, behind Front
// Door, under the environment's global host too (Front Door forwards the
// host users asked for) unless it is served per stamp only.
func (t Target) ingress() *networkingv1.Ingress {
	in := t.Component.Ingress
	hosts := []string{in.StampHost(t.Stamp)}
	if f := t.Env.Spec.FrontDoor; f != nil && !in.StampOnly {
		hosts = append(hosts, in.GlobalHost(f))
	}
	path := in.RoutePath()
	port := networkingv1.ServiceBackendPort{Name: "http"}
	if in.Port != "" {
		port = networkingv1.ServiceBackendPort{Name: in.Port}
		var n int32
		if _, err := fmt.Sscanf(in.Port, "%d", &n); err == nil {
			port = networkingv1.ServiceBackendPort{Number: n}
		}
	}
	class := "nginx"
	prefix := networkingv1.PathTypePrefix
	rules := make([]networkingv1.IngressRule, len(hosts))
	for i, h := range hosts {
		rules[i] = networkingv1.IngressRule{
			Host: h,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{
					Path:     path,
					PathType: &prefix,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: t.Name, Port: port,
					}},
				}},
			}},
		}
	}
	return &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: t.meta(t.Name),
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			// No secretName: the controller serves the stamp's certificate
			// as its default certificate, so the key lives only where TLS
			// terminates, never in this namespace (docs/certificates.md).
			TLS:   []networkingv1.IngressTLS{{Hosts: hosts}},
			Rules: rules,
		},
	}
}

// external renders a component that runs on an ExternalHost as a Service
// without selector and an EndpointSlice pointing at the host's address.
func (t Target) external() (*corev1.Service, *discoveryv1.EndpointSlice, error) {
	x := t.Component.External
	host, _, ok := t.Env.ExternalHost(x.Host)
	if !ok {
		return nil, nil, fmt.Errorf("%s: external host %q is not declared", t.where("external", "host"), x.Host)
	}
	addr, err := netip.ParseAddr(host.Address)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", t.Env.Where("spec", "regions", t.Stamp.Region, "externalHosts"), err)
	}
	addrType := discoveryv1.AddressTypeIPv4
	if addr.Is6() {
		addrType = discoveryv1.AddressTypeIPv6
	}
	svcMeta := t.meta(t.Name)
	svcMeta.Annotations = map[string]string{"libertum.io/external-host": host.Name}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: svcMeta,
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP},
	}
	sliceMeta := t.meta(t.Name + "-external")
	sliceMeta.Labels["kubernetes.io/service-name"] = t.Name
	sliceMeta.Labels["endpointslice.kubernetes.io/managed-by"] = "gitops.libertum.io"
	sliceMeta.Annotations = map[string]string{"libertum.io/external-host": host.Name}
	ready := true
	tcp := corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		TypeMeta:    metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta:  sliceMeta,
		AddressType: addrType,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{addr.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		}},
	}
	for _, p := range x.Ports {
		name, port := p.Name, int32(p.Port)
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromInt32(port), Protocol: tcp})
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &tcp})
	}
	return svc, slice, nil
}

// SecretProviderClass is the Azure Key Vault CSI driver's custom resource
// (secrets-store.csi.x-k8s.io/v1), declared here as the subset we render.
type SecretProviderClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              SecretProviderClassSpec `json:"spec"`
}

// SecretProviderClassSpec is the spec of a SecretProviderClass.
type SecretProviderClassSpec struct {
	Provider      string            `json:"provider"`
	Parameters    map[string]string `json:"parameters"`
	SecretObjects []SecretObject    `json:"secretObjects,omitempty"`
}

// SecretObject syncs mounted Key Vault objects into a Kubernetes Secret
// (the stamp's TLS certificate, which the ingress controller reads as a
// Secret in its own namespace).
type SecretObject struct {
	SecretName string             `json:"secretName"`
	Type       string             `json:"type"`
	Data       []SecretObjectData `json:"data"`
}

// SecretObjectData maps one Key Vault object to one Secret key.
type SecretObjectData struct {
	ObjectName string `json:"objectName"`
	Key        string `json:"key"`
}

// DeepCopyObject satisfies runtime.Object.
func (s *SecretProviderClass) DeepCopyObject() runtime.Object {
	c := *s
	c.ObjectMeta = *s.ObjectMeta.DeepCopy()
	c.Spec.Parameters = make(map[string]string, len(s.Spec.Parameters))
	for k, v := range s.Spec.Parameters {
		c.Spec.Parameters[k] = v
	}
	c.Spec.SecretObjects = append([]SecretObject(nil), s.Spec.SecretObjects...)
	return &c
}

func (t Target) secretProviderClassName() string { return t.Name + "-keyvault" }

type kvObject struct {
	ObjectName string `json:"objectName"`
	ObjectType string `json:"objectType"`
}

func (t Target) secretProviderClass() *SecretProviderClass {
	names := t.Component.KeyVaultObjects(t.Stamp)
	if len(names) == 0 {
		return nil
	}
	var items []string
	for _, n := range names {
		b, _ := yaml.Marshal(kvObject{ObjectName: n, ObjectType: "secret"})
		items = append(items, "  - |\n"+indent(string(b), "    "))
	}
	spc := &SecretProviderClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: "secrets-store.csi.x-k8s.io/v1", Kind: "SecretProviderClass"},
		ObjectMeta: t.meta(t.secretProviderClassName()),
		Spec: SecretProviderClassSpec{
			Provider: "azure",
			Parameters: map[string]string{
				"usePodIdentity": "false",
				"clientID":       t.Stamp.Identities[t.Name],
				"keyvaultName":   t.Stamp.KeyVault,
				"tenantId":       t.Env.Spec.TenantID,
				"objects":        "array:\n" + strings.Join(items, ""),
			},
		},
	}
	if c := t.Stamp.Certificate; t.Component.TerminatesTLS && c != nil {
		tls := c.Name
		spc.Spec.SecretObjects = []SecretObject{{
			SecretName: tls,
			Type:       string(corev1.SecretTypeTLS),
			Data:       []SecretObjectData{{ObjectName: tls, Key: "tls.key"}, {ObjectName: tls, Key: "tls.crt"}},
		}}
	}
	return spc
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
