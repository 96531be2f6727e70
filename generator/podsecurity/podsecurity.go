// Package podsecurity judges pods by Kubernetes' own Pod Security
// admission (k8s.io/pod-security-admission, the code the API server runs):
// the strictest level a namespace's pods all pass, for its enforce label,
// and whether a namespace's label admits a pod. A namespace labelled
// stricter than its pods passes has them refused at admission.
package podsecurity

import (
	"fmt"
	"regexp"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// The labels a namespace declares its level with (Kubernetes' own).
const (
	EnforceLabel        = api.EnforceLevelLabel
	EnforceVersionLabel = api.EnforceVersionLabel
	AuditLabel          = api.AuditLevelLabel
	WarnLabel           = api.WarnLevelLabel
)

// Levels from the strictest.
var Levels = []string{string(api.LevelRestricted), string(api.LevelBaseline), string(api.LevelPrivileged)}

var (
	evaluatorOnce sync.Once
	evaluator     policy.Evaluator
	evaluatorErr  error
)

func load() (policy.Evaluator, error) {
	evaluatorOnce.Do(func() { evaluator, evaluatorErr = policy.NewEvaluator(policy.DefaultChecks(), nil) })
	return evaluator, evaluatorErr
}

var minorRE = regexp.MustCompile(`^v?1\.(\d+)`)

// Version is the policy version of a cluster version (v1.32.13 -> v1.32).
func Version(kube string) (string, error) {
	m := minorRE.FindStringSubmatch(kube)
	if m == nil {
		return "", fmt.Errorf("kubernetes version %q: want v1.MINOR", kube)
	}
	return "v1." + m[1], nil
}

// Refusal is why a level refuses a pod, in the admission's own words.
type Refusal struct {
	Reason, Detail string
}

// Admit evaluates a pod template at a level and policy version: nil when
// the admission lets it in.
func Admit(level, version string, pod *corev1.PodTemplateSpec) (*Refusal, error) {
	e, err := load()
	if err != nil {
		return nil, err
	}
	l, err := api.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	v, err := api.ParseVersion(version)
	if err != nil {
		return nil, err
	}
	agg := policy.AggregateCheckResults(e.EvaluatePod(api.LevelVersion{Level: l, Version: v}, &pod.ObjectMeta, &pod.Spec))
	if agg.Allowed {
		return nil, nil
	}
	return &Refusal{Reason: agg.ForbiddenReason(), Detail: agg.ForbiddenDetail()}, nil
}

// Strictest returns the strictest level every pod of objs passes (their
// pod templates, CronJobs' included), and for each stricter level the
// workloads it would refuse. The templates are read through typed (nil:
// converted here).
func Strictest(version string, objs []*manifest.Object, typed *manifest.Typed) (string, map[string][]string, error) {
	held := map[string][]string{}
	var templates []*corev1.PodTemplateSpec
	var names []string
	for _, o := range objs {
		p, err := typed.Template(o)
		if err != nil {
			return "", nil, err
		}
		if p != nil {
			templates = append(templates, p)
			names = append(names, o.GetKind()+" "+o.GetName())
		}
	}
	for _, level := range Levels {
		for i, p := range templates {
			r, err := Admit(level, version, p)
			if err != nil {
				return "", nil, err
			}
			if r != nil {
				held[level] = append(held[level], names[i]+" ("+r.Reason+")")
			}
		}
		if len(held[level]) == 0 {
			return level, held, nil
		}
		sort.Strings(held[level])
	}
	// Privileged admits everything: unreachable.
	return string(api.LevelPrivileged), held, nil
}
