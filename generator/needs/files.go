package needs

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/programs"
)

// Sources of the file model.
const (
	configMapModes = "https://kubernetes.io/docs/concepts/storage/volumes/#configmap (defaultMode 0644 unless items or defaultMode say otherwise); https://github.com/kubernetes/kubernetes/blob/v1.32.13/pkg/volume/volume_linux.go (fsGroup: group-owned, group read added)"
)

// file is what a path in a container is: its mode and owner, as the
// volume (or the init container that wrote it) makes it.
type file struct {
	mode     fs.FileMode
	uid, gid int64
	// how says what makes the file so, with the source.
	how string
	// missing names the SecretProviderClass that should hold the file
	// and mounts no such object.
	missing string
}

// user is who a container's processes run as.
type user struct {
	uid, gid int64
	groups   []int64
	known    bool
}

func userOf(t *corev1.PodTemplateSpec, c *corev1.Container) user {
	var u user
	ps := t.Spec.SecurityContext
	if ps != nil {
		if ps.RunAsUser != nil {
			u.uid, u.known = *ps.RunAsUser, true
		}
		if ps.RunAsGroup != nil {
			u.gid = *ps.RunAsGroup
		}
		if ps.FSGroup != nil {
			u.groups = append(u.groups, *ps.FSGroup)
		}
		u.groups = append(u.groups, ps.SupplementalGroups...)
	}
	if cs := c.SecurityContext; cs != nil {
		if cs.RunAsUser != nil {
			u.uid, u.known = *cs.RunAsUser, true
		}
		if cs.RunAsGroup != nil {
			u.gid = *cs.RunAsGroup
		}
	}
	return u
}

func (u user) String() string { return fmt.Sprintf("uid %d, gid %d", u.uid, u.gid) }

// reads reports whether the user may read a file with that mode and owner.
func (u user) reads(f file) bool {
	switch {
	case u.uid == f.uid:
		return f.mode&0o400 != 0
	case u.gid == f.gid || slices.Contains(u.groups, f.gid):
		return f.mode&0o040 != 0
	}
	return f.mode&0o004 != 0
}

// fileAt works out what a path is in one container of a pod; false when
// the pod does not say (an image's own file, a volume we cannot see into).
func (s *stamp) fileAt(p *pod, c programs.Container, at string) (file, bool, error) {
	m, rel, ok := c.Mount(at)
	if !ok {
		return file{}, false, nil
	}
	v, ok := c.Volume(m.Name)
	if !ok {
		return file{}, false, nil
	}
	switch {
	case v.CSI != nil && v.CSI.Driver == "secrets-store.csi.k8s.io":
		name := v.CSI.VolumeAttributes["secretProviderClass"]
		spc := s.object(p, "SecretProviderClass", name)
		if spc == nil {
			return file{}, false, nil
		}
		files, err := programs.SecretFiles(spc)
		if err != nil {
			return file{}, false, err
		}
		f, ok := files[rel]
		if !ok {
			return file{missing: name}, true, nil
		}
		return file{mode: f.Mode, uid: f.UID, gid: f.GID,
			how: fmt.Sprintf("the Key Vault CSI driver writes it %04o, owned by root (SecretProviderClass %s) [%s]", f.Mode, name, f.Source)}, true, nil
	case v.ConfigMap != nil || v.Secret != nil:
		mode := fs.FileMode(0o644)
		var def *int32
		var items []corev1.KeyToPath
		if v.ConfigMap != nil {
			def, items = v.ConfigMap.DefaultMode, v.ConfigMap.Items
		} else {
			def, items = v.Secret.DefaultMode, v.Secret.Items
		}
		if def != nil {
			mode = fs.FileMode(*def)
		}
		for _, it := range items {
			if it.Path == rel && it.Mode != nil {
				mode = fs.FileMode(*it.Mode)
			}
		}
		f := file{mode: mode, how: fmt.Sprintf("kubelet writes it %04o, owned by root", mode)}
		if sc := p.tpl.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
			f.gid, f.mode = *sc.FSGroup, f.mode|0o440
			f.how = fmt.Sprintf("kubelet writes it %04o, owned by root and group %d (fsGroup)", f.mode, f.gid)
		}
		f.how += " [" + configMapModes + "]"
		return f, true, nil
	case v.EmptyDir != nil:
		return s.installed(p, m.Name, rel)
	}
	return file{}, false, nil
}

// installed finds the init container that wrote a file into an emptyDir
// with install -m MODE SRC DST: the file has MODE and the init
// container's user.
func (s *stamp) installed(p *pod, volume, rel string) (file, bool, error) {
	for i := range p.tpl.Spec.InitContainers {
		ic := &p.tpl.Spec.InitContainers[i]
		_, dst, mode, ok := programs.Install(ic)
		if !ok {
			continue
		}
		c := programs.Container{Pod: p.tpl, Spec: ic}
		m, r, ok := c.Mount(dst)
		if !ok || m.Name != volume || r != rel {
			continue
		}
		u := userOf(p.tpl, ic)
		return file{mode: mode, uid: u.uid, gid: u.gid,
			how: fmt.Sprintf("init container %q installs it %04o as %s [%s]", ic.Name, mode, u, programs.InstallDoc)}, true, nil
	}
	return file{}, false, nil
}

func (s *stamp) object(p *pod, kind, name string) *manifest.Object {
	for _, o := range s.units[p.in.Unit] {
		if o.GetKind() == kind && manifest.Name(o) == name && o.GetNamespace() == p.in.Object.GetNamespace() {
			return o
		}
	}
	return nil
}

// files checks every file a container's program reads: present where the
// pod says it is, readable by the program's user, and private where the
// program refuses anything else.
func (s *stamp) files(p *pod, c programs.Container, prog *programs.Program, n programs.Needs) ([]policy.Finding, error) {
	var out []policy.Finding
	u := userOf(p.tpl, c.Spec)
	for _, r := range n.Reads {
		if strings.ContainsAny(r.Path, "*?[") {
			continue
		}
		f, known, err := s.fileAt(p, c, r.Path)
		if err != nil {
			return nil, err
		}
		if !known {
			continue
		}
		if f.missing != "" {
			out = append(out, p.finding(RuleFiles, policy.Deny,
				fmt.Sprintf("%s (container %q of %s) reads %s (%s), but SecretProviderClass %s mounts no object %s [%s]", prog.Name, c.Spec.Name, p, r.Path, r.Why, f.missing, path.Base(r.Path), r.Source),
				"list the Key Vault object in the component's secrets"))
			continue
		}
		if r.Private && f.mode&0o077 != 0 {
			out = append(out, p.finding(RuleFiles, policy.Deny,
				fmt.Sprintf("%s (container %q of %s) refuses %s (%s) unless only its owner may read it, and %s [%s]", prog.Name, c.Spec.Name, p, r.Path, r.Why, f.how, r.Source),
				"give the program an owner-only copy (mode 0400) owned by its user, such as one an init container installs into a memory volume"))
			continue
		}
		if u.known && !u.reads(f) {
			out = append(out, p.finding(RuleFiles, policy.Deny,
				fmt.Sprintf("%s (container %q of %s) runs as %s and cannot read %s (%s): %s [%s]", prog.Name, c.Spec.Name, p, u, r.Path, r.Why, f.how, r.Source),
				"make the file readable by the program's user (owner, group or mode)"))
		}
	}
	return out, nil
}

// writes checks that every path a container's program writes lies on a
// writable volume, or on a writable root filesystem.
func (s *stamp) writes(p *pod, c programs.Container, prog *programs.Program, n programs.Needs) []policy.Finding {
	var out []policy.Finding
	readOnlyRoot := c.Spec.SecurityContext != nil && c.Spec.SecurityContext.ReadOnlyRootFilesystem != nil && *c.Spec.SecurityContext.ReadOnlyRootFilesystem
	claims := programs.VolumeClaims(p.in.Object)
	for _, w := range n.Writes {
		at := w.Path
		if !path.IsAbs(at) {
			if c.Spec.WorkingDir == "" {
				continue // relative to the image's working directory, which the pod does not say
			}
			at = path.Join(c.Spec.WorkingDir, at)
		}
		m, _, ok := c.Mount(at)
		why := ""
		switch {
		case !ok && readOnlyRoot:
			why = "no volume is mounted there and the root filesystem is read-only"
		case !ok:
		case m.ReadOnly:
			why = fmt.Sprintf("volume %q is mounted read-only at %s", m.Name, m.MountPath)
		default:
			v, isVolume := c.Volume(m.Name)
			switch {
			case !isVolume && slices.Contains(claims, m.Name):
			case !isVolume:
				why = fmt.Sprintf("volume %q is not declared", m.Name)
			case v.ConfigMap != nil || v.Secret != nil || v.CSI != nil || v.Projected != nil || v.DownwardAPI != nil:
				why = fmt.Sprintf("volume %q at %s is read-only by kind", m.Name, m.MountPath)
			}
		}
		if why != "" {
			out = append(out, p.finding(RuleWrites, policy.Deny,
				fmt.Sprintf("%s (container %q of %s) writes %s (%s), but %s [%s]", prog.Name, c.Spec.Name, p, at, w.Why, why, w.Source),
				"mount a writable volume (emptyDir or a claim) at the path"))
		}
	}
	return out
}
