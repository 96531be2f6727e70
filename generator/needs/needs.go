// Package needs holds a stamp's rendered objects against what their
// programs need (package programs): every connection a program opens — to
// its own replicas, to the Services it names, to Azure and the API server
// — judged by the NetworkPolicy engine on the rendered NetworkPolicies;
// every file it reads with the mode and owner the pod gives it; every path
// it writes on something writable; its configuration consistent in
// itself; and, behind Front Door, the ingress controller refusing what
// does not come from the profile, judged by what nginx would do.
package needs

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/connectivity"
	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/generator/spec"
)

// Rules this package reports.
const (
	// RuleConnect: a connection a program needs is denied by the
	// NetworkPolicies (or goes nowhere).
	RuleConnect = "programs.connect"
	// RuleFiles: a file a program reads has a mode or owner it refuses
	// or cannot read.
	RuleFiles = "programs.files"
	// RuleWrites: a path a program writes is read-only.
	RuleWrites = "programs.writes"
	// RuleToken: a program that calls the API server gets no service
	// account token.
	RuleToken = "programs.token"
	// RuleConfig: a program's configuration contradicts itself or the
	// workload.
	RuleConfig = "programs.config"
	// RuleUnknown (warn): a third-party program the catalog has no entry for.
	RuleUnknown = "programs.unknown"
	// RuleVersion (warn): the environment pins a version the catalog's
	// entry was not read for.
	RuleVersion = "programs.version"
	// RuleSecret: a Secret a program reads from the API server exists
	// nowhere in the stamp.
	RuleSecret = "programs.secret"
	// RuleFrontDoor: behind Front Door, the ingress controller does not
	// refuse requests without the profile's ID.
	RuleFrontDoor = "entry.frontdoor-id"
)

// Rules lists every rule this package reports, for exceptions to name.
var Rules = []string{RuleConnect, RuleFiles, RuleWrites, RuleToken, RuleConfig, RuleSecret, RuleUnknown, RuleVersion, RuleFrontDoor}

// Check holds every pod of every stamp of an environment's rendered
// objects against its programs' needs, converting pod templates and
// NetworkPolicies through typed (nil: converted here).
func Check(env *spec.Environment, inputs []policy.Input, typed *manifest.Typed) ([]policy.Finding, error) {
	byStamp := map[string][]policy.Input{}
	for _, in := range inputs {
		if in.Stamp != "" {
			byStamp[in.Stamp] = append(byStamp[in.Stamp], in)
		}
	}
	var out []policy.Finding
	for _, st := range env.Spec.Stamps {
		s, err := newStamp(env, st.Name, byStamp[st.Name], typed)
		if err != nil {
			return nil, fmt.Errorf("needs %s/%s: %w", env.Name(), st.Name, err)
		}
		fs, err := s.check()
		if err != nil {
			return nil, fmt.Errorf("needs %s/%s: %w", env.Name(), st.Name, err)
		}
		out = append(out, fs...)
	}
	return out, nil
}

// stamp is one stamp's rendered objects, indexed for the checks.
type stamp struct {
	env *spec.Environment
	// net is the network of the stamp's region.
	net    spec.Network
	name   string
	judge  *connectivity.Judge
	pods   []*pod
	units  map[layout.Unit][]*manifest.Object
	inputs []policy.Input
	// services by namespace/name, with their EndpointSlices' addresses.
	services map[string]*service
}

// pod is a rendered pod template and where it comes from.
type pod struct {
	in  *policy.Input
	tpl *corev1.PodTemplateSpec
	ep  flow.Endpoint
}

func (p *pod) String() string {
	return p.in.Object.GetKind() + " " + p.in.Object.GetNamespace() + "/" + manifest.Name(p.in.Object)
}

type service struct {
	svc   corev1.Service
	in    *policy.Input
	slice []discoveryv1.EndpointSlice
}

func newStamp(env *spec.Environment, name string, inputs []policy.Input, typed *manifest.Typed) (*stamp, error) {
	s := &stamp{env: env, name: name, inputs: inputs, units: map[layout.Unit][]*manifest.Object{}, services: map[string]*service{}}
	if slices.ContainsFunc(inputs, func(in policy.Input) bool { return in.Object.GetKind() == "NetworkPolicy" }) {
		j, err := connectivity.NewJudge(inputs, typed)
		if err != nil {
			return nil, err
		}
		s.judge = j
	}
	if st, ok := env.StampNamed(name); ok {
		s.net = env.Network(st)
	}
	pods, err := netip.ParsePrefix(s.net.Pods())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env.Where("spec", "regions"), err)
	}
	addr := pods.Addr()
	var slicesSeen []*policy.Input
	for i := range inputs {
		in := &inputs[i]
		o := in.Object
		s.units[in.Unit] = append(s.units[in.Unit], o)
		switch o.GetKind() {
		case "Service":
			var svc corev1.Service
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &svc); err != nil {
				return nil, fmt.Errorf("%s: %w", in.File, err)
			}
			s.services[namespaced(o)] = &service{svc: svc, in: in}
			continue
		case "EndpointSlice":
			slicesSeen = append(slicesSeen, in)
			continue
		}
		tpl, err := typed.Template(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.File, err)
		}
		if tpl == nil {
			continue
		}
		addr = addr.Next()
		s.pods = append(s.pods, &pod{in: in, tpl: tpl, ep: connectivity.PodEndpoint(o, tpl.Labels, addr.String())})
	}
	for _, in := range slicesSeen {
		var es discoveryv1.EndpointSlice
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(in.Object.Object, &es); err != nil {
			return nil, fmt.Errorf("%s: %w", in.File, err)
		}
		if svc, ok := s.services[es.Namespace+"/"+es.Labels[discoveryv1.LabelServiceName]]; ok {
			svc.slice = append(svc.slice, es)
		}
	}
	return s, nil
}

func namespaced(o *manifest.Object) string {
	ns := o.GetNamespace()
	if ns == "" {
		ns = "default"
	}
	return ns + "/" + manifest.Name(o)
}

// finding is a finding about a pod's workload.
func (p *pod) finding(rule string, level policy.Level, msg, fix string) policy.Finding {
	o := p.in.Object
	return policy.Finding{Rule: rule, Level: level, Unit: p.in.Unit, Kind: o.GetKind(), Namespace: o.GetNamespace(),
		Name: manifest.Name(o), File: p.in.File, Source: p.in.Source, Message: msg, Fix: fix}
}

func (s *stamp) check() ([]policy.Finding, error) {
	var out []policy.Finding
	add := func(fs ...policy.Finding) { out = append(out, fs...) }
	for _, p := range s.pods {
		objs := s.units[p.in.Unit]
		containers := []struct {
			spec *corev1.Container
			init bool
		}{}
		for i := range p.tpl.Spec.InitContainers {
			containers = append(containers, struct {
				spec *corev1.Container
				init bool
			}{&p.tpl.Spec.InitContainers[i], true})
		}
		for i := range p.tpl.Spec.Containers {
			containers = append(containers, struct {
				spec *corev1.Container
				init bool
			}{&p.tpl.Spec.Containers[i], false})
		}
		conns := &connections{stamp: s, from: p}
		for _, cs := range containers {
			c := programs.Container{Component: p.in.Component, Workload: manifest.IDOf(p.in.Object), Object: p.in.Object, Pod: p.tpl, Spec: cs.spec, Init: cs.init, Objects: objs}
			n, prog, err := programs.For(c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.in.File, err)
			}
			if prog == nil {
				add(s.unknown(p, c)...)
				continue
			}
			if _, tag := programs.Repository(cs.spec.Image); len(prog.Images) > 0 && !prog.Covers(tag) {
				add(p.finding(RuleVersion, policy.Warn,
					fmt.Sprintf("container %q runs %s %s, but the catalog's %s entry was read for %s: its ports, files and calls may have changed", cs.spec.Name, prog.Name, tag, prog.Name, strings.Join(prog.Versions, ", ")),
					"read the program's documentation for the pinned version and update generator/programs"))
			}
			for _, pr := range n.Problems {
				add(p.finding(RuleConfig, policy.Deny, fmt.Sprintf("%s (container %q of %s): %s [%s]", prog.Name, cs.spec.Name, p, pr.Message, pr.Source),
					"make the configuration agree with itself and with the workload"))
			}
			fs, err := s.files(p, c, prog, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.in.File, err)
			}
			add(fs...)
			add(s.writes(p, c, prog, n)...)
			add(s.secrets(p, c, prog, n)...)
			if n.ServiceAccountToken && !programs.MountsToken(&p.tpl.Spec, p.in.Object.GetNamespace(), s.inputs) {
				add(p.finding(RuleToken, policy.Deny,
					fmt.Sprintf("%s (container %q of %s) calls the API server with the pod's service account token (%s), but the pod mounts none (automountServiceAccountToken: false)", prog.Name, cs.spec.Name, p, programs.ServiceAccountTokenPath),
					"set automountServiceAccountToken: true on the pod (or its ServiceAccount) of a program that calls the API server"))
			}
			if cs.init {
				continue // an init container's listeners are gone before the pod serves
			}
			conns.needs(prog.Name, cs.spec.Name, n, c.Replicas())
		}
		conns.needs("", "", programs.PodNeeds(p.tpl), 1)
		fs, err := conns.judge()
		if err != nil {
			return nil, err
		}
		add(fs...)
		fd, err := s.frontDoor(p, objs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.in.File, err)
		}
		add(fd...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Message < out[j].Message
	})
	return out, nil
}

// unknown warns about a third-party program the catalog has no entry for
// (in-house images, libertum/*, are ours to know).
func (s *stamp) unknown(p *pod, c programs.Container) []policy.Finding {
	repo, _ := programs.Repository(c.Spec.Image)
	if strings.HasPrefix(repo, "libertum/") {
		return nil
	}
	return []policy.Finding{p.finding(RuleUnknown, policy.Warn,
		fmt.Sprintf("container %q runs %s, which generator/programs has no entry for: its peer ports, files and calls are unknown, so nothing checks them", c.Spec.Name, repo),
		"add an entry to generator/programs from the program's documentation, citing it")}
}
