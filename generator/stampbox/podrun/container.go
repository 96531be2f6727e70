package podrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Container is how one container of a pod starts in the box: cmd/boxpod
// reads it (STAMPBOX_CONTAINER, JSON), enters the pod's network
// namespace, builds the container's filesystem — the machine's root as the
// image, through an overlay of the container's own (read-only where the
// pod asks), with the pod's volumes bound at their mount paths — takes the
// container's user and execs its command.
type Container struct {
	NetNS        string   `json:"netns"`
	Hostname     string   `json:"hostname"`
	Layer        string   `json:"layer"`
	ReadOnlyRoot bool     `json:"readOnlyRoot"`
	Mounts       []Mount  `json:"mounts"`
	UID          int64    `json:"uid"`
	GID          int64    `json:"gid"`
	Groups       []int64  `json:"groups,omitempty"`
	Env          []string `json:"env"`
	Dir          string   `json:"dir,omitempty"`
	Argv         []string `json:"argv"`
}

// Mount binds a directory or file of the box at a path of the container.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// ContainerEnv is the environment variable cmd/boxpod reads the container from.
const ContainerEnv = "STAMPBOX_CONTAINER"

// Command returns the command that starts a container: cmd/boxpod in new
// mount and UTS namespaces (it enters the pod's network namespace itself).
func Command(boxpod string, c Container) (*exec.Cmd, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(boxpod, "run")
	cmd.Env = []string{ContainerEnv + "=" + string(b), "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS}
	return cmd, nil
}

// Run is cmd/boxpod's run: it prepares the container and execs its
// command, returning only on failure.
func Run() error {
	var c Container
	if err := json.Unmarshal([]byte(os.Getenv(ContainerEnv)), &c); err != nil {
		return fmt.Errorf("%s: %w", ContainerEnv, err)
	}
	// The network namespace is a thread's: enter it on the thread that
	// execs.
	runtime.LockOSThread()
	ns, err := os.Open(c.NetNS)
	if err != nil {
		return err
	}
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter %s: %w", c.NetNS, err)
	}
	ns.Close()
	if err := unix.Sethostname([]byte(c.Hostname)); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	root, err := c.filesystem()
	if err != nil {
		return err
	}
	if err := unix.Chroot(root); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	dir := c.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("working directory %s: %w", dir, err)
	}
	groups := make([]int, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("groups: %w", err)
	}
	if err := syscall.Setgid(int(c.GID)); err != nil {
		return fmt.Errorf("gid %d: %w", c.GID, err)
	}
	if err := syscall.Setuid(int(c.UID)); err != nil {
		return fmt.Errorf("uid %d: %w", c.UID, err)
	}
	if len(c.Argv) == 0 {
		return errors.New("no command")
	}
	os.Clearenv()
	for _, e := range c.Env {
		if k, v, ok := strings.Cut(e, "="); ok {
			os.Setenv(k, v)
		}
	}
	bin, err := exec.LookPath(c.Argv[0])
	if err != nil {
		return fmt.Errorf("%s: %w", c.Argv[0], err)
	}
	return syscall.Exec(bin, c.Argv, c.Env)
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

// inRoot resolves a path of the container inside its root: symbolic links
// (/var/run -> /run) are followed within the root, never out of it.
func inRoot(root, p string) (string, error) {
	parts := strings.Split(strings.Trim(filepath.Clean(p), "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0; {
		next := filepath.Join(cur, parts[0])
		parts = parts[1:]
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many symbolic links", p)
		}
		link, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(cur, link)
		}
		parts = append(strings.Split(strings.Trim(filepath.Clean(link), "/"), "/"), parts...)
		cur = "/"
	}
	return filepath.Join(root, cur), nil
}

// filesystem mounts the container's root: an overlay of the machine's root
// with a writable layer of its own, the machine's /proc, /dev and /sys,
// and the pod's volumes; read-only last where the pod asks.
func (c Container) filesystem() (string, error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return "", fmt.Errorf("make / private: %w", err)
	}
	upper, work, root := filepath.Join(c.Layer, "upper"), filepath.Join(c.Layer, "work"), filepath.Join(c.Layer, "root")
	for _, d := range []string{upper, work, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	if err := unix.Mount("overlay", root, "overlay", 0, "lowerdir=/,upperdir="+upper+",workdir="+work); err != nil {
		return "", fmt.Errorf("overlay root: %w", err)
	}
	for _, d := range []string{"/proc", "/dev", "/sys"} {
		if err := unix.Mount(d, filepath.Join(root, d), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return "", fmt.Errorf("bind %s: %w", d, err)
		}
	}
	// Parents before children: a child's mount point is made inside its
	// parent's volume before anything is read-only.
	mounts := slices.Clone(c.Mounts)
	sort.SliceStable(mounts, func(i, j int) bool { return depth(mounts[i].Target) < depth(mounts[j].Target) })
	var readOnly []string
	for _, m := range mounts {
		target, err := inRoot(root, m.Target)
		if err != nil {
			return "", err
		}
		st, err := os.Stat(m.Source)
		if err != nil {
			return "", fmt.Errorf("volume for %s: %w", m.Target, err)
		}
		if st.IsDir() {
			err = os.MkdirAll(target, 0o755)
		} else {
			err = os.MkdirAll(filepath.Dir(target), 0o755)
			if err == nil {
				var f *os.File
				if f, err = os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
					f.Close()
				}
			}
		}
		if err != nil {
			return "", fmt.Errorf("mount point %s: %w", m.Target, err)
		}
		if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return "", fmt.Errorf("bind %s at %s: %w", m.Source, m.Target, err)
		}
		if m.ReadOnly {
			readOnly = append(readOnly, target)
		}
	}
	for _, target := range readOnly {
		if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			return "", fmt.Errorf("read-only %s: %w", target, err)
		}
	}
	if c.ReadOnlyRoot {
		if err := unix.Mount("", root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			return "", fmt.Errorf("read-only root: %w", err)
		}
	}
	return root, nil
}
