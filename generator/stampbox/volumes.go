package stampbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/generator/stampbox/podrun"
)

// Where the kubelet and the workload identity webhook put a pod's tokens.
const (
	serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"
	azureTokenDir     = "/var/run/secrets/azure/tokens"
	azureTokenFile    = "azure-identity-token"
)

// podFiles are a pod's volumes on the box's disk, by volume name, and the
// files every container of it gets (tokens, resolver, hosts).
type podFiles struct {
	dir     string
	volumes map[string]string
	extra   []podrun.Mount
	groups  []int64
}

// Secrets are the Key Vault objects' values the box makes up, by object
// name, the same for every pod of a run (the members of a replica set
// share their keyfile, a client and a server their password).
type Secrets map[string]string

// secret returns (making up once) a Key Vault object's value.
func (s Secrets) secret(name string) string {
	if v, ok := s[name]; ok {
		return v
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	var v string
	switch {
	case strings.HasSuffix(name, "keyfile"):
		k := make([]byte, 756)
		_, _ = rand.Read(k)
		v = base64.StdEncoding.EncodeToString(k)
	case strings.HasSuffix(name, "-url"):
		v = "https://" + webhookDomain + "/" + name
	case strings.HasSuffix(name, "-uri"):
		v = "mongodb://libertum:" + hex.EncodeToString(b) + "@mongodb.data." + suffix + ":27017/libertum"
	case strings.HasSuffix(name, "-sas"):
		v = "sv=2024-11-04&ss=b&srt=co&sp=rwl&sig=" + hex.EncodeToString(b)
	default:
		v = hex.EncodeToString(b)
	}
	s[name] = v
	return v
}

// prepare lays out a pod's volumes as the kubelet (and the Key Vault CSI
// driver) would: emptyDirs world-writable (group fsGroup), claims owned by
// root and group fsGroup, ConfigMaps' keys at their modes, the Key Vault
// objects root-owned at the modes package programs says the driver
// gives them, hostPaths on the pod's node.
func (b *Box) prepare(ctx context.Context, pod *Pod) (*podFiles, error) {
	dir := filepath.Join(b.fs, "pods", pod.Namespace, pod.Name)
	pf := &podFiles{dir: dir, volumes: map[string]string{}}
	ps := pod.Template.Spec
	fsGroup := int64(-1)
	if sc := ps.SecurityContext; sc != nil {
		if sc.FSGroup != nil {
			fsGroup = *sc.FSGroup
			pf.groups = append(pf.groups, fsGroup)
		}
		pf.groups = append(pf.groups, sc.SupplementalGroups...)
	}
	mk := func(p string, mode fs.FileMode, uid, gid int64) error {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		if err := os.Chown(p, int(uid), int(gid)); err != nil {
			return err
		}
		return os.Chmod(p, mode)
	}
	group := func() int64 {
		if fsGroup >= 0 {
			return fsGroup
		}
		return 0
	}
	for _, v := range ps.Volumes {
		vd := filepath.Join(dir, "volumes", v.Name)
		pf.volumes[v.Name] = vd
		var err error
		switch {
		case v.EmptyDir != nil:
			mode := fs.FileMode(0o777)
			if fsGroup >= 0 {
				mode |= fs.ModeSetgid
			}
			err = mk(vd, mode, 0, group())
		case v.ConfigMap != nil:
			err = b.configMap(pod, v.ConfigMap, vd, fsGroup)
		case v.Secret != nil:
			err = mk(vd, 0o755, 0, 0)
		case v.CSI != nil && v.CSI.Driver == "secrets-store.csi.k8s.io":
			err = b.keyVault(pod, v.CSI.VolumeAttributes["secretProviderClass"], vd)
		case v.HostPath != nil:
			vd = filepath.Join(b.fs, "nodes", pod.Node.Name, v.HostPath.Path)
			pf.volumes[v.Name] = vd
			err = os.MkdirAll(vd, 0o755)
		default:
			err = mk(vd, 0o755, 0, 0)
		}
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
	}
	for _, cl := range pod.Claims {
		vd := filepath.Join(dir, "claims", cl)
		pf.volumes[cl] = vd
		mode := fs.FileMode(0o755)
		if fsGroup >= 0 {
			mode = 0o775 | fs.ModeSetgid
		}
		if err := mk(vd, mode, 0, group()); err != nil {
			return nil, err
		}
	}
	if programs.MountsToken(&pod.Template.Spec, pod.Namespace, b.plan.Inputs) {
		sa := filepath.Join(dir, "serviceaccount")
		tok, err := b.cluster.Token(ctx, pod, "")
		if err != nil {
			return nil, err
		}
		if err := writeFiles(sa, map[string]string{"token": tok, "ca.crt": string(b.cluster.CA.PEM), "namespace": pod.Namespace}); err != nil {
			return nil, err
		}
		pf.extra = append(pf.extra, podrun.Mount{Source: sa, Target: serviceAccountDir, ReadOnly: true})
	}
	if pod.Template.Labels[programs.WorkloadIdentityLabel] == "true" {
		az := filepath.Join(dir, "azure-identity")
		tok, err := b.cluster.Token(ctx, pod, "api://AzureADTokenExchange")
		if err != nil {
			return nil, err
		}
		if err := writeFiles(az, map[string]string{azureTokenFile: tok}); err != nil {
			return nil, err
		}
		pf.extra = append(pf.extra, podrun.Mount{Source: az, Target: azureTokenDir, ReadOnly: true})
	}
	etc := filepath.Join(dir, "etc")
	host := pod.Name
	if pod.Hostname != "" && pod.Subdomain != "" {
		host = pod.Hostname + "." + pod.Subdomain + "." + pod.Namespace + "." + suffix + " " + pod.Hostname
	}
	if err := writeFiles(etc, map[string]string{
		"resolv.conf": fmt.Sprintf("search %s.%s %s cluster.local\nnameserver %s\noptions ndots:5\n", pod.Namespace, suffix, suffix, clusterDNSIP),
		"hosts":       fmt.Sprintf("127.0.0.1\tlocalhost\n%s\t%s\n", pod.IP, host),
	}); err != nil {
		return nil, err
	}
	pf.extra = append(pf.extra,
		podrun.Mount{Source: filepath.Join(etc, "resolv.conf"), Target: "/etc/resolv.conf", ReadOnly: true},
		podrun.Mount{Source: filepath.Join(etc, "hosts"), Target: "/etc/hosts", ReadOnly: true})
	return pf, nil
}

func writeFiles(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// configMap writes a ConfigMap volume: its keys (or items) at their modes,
// owned by root and, with an fsGroup, by that group with group read.
func (b *Box) configMap(pod *Pod, v *corev1.ConfigMapVolumeSource, dir string, fsGroup int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var data map[string]any
	for _, in := range b.plan.Inputs {
		o := in.Object
		if o.GetKind() == "ConfigMap" && manifest.Name(o) == v.Name && namespaceOf(o.GetNamespace()) == pod.Namespace {
			data, _ = o.Object["data"].(map[string]any)
		}
	}
	if data == nil && (v.Optional == nil || !*v.Optional) {
		return fmt.Errorf("ConfigMap %s/%s is not rendered", pod.Namespace, v.Name)
	}
	mode := fs.FileMode(0o644)
	if v.DefaultMode != nil {
		mode = fs.FileMode(*v.DefaultMode)
	}
	type file struct {
		key, path string
		mode      fs.FileMode
	}
	var files []file
	if len(v.Items) > 0 {
		for _, it := range v.Items {
			m := mode
			if it.Mode != nil {
				m = fs.FileMode(*it.Mode)
			}
			files = append(files, file{it.Key, it.Path, m})
		}
	} else {
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			files = append(files, file{k, k, mode})
		}
	}
	gid := 0
	if fsGroup >= 0 {
		gid = int(fsGroup)
	}
	for _, f := range files {
		s, _ := data[f.key].(string)
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			return err
		}
		m := f.mode
		if fsGroup >= 0 {
			m |= 0o440
		}
		if err := os.Chown(p, 0, gid); err != nil {
			return err
		}
		if err := os.Chmod(p, m); err != nil {
			return err
		}
	}
	return nil
}

// keyVault writes a SecretProviderClass's objects as the CSI driver would:
// root-owned, at the mode package programs derives for each.
func (b *Box) keyVault(pod *Pod, spc, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, in := range b.plan.Inputs {
		o := in.Object
		if o.GetKind() != "SecretProviderClass" || manifest.Name(o) != spc || namespaceOf(o.GetNamespace()) != pod.Namespace {
			continue
		}
		files, err := programs.SecretFiles(o)
		if err != nil {
			return err
		}
		for name, f := range files {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(b.secrets.secret(name)), 0o600); err != nil {
				return err
			}
			if err := os.Chown(p, int(f.UID), int(f.GID)); err != nil {
				return err
			}
			if err := os.Chmod(p, f.Mode); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("SecretProviderClass %s/%s is not rendered", pod.Namespace, spc)
}

// container is how one container of a pod starts: its mounts, user and
// environment; argv is filled by the caller.
func (b *Box) container(pod *Pod, pf *podFiles, c *corev1.Container) podrun.Container {
	ps := pod.Template.Spec
	out := podrun.Container{NetNS: b.plan.NetNS(pod), Hostname: pod.Name, Layer: filepath.Join(pf.dir, "layers", c.Name), Groups: pf.groups, Dir: c.WorkingDir}
	if sc := ps.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			out.UID = *sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			out.GID = *sc.RunAsGroup
		}
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			out.UID = *sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			out.GID = *sc.RunAsGroup
		}
		out.ReadOnlyRoot = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	}
	for _, m := range c.VolumeMounts {
		src, ok := pf.volumes[m.Name]
		if !ok {
			continue
		}
		if m.SubPath != "" {
			src = filepath.Join(src, m.SubPath)
		}
		out.Mounts = append(out.Mounts, podrun.Mount{Source: src, Target: m.MountPath, ReadOnly: m.ReadOnly})
	}
	out.Mounts = append(out.Mounts, pf.extra...)
	out.Env = b.env(pod, c)
	return out
}

// env is a container's environment as the kubelet (and the workload
// identity webhook) give it.
func (b *Box) env(pod *Pod, c *corev1.Container) []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME=" + pod.Name,
		"KUBERNETES_SERVICE_HOST=" + apiServiceIP.String(), "KUBERNETES_SERVICE_PORT=443",
	}
	if pod.Template.Labels[programs.WorkloadIdentityLabel] == "true" {
		env = append(env,
			"AZURE_AUTHORITY_HOST=https://"+programs.EntraIDHost+"/",
			"AZURE_FEDERATED_TOKEN_FILE="+path.Join(azureTokenDir, azureTokenFile),
			"AZURE_TENANT_ID="+b.plan.Env.Spec.TenantID,
			"AZURE_CLIENT_ID="+b.plan.Stamp.Identities[pod.Component])
	}
	for _, e := range c.Env {
		v := e.Value
		if f := e.ValueFrom; f != nil && f.FieldRef != nil {
			switch f.FieldRef.FieldPath {
			case "metadata.name":
				v = pod.Name
			case "metadata.namespace":
				v = pod.Namespace
			case "spec.nodeName":
				v = pod.Node.Name
			case "status.podIP":
				v = pod.IP.String()
			case "status.hostIP":
				v = pod.Node.IP.String()
			}
		}
		env = append(env, e.Name+"="+expandEnv(v, env))
	}
	return env
}

// expandEnv resolves $(NAME) references to variables defined before, as
// the kubelet does.
func expandEnv(v string, env []string) string {
	for _, e := range env {
		k, val, _ := strings.Cut(e, "=")
		v = strings.ReplaceAll(v, "$("+k+")", val)
	}
	return v
}
