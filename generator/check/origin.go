package check

import (
	"path"
	"regexp"
	"strings"

	"github.com/libertum/platform-gitops/generator/origin"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
)

// judgement is what a rule judges: the object fields, the keys of a
// chart's values or templates that write them, and the component's field
// of the environment file the generator sets them from (for the
// component's own container).
type judgement struct {
	fields []string
	keys   []string
	spec   string
}

// judged maps rules (by ID, else by ID prefix) to what they judge: where
// a finding's cause was written.
var judged = map[string]judgement{
	"resources.":                       {fields: containerFields("resources"), keys: []string{"resources"}, spec: "resources"},
	"podsecurity.capabilities":         {fields: containerFields("securityContext.capabilities"), keys: []string{"capabilities"}},
	"podsecurity.host-path":            {fields: podFields("volumes.*.hostPath"), keys: []string{"hostPath"}},
	"podsecurity.host-port":            {fields: containerFields("ports.*.hostPort"), keys: []string{"hostPort"}},
	"podsecurity.host-namespaces":      {fields: podFields("hostNetwork", "hostPID", "hostIPC"), keys: []string{"hostNetwork", "hostPID", "hostIPC"}},
	"podsecurity.non-root":             {fields: append(containerFields("securityContext.runAsNonRoot", "securityContext.runAsUser"), podFields("securityContext.runAsNonRoot", "securityContext.runAsUser")...), keys: []string{"runAsNonRoot", "runAsUser", "securityContext"}},
	"podsecurity.read-only-root":       {fields: containerFields("securityContext.readOnlyRootFilesystem"), keys: []string{"readOnlyRootFilesystem", "securityContext"}},
	"podsecurity.privileged":           {fields: containerFields("securityContext.privileged"), keys: []string{"privileged"}},
	"podsecurity.privilege-escalation": {fields: containerFields("securityContext.allowPrivilegeEscalation"), keys: []string{"allowPrivilegeEscalation", "securityContext"}},
	"podsecurity.seccomp":              {fields: append(containerFields("securityContext.seccompProfile"), podFields("securityContext.seccompProfile")...), keys: []string{"seccompProfile", "securityContext"}},
	"podsecurity.automount-token":      {fields: podFields("automountServiceAccountToken"), keys: []string{"automountServiceAccountToken"}},
	"podsecurity.":                     {fields: append(containerFields("securityContext"), podFields("securityContext")...), keys: []string{"securityContext"}},
	"probes.":                          {fields: containerFields("readinessProbe", "livenessProbe", "startupProbe"), keys: []string{"readinessProbe", "livenessProbe", "startupProbe"}},
	"images.":                          {fields: containerFields("image"), keys: []string{"image"}, spec: "images"},
	"zones.":                           {fields: append(podFields("topologySpreadConstraints", "affinity"), "spec.replicas", "spec.maxUnavailable"), keys: []string{"topologySpreadConstraints", "affinity", "replicas"}, spec: "replicas"},
	"scaling.":                         {fields: []string{"spec.replicas", "spec.minReplicas", "spec.maxReplicas"}, keys: []string{"replicas", "minReplicas", "maxReplicas"}, spec: "scaling"},
	"identity.":                        {fields: append(podFields("serviceAccountName"), "metadata.labels", "spec.parameters"), keys: []string{"serviceAccountName", "serviceAccount"}},
	"labels.":                          {fields: []string{"metadata.labels", "spec.template.metadata.labels"}, keys: []string{"labels"}},
	"entry.":                           {fields: []string{"spec", "data"}, keys: []string{"spec"}},
	"network.":                         {fields: []string{"spec"}, keys: []string{"spec"}},
	"backup.":                          {fields: []string{"spec"}, keys: []string{"spec"}},
}

// podFields are fields of the pod template, in every kind that has one.
func podFields(names ...string) []string {
	var out []string
	for _, prefix := range []string{"spec.template.spec.", "spec.jobTemplate.spec.template.spec.", "spec."} {
		for _, n := range names {
			out = append(out, prefix+n)
		}
	}
	return out
}

// containerFields are fields of every container of a pod template.
func containerFields(names ...string) []string {
	var out []string
	for _, list := range []string{"containers", "initContainers"} {
		for _, n := range names {
			out = append(out, podFields(list+".*."+n)...)
		}
	}
	return out
}

// containerRE finds the container a message is about.
var containerRE = regexp.MustCompile(`container "([^"]+)"`)

// locate points each finding about an object at the line that set what it
// judges (Finding.Origin): an overlay patch that sets the field, the
// environment file for what the generator takes from it, the base's
// manifest or the chart's values. Lines are looked up after the findings
// cache (they move without the render changing).
func locate(f *origin.Finder, env *spec.Environment, fs []policy.Finding) {
	for i := range fs {
		fs[i].Origin = originOf(f, env, fs[i])
	}
}

func originOf(f *origin.Finder, env *spec.Environment, fd policy.Finding) string {
	c, ok := env.Spec.Components[fd.Component]
	if !ok || fd.Kind == "" || fd.Name == "" {
		return ""
	}
	j, ok := judged[fd.Rule]
	if !ok {
		family := fd.Rule[:strings.Index(fd.Rule, ".")+1]
		if j, ok = judged[family]; !ok || family == "" {
			return ""
		}
	}
	var fields []origin.Field
	for _, s := range j.fields {
		fields = append(fields, origin.ParseField(s))
	}
	obj := origin.Object{Kind: fd.Kind, Name: fd.Name}
	overlays := []string{path.Join(workspace.OverlaysDir, env.Name(), fd.Component), path.Join(workspace.OverlaysDir, env.Name())}
	if file, line, ok := f.InManifests(overlays, obj, fields, true); ok {
		return origin.At(file, line)
	}
	if j.spec != "" {
		m := containerRE.FindStringSubmatch(fd.Message)
		if m == nil || m[1] == fd.Component {
			if l := env.Line("spec", "components", fd.Component, j.spec); l > 0 && l != env.Line("spec", "components", fd.Component) {
				return origin.At(env.File, l)
			}
		}
	}
	base := workspace.ComponentBase(fd.Component, c)
	if file, line, ok := f.InManifests([]string{base}, obj, fields, false); ok {
		return origin.At(file, line)
	}
	values := path.Join(base, "values.yaml")
	if line, ok := f.InValues(values, j.keys); ok {
		return origin.At(values, line)
	}
	if file, line, ok := f.InTemplates(path.Join(base, "templates"), j.keys); ok {
		return origin.At(file, line)
	}
	return ""
}
