package check

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/quota"
	"github.com/libertum/platform-gitops/generator/spec"
)

// QuotaSizeRule names a ResourceQuota that would refuse pods its
// namespace runs at once at the stamp's most load (package quota): the
// API server refuses a pod over quota, so an HPA scaling out at failover
// would stall.
const QuotaSizeRule = "resources.quota-size"

// quotaSize judges every ResourceQuota against the demand of its
// namespace's workloads in the same stamp.
func quotaSize(_ *Checker, env *spec.Environment, inputs []policy.Input, typed *manifest.Typed) ([]policy.Finding, error) {
	type key struct{ stamp, ns string }
	objs := map[key][]*manifest.Object{}
	for _, in := range inputs {
		k := key{in.Stamp, in.Object.GetNamespace()}
		objs[k] = append(objs[k], in.Object)
	}
	var out []policy.Finding
	for _, in := range inputs {
		o := in.Object
		if o.GetKind() != "ResourceQuota" {
			continue
		}
		var rq corev1.ResourceQuota
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &rq); err != nil {
			continue // the schema rule reports it
		}
		d, err := quota.Of(env, objs[key{in.Stamp, o.GetNamespace()}], typed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.File, err)
		}
		if over := quota.Covers(rq.Spec.Hard, d); len(over) > 0 {
			out = append(out, finding(in, QuotaSizeRule, policy.Deny,
				"the quota refuses pods the namespace runs at once at its most load (autoscalers at their maximum, rolling-update surge, DaemonSets on every node): "+strings.Join(over, "; "),
				"size the quota for the namespace's demand (the render does: generator/quota), or lower the demand"))
		}
	}
	return out, nil
}
