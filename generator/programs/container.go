package programs

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
)

// Container is one container of a rendered pod template, with the objects
// rendered beside it (its ConfigMaps, Services, autoscaler).
type Container struct {
	Component string
	Workload  manifest.ID
	// Object is the workload (Deployment, StatefulSet, DaemonSet, CronJob, Job).
	Object *manifest.Object
	Pod    *corev1.PodTemplateSpec
	Spec   *corev1.Container
	// Init marks an init container.
	Init bool
	// Objects are the objects rendered with the workload (its unit).
	Objects []*manifest.Object
}

// argv is the container's command and arguments as the runtime joins
// them.
func (c Container) argv() []string {
	return append(append([]string(nil), c.Spec.Command...), c.Spec.Args...)
}

// Flags returns every value given to a command-line flag, in order: the
// forms -name=v, --name=v, -name v and --name v (the last only when the
// next word is not a flag itself).
func (c Container) Flags(name string) []string {
	argv := c.argv()
	var out []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			out = append(out, v)
			continue
		}
		if a == name && i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
			out = append(out, argv[i+1])
			i++
		}
	}
	return out
}

// Flag returns a flag's value (the last given wins, as every flag parser
// the catalog's programs use has it) and whether it is given.
func (c Container) Flag(name string) (string, bool) {
	vs := c.Flags(name)
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// HasFlag reports whether a flag is given at all, with or without a value.
func (c Container) HasFlag(name string) bool {
	for _, a := range c.argv() {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// Env returns an environment variable's literal value.
func (c Container) Env(name string) (string, bool) {
	for _, e := range c.Spec.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	return "", false
}

// Script returns the shell script a container runs with sh -c, if it does.
func (c Container) Script() (string, bool) {
	argv := c.argv()
	for i := 0; i+1 < len(argv); i++ {
		if path.Base(argv[i]) == "sh" || path.Base(argv[i]) == "bash" {
			if argv[i+1] == "-c" && i+2 < len(argv) {
				return argv[i+2], true
			}
		}
	}
	return "", false
}

// Mount returns the volume mount a path lies under (the longest mount
// path that contains it) and the path relative to it.
func (c Container) Mount(p string) (corev1.VolumeMount, string, bool) {
	p = path.Clean(p)
	best, rel, found := corev1.VolumeMount{}, "", false
	for _, m := range c.Spec.VolumeMounts {
		mp := path.Clean(m.MountPath)
		var r string
		switch {
		case mp == p:
			r = ""
		case strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/"):
			r = strings.TrimPrefix(p, strings.TrimSuffix(mp, "/")+"/")
		default:
			continue
		}
		if !found || len(mp) > len(path.Clean(best.MountPath)) {
			best, rel, found = m, r, true
		}
	}
	return best, rel, found
}

// Volume returns the pod's volume of that name.
func (c Container) Volume(name string) (corev1.Volume, bool) {
	for _, v := range c.Pod.Spec.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return corev1.Volume{}, false
}

// Object returns the rendered object of a kind and name in the workload's
// namespace.
func (c Container) object(kind, name string) (*manifest.Object, bool) {
	ns := c.Object.GetNamespace()
	for _, o := range c.Objects {
		if o.GetKind() == kind && manifest.Name(o) == name && o.GetNamespace() == ns {
			return o, true
		}
	}
	return nil, false
}

// File returns the content of a file the container reads from a ConfigMap
// volume, and where it comes from ("ConfigMap monitoring/loki-config,
// key loki.yaml"); false when no ConfigMap volume holds the path.
func (c Container) File(p string) (string, string, bool) {
	m, rel, ok := c.Mount(p)
	if !ok {
		return "", "", false
	}
	v, ok := c.Volume(m.Name)
	if !ok || v.ConfigMap == nil {
		return "", "", false
	}
	if m.SubPath != "" {
		if rel != "" {
			rel = m.SubPath + "/" + rel
		} else {
			rel = m.SubPath
		}
	}
	key := rel
	if len(v.ConfigMap.Items) > 0 {
		key = ""
		for _, it := range v.ConfigMap.Items {
			if it.Path == rel {
				key = it.Key
			}
		}
	}
	cm, ok := c.object("ConfigMap", v.ConfigMap.Name)
	if !ok || key == "" {
		return "", "", false
	}
	data, _, _ := unstructured.NestedString(cm.Object, "data", key)
	if data == "" {
		return "", "", false
	}
	return data, fmt.Sprintf("ConfigMap %s/%s, key %s", cm.GetNamespace(), manifest.Name(cm), key), true
}

// VolumeClaims are the names of a StatefulSet's volume claim templates:
// the volumes its pods mount that no pod spec lists.
func VolumeClaims(o *manifest.Object) []string {
	if o.GetKind() != "StatefulSet" {
		return nil
	}
	vcts, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumeClaimTemplates")
	var out []string
	for _, v := range vcts {
		if m, ok := v.(map[string]any); ok {
			if n, _, _ := unstructured.NestedString(m, "metadata", "name"); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// Replicas returns how many pods the workload runs at least: its replicas,
// the minimum of the autoscaler that scales it, 1 for a job; 0 for a
// DaemonSet (one per node).
func (c Container) Replicas() int {
	kind := c.Object.GetKind()
	switch kind {
	case "DaemonSet":
		return 0
	case "Job", "CronJob":
		return 1
	}
	if n, ok, _ := unstructuredInt(c.Object.Object, "spec", "replicas"); ok {
		return n
	}
	for _, o := range c.Objects {
		if o.GetKind() != "HorizontalPodAutoscaler" {
			continue
		}
		target, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		tkind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
		if target == c.Workload.Name && tkind == kind {
			if n, ok, _ := unstructuredInt(o.Object, "spec", "minReplicas"); ok {
				return n
			}
		}
	}
	return 1
}

func unstructuredInt(m map[string]any, keys ...string) (int, bool, error) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return 0, false, nil
		}
		cur = mm[k]
	}
	switch v := cur.(type) {
	case int64:
		return int(v), true, nil
	case int:
		return v, true, nil
	case float64:
		return int(v), true, nil
	}
	return 0, false, nil
}

// port parses the port of a listen address (":9093", "0.0.0.0:9094",
// "9090"); false for an empty address (a listener turned off).
func listenPort(addr string) (int32, bool, error) {
	if addr == "" {
		return 0, false, nil
	}
	p := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		p = addr[i+1:]
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil || n <= 0 || n > 65535 {
		return 0, false, fmt.Errorf("listen address %q: no port", addr)
	}
	return int32(n), true, nil
}

// hostPort splits host:port.
func hostPort(s string) (string, int32, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", 0, fmt.Errorf("%q: want host:port", s)
	}
	n, err := strconv.ParseInt(s[i+1:], 10, 32)
	if err != nil || n <= 0 || n > 65535 {
		return "", 0, fmt.Errorf("%q: want host:port", s)
	}
	return s[:i], int32(n), nil
}

// portFlag is a command-line flag that sets a port a program listens on.
type portFlag struct {
	flag  string
	def   int32
	users Users
	why   string
}

// flagPorts are the ports a container listens on by its flags (each
// flag's default where the container does not set it), named for the
// flag without its "-port" suffix; source cites the flags' reference.
func flagPorts(c Container, source string, flags []portFlag) ([]Listen, error) {
	var out []Listen
	for _, f := range flags {
		port := f.def
		if v, ok := c.Flag(f.flag); ok {
			p, err := strconv.ParseInt(v, 10, 32)
			if err != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("--%s %q: not a port", f.flag, v)
			}
			port = int32(p)
		}
		out = append(out, Listen{Port: tcp(strings.TrimSuffix(f.flag, "-port"), port), Users: f.users, Why: f.why, Source: source})
	}
	return out, nil
}

// MountsToken reports whether the kubelet mounts a pod's service account
// token: the pod's automountServiceAccountToken, else that of its
// ServiceAccount among the stamp's objects, else yes.
func MountsToken(spec *corev1.PodSpec, namespace string, stamp []policy.Input) bool {
	if v := spec.AutomountServiceAccountToken; v != nil {
		return *v
	}
	name := spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	for _, in := range stamp {
		o := in.Object
		if o.GetKind() == "ServiceAccount" && manifest.Name(o) == name && defaulted(o.GetNamespace()) == defaulted(namespace) {
			if v, ok := o.Object["automountServiceAccountToken"].(bool); ok {
				return v
			}
		}
	}
	return true
}

func defaulted(namespace string) string {
	if namespace == "" {
		return "default"
	}
	return namespace
}
