// Package stampbox runs a rendered stamp's programs in a box on one
// machine and asks them, not our model of them, whether the platform
// works: each replica is a process in a network namespace of its own with
// the address its pod would have, on a bridge; a cluster DNS answers the
// rendered Services (headless ones by pod); each process gets its pod's
// command, arguments and environment, its ConfigMap and Key Vault files at
// their mount paths with the modes they would have, its user, and a
// read-only root where the pod asks for one; a kube-apiserver holds the
// rendered objects, nodes and pods, so Prometheus' and
// kube-state-metrics' discovery works. The programs that can run here run
// (Prometheus, Alertmanager and kube-state-metrics at the pinned versions,
// Debian's redis-server and nginx); the others are stubs that listen and
// call what package programs says they do (podrun). Every connection
// attempt and DNS question on the bridge is recorded and judged: each flow
// by the NetworkPolicy engine on the rendered policies, each name by the
// egress intent.
//
// scripts/programs.sh (make programs) builds the programs once and runs
// this package's test as root in network and mount namespaces of its own.
package stampbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/libertum/platform-gitops/generator/servers"
)

// Options are what a box needs from the run.
type Options struct {
	// Work is the run's directory (a tmpfs is mounted under it).
	Work string
	// Apiserver is the kube-apiserver binary (make e2e builds it).
	Apiserver string
	Tools     Tools
	// CRDs are created before the rendered objects.
	CRDs []*unstructured.Unstructured
	// PIDFile lists every process started, for the script to stop what a
	// killed run left.
	PIDFile string
}

// Box is one stamp running.
type Box struct {
	plan    *Plan
	tools   Tools
	procs   *servers.Procs
	cluster *Cluster
	dns     *DNS
	outside *Outside
	fs      string
	secrets Secrets
	how     map[string]How
	// Started is when the first pod started, Ready when all were.
	Started time.Time
}

// Start wires the box and starts every pod: the network, cluster DNS, the
// API server with the rendered objects, the outside endpoints, the
// recorder on the bridge, then each pod's init containers and containers.
// Stop undoes it, on failure too.
func Start(ctx context.Context, plan *Plan, o Options) (b *Box, err error) {
	logs := filepath.Join(o.Work, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	// The Alertmanager leaves its cluster on SIGTERM, which takes seconds;
	// Prometheus flushes what it has not remote-written for up to its
	// --storage.remote.flush-deadline (15s: the box's Azure Monitor never
	// takes a sample) after draining its alert queue. The kubelet's grace
	// is 30s; the box waits longer before it calls a stop a failure.
	procs := &servers.Procs{Dir: logs, PIDFile: o.PIDFile, Grace: 45 * time.Second}
	b = &Box{plan: plan, tools: o.Tools, procs: procs, secrets: Secrets{}, how: map[string]How{}, fs: filepath.Join(o.Work, "fs")}
	defer func() {
		if err != nil {
			b.Stop()
		}
	}()
	if err := os.MkdirAll(b.fs, 0o755); err != nil {
		return b, err
	}
	if err := unix.Mount("tmpfs", b.fs, "tmpfs", 0, "mode=0755"); err != nil {
		return b, fmt.Errorf("tmpfs for the pods' files: %w", err)
	}
	if err := plan.Network(o.Work); err != nil {
		return b, err
	}
	if err := b.procs.Start("tcpdump", nil, "tcpdump", "-i", Bridge, "-n", "-l", "-tt", "-U", "-s", "256", CaptureFilter); err != nil {
		return b, err
	}
	if err := b.waitLog("tcpdump", "listening on", 30*time.Second); err != nil {
		return b, err
	}
	if b.dns, err = StartDNS(plan, ClusterDNS); err != nil {
		return b, err
	}
	ca, err := servers.NewCA()
	if err != nil {
		return b, err
	}
	if b.cluster, err = StartCluster(ctx, b.procs, o.Apiserver, plan, ca); err != nil {
		return b, err
	}
	if err := b.cluster.Load(ctx, plan, o.CRDs); err != nil {
		return b, err
	}
	if b.outside, err = StartOutside(ctx, plan, ca, b.cluster); err != nil {
		return b, err
	}
	b.Started = time.Now()
	for _, pod := range plan.Pods {
		if err := b.startPod(ctx, pod); err != nil {
			return b, fmt.Errorf("pod %s (%s): %w", pod.ID(), pod.Workload(), err)
		}
	}
	return b, nil
}

// waitLog waits for a line in a process's log.
func (b *Box) waitLog(name, text string, timeout time.Duration) error {
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if strings.Contains(b.procs.Tail(name, 50), text) {
			return nil
		}
		if err := b.procs.Dead(); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s: no %q in its log after %s", name, text, timeout)
}

// Stop stops every process by its pid (SIGKILL after a grace time), the
// DNS and outside endpoints, and unmounts the pods' files; it returns the
// processes it had to kill.
func (b *Box) Stop() []string {
	var killed []string
	if b.procs != nil {
		killed = b.procs.Stop()
	}
	if b.dns != nil {
		b.dns.Close()
	}
	if b.outside != nil {
		b.outside.Close()
	}
	_ = unix.Unmount(b.fs, unix.MNT_DETACH)
	if err := b.plan.Unwire(); err != nil {
		killed = append(killed, err.Error())
	}
	return killed
}

// Logs returns the end of a container's log.
func (b *Box) Logs(pod *Pod, container string, lines int) string {
	return b.procs.Tail(procName(pod, container), lines)
}

// How tells how each container ran (real program or stub), by
// namespace/pod/container.
func (b *Box) How() map[string]How { return b.how }

// Exited names the containers that have exited (a job's pod excepted when
// it succeeded), with the end of their log.
func (b *Box) Exited() []string {
	var out []string
	exited := b.procs.Exited()
	for _, pod := range b.plan.Pods {
		for _, c := range pod.Template.Spec.Containers {
			err, ok := exited[procName(pod, c.Name)]
			if !ok || (pod.Job && err == nil) {
				continue
			}
			out = append(out, fmt.Sprintf("%s container %s (%s) exited (%v); its log ends:\n%s", pod.ID(), c.Name, pod.Workload(), err, b.Logs(pod, c.Name, 8)))
		}
	}
	sort.Strings(out)
	return out
}

// Flows stops the recorder and reads what it saw.
func (b *Box) Flows() ([]Flow, error) {
	if pid := b.procs.Pid("tcpdump"); pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGINT)
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if _, done := b.procs.Exited()["tcpdump"]; done {
				break
			}
		}
	}
	return ReadFlows(filepath.Join(b.procs.Dir, "tcpdump.log"))
}

// Questions returns what cluster DNS was asked.
func (b *Box) Questions() []Question { return b.dns.Questions() }

// PeakRSS returns the largest resident set of any process and their sum,
// in MiB.
func (b *Box) PeakRSS() (max, sum int) {
	for _, v := range b.procs.PeakRSS() {
		sum += v
		if v > max {
			max = v
		}
	}
	return max, sum
}

// Nsenter runs a command in a container's namespaces (for a check that
// needs the program's own client, as a person would run it).
func (b *Box) Nsenter(ctx context.Context, pod *Pod, container string, argv ...string) (string, error) {
	pid := b.procs.Pid(procName(pod, container))
	if pid == 0 {
		return "", fmt.Errorf("%s/%s is not running", pod.ID(), container)
	}
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", fmt.Sprint(pid), "-m", "-u", "-n", "-r", "-w", "--"}, argv...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
