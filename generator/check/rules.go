package check

import (
	"fmt"
	"slices"

	"github.com/libertum/platform-gitops/generator/connectivity"
	"github.com/libertum/platform-gitops/generator/credential"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/needs"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/spec"
)

// goRule is a check written in Go, beside the Rego policies under
// policies/: the rule names its findings carry (an exception may name
// them) and how it judges one environment's objects — object by object
// when it sees each object alone (object: its findings are cached with the
// object's), else all at once (check).
type goRule struct {
	names  []string
	object func(c *Checker, env *spec.Environment, in policy.Input) []policy.Finding
	// check judges an environment's objects together; typed converts
	// each object once for every rule.
	check func(c *Checker, env *spec.Environment, inputs []policy.Input, typed *manifest.Typed) ([]policy.Finding, error)
}

// goRules are every check written in Go: a new one is added here, and
// verify, diff's policy delta, policy check and the exceptions' rule names
// all have it.
var goRules = []goRule{
	{names: []string{PlaintextRule}, object: func(_ *Checker, _ *spec.Environment, in policy.Input) []policy.Finding {
		return Credentials(in)
	}},
	{names: []string{SchemaRule}, object: (*Checker).schema},
	// Kubernetes' own Pod Security admission on every pod, at its
	// Namespace's level.
	{names: []string{AdmissionRule, NamespaceLevelRule}, check: admission},
	// A namespace's quota admits what its pods run at once.
	{names: []string{QuotaSizeRule}, check: quotaSize},
	{names: []string{UpstreamRule}, check: func(_ *Checker, env *spec.Environment, _ []policy.Input, _ *manifest.Typed) ([]policy.Finding, error) {
		return imageFindings(env), nil
	}},
	// What each program needs, from its rendered configuration: the
	// connections it opens (judged by the NetworkPolicy engine), the
	// files it reads and writes, and what its configuration implies.
	{names: needs.Rules, check: func(_ *Checker, env *spec.Environment, inputs []policy.Input, typed *manifest.Typed) ([]policy.Finding, error) {
		return needs.Check(env, inputs, typed)
	}},
	// An engine we did not write reads the NetworkPolicies: every flow the
	// spec declares and no other. Objects without any NetworkPolicy (a
	// lone manifest given to policy check) leave it nothing to read.
	{names: []string{connectivity.Rule}, check: func(c *Checker, env *spec.Environment, inputs []policy.Input, typed *manifest.Typed) ([]policy.Finding, error) {
		if !slices.ContainsFunc(inputs, func(in policy.Input) bool { return in.Object.GetKind() == "NetworkPolicy" }) {
			return nil, nil
		}
		conns, err := connectivity.Evaluate(env, inputs, typed)
		if err != nil {
			return nil, err
		}
		c.keepConnections(env, conns)
		return connectivity.Findings(env, inputs, conns), nil
	}},
}

// SchemaRule names schema findings.
const SchemaRule = "schema.strict"

// UpstreamRule names third-party images that cannot be imported into the
// environment's ACR by digest: no upstream source, or no digest.
const UpstreamRule = "images.upstream"

// imageFindings holds every third-party image of the environment file to
// what an import by digest needs (see gitops images --format az).
func imageFindings(env *spec.Environment) []policy.Finding {
	var out []policy.Finding
	for _, c := range env.ComponentNames() {
		for i, im := range env.Spec.Components[c].Images {
			if why := spec.ImportProblem(im); why != "" {
				out = append(out, policy.Finding{Rule: UpstreamRule, Level: policy.Deny,
					Unit:    layout.Unit{Env: env.Name(), Component: c},
					Source:  env.Where("spec", "components", c, "images", fmt.Sprint(i)),
					Message: why, Fix: "record where the image comes from: upstream: REPOSITORY and tag: VERSION@sha256:DIGEST"})
			}
		}
	}
	return out
}

// schema decodes an object strictly into its Go type, as the API server
// of the environment's Kubernetes version would.
func (c *Checker) schema(env *spec.Environment, in policy.Input) []policy.Finding {
	obj := in.Object
	if err := c.validator.Check(obj, env.Spec.Cluster.KubernetesVersion); err != nil {
		return []policy.Finding{{
			Rule: SchemaRule, Level: policy.Deny, Unit: layout.Unit{Env: env.Name(), Stamp: in.Stamp, Component: in.Component},
			Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: manifest.Name(obj), File: in.File, Source: in.Source,
			Message: err.Error(), Fix: "fix the field in the base, chart or overlay that produces it",
		}}
	}
	return nil
}

// PlaintextRule names a credential written in the clear: a Secret's data,
// a value named like a credential, a URL's password, a connection
// string's key, a token in a webhook URL (package credential, the one
// classifier: render refuses what this rule denies).
const PlaintextRule = "secrets.plaintext"

// Credentials returns a finding for every credential an object carries in
// the clear, each naming the field.
func Credentials(in policy.Input) []policy.Finding {
	var fs []policy.Finding
	o := in.Object
	for _, l := range credential.Literals(o.Object) {
		fs = append(fs, policy.Finding{
			Rule: PlaintextRule, Level: policy.Deny, Unit: in.Unit,
			Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: manifest.Name(o), File: in.File, Source: in.Source,
			Message: l.Path + ": " + l.Why,
			Fix:     "keep the value in Key Vault and mount it (spec.components.<name>.secrets), or reference a Secret the CSI driver syncs",
		})
	}
	return fs
}
