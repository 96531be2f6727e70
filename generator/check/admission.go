package check

import (
	"fmt"
	"strings"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/podsecurity"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/spec"
)

// AdmissionRule names a pod its Namespace's Pod Security level refuses,
// as Kubernetes' own admission code judges it: the API server would refuse
// to create its pods. NamespaceLevelRule warns of a Namespace below
// restricted, naming the workloads that hold it there.
const (
	AdmissionRule      = "podsecurity.admission"
	NamespaceLevelRule = "podsecurity.namespace-level"
)

// admission judges every pod template of an environment by its
// Namespace's enforce label in the same stamp (package podsecurity).
func admission(_ *Checker, env *spec.Environment, inputs []policy.Input, typed *manifest.Typed) ([]policy.Finding, error) {
	type key struct{ stamp, name string }
	namespaces := map[key]*manifest.Object{}
	byNamespace := map[key][]*manifest.Object{}
	for _, in := range inputs {
		o := in.Object
		if o.GetKind() == "Namespace" {
			namespaces[key{in.Stamp, o.GetName()}] = o
		} else {
			byNamespace[key{in.Stamp, o.GetNamespace()}] = append(byNamespace[key{in.Stamp, o.GetNamespace()}], o)
		}
	}
	var out []policy.Finding
	for _, in := range inputs {
		o := in.Object
		if o.GetKind() == "Namespace" {
			labels := o.GetLabels()
			if level := labels[podsecurity.EnforceLabel]; level != "" && level != podsecurity.Levels[0] {
				_, held, err := podsecurity.Strictest(labels[podsecurity.EnforceVersionLabel], byNamespace[key{in.Stamp, o.GetName()}], typed)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", in.File, err)
				}
				out = append(out, finding(in, NamespaceLevelRule, policy.Warn,
					fmt.Sprintf("Pod Security admission enforces %s here, not restricted: %s", level, strings.Join(held[podsecurity.Levels[0]], "; ")),
					"run these pods as non-root without host paths or added capabilities, or accept the level with an exception"))
			}
			continue
		}
		pod, err := typed.Template(o)
		if err != nil || pod == nil {
			continue // not a pod-bearing object, or the schema rule's to report
		}
		ns, ok := namespaces[key{in.Stamp, o.GetNamespace()}]
		if !ok {
			continue // a namespace the stamp does not render (policy check on lone objects)
		}
		labels := ns.GetLabels()
		level, version := labels[podsecurity.EnforceLabel], labels[podsecurity.EnforceVersionLabel]
		if level == "" {
			continue // labels.pod-security reports the missing label
		}
		if version == "" {
			version = "latest"
		}
		refusal, err := podsecurity.Admit(level, version, pod)
		if err != nil {
			return nil, fmt.Errorf("%s: namespace %s: %w", in.File, o.GetNamespace(), err)
		}
		if refusal != nil {
			out = append(out, finding(in, AdmissionRule, policy.Deny,
				fmt.Sprintf("namespace %s enforces Pod Security %s (%s), which refuses these pods: %s: %s", o.GetNamespace(), level, version, refusal.Reason, refusal.Detail),
				"make the pods pass the level, or lower the namespace's level (the render labels it at the strictest level its pods pass)"))
		}
	}
	return out, nil
}

// finding is a finding about one input's object.
func finding(in policy.Input, rule string, level policy.Level, msg, fix string) policy.Finding {
	o := in.Object
	return policy.Finding{Rule: rule, Level: level, Unit: in.Unit, Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: manifest.Name(o),
		File: in.File, Source: in.Source, Message: msg, Fix: fix}
}
