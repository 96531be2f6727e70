package stampbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/generator/stampbox/podrun"
)

// Tools are the programs the box runs for real, built at the versions the
// environments pin (make programs), and cmd/boxpod.
type Tools struct {
	Prometheus, Alertmanager, KubeStateMetrics string
	// Boxpod starts every container (cmd/boxpod).
	Boxpod string
}

// How tells how a container runs in the box: for real (which binary), or
// as a stub, and why.
type How struct {
	Real bool
	Why  string
}

// command decides what runs for a container: the real program where one
// is here (Prometheus, Alertmanager, kube-state-metrics at the pinned
// versions, Debian's redis-server and nginx, coreutils' install), the
// stub otherwise.
func (b *Box) command(pod *Pod, pf *podFiles, c *corev1.Container, spec *podrun.Container) (How, error) {
	pc := programs.Container{Component: pod.Component, Workload: manifest.IDOf(pod.In.Object), Object: pod.In.Object, Pod: pod.Template, Spec: c, Objects: b.plan.unitObjects(pod.In)}
	prog := programs.Of(c)
	real := func(bin string) How {
		spec.Argv = append([]string{bin}, c.Args...)
		return How{Real: true, Why: bin}
	}
	switch {
	case prog == nil:
	case prog.Name == "prometheus":
		return real(b.tools.Prometheus), nil
	case prog.Name == "alertmanager":
		return real(b.tools.Alertmanager), nil
	case prog.Name == "kube-state-metrics":
		return real(b.tools.KubeStateMetrics), nil
	case prog.Name == "install":
		spec.Argv = append(slices.Clone(c.Command), c.Args...)
		return How{Real: true, Why: "coreutils install"}, nil
	case prog.Name == "redis":
		spec.Argv = append(slices.Clone(c.Command), c.Args...)
		if len(c.Command) == 0 {
			spec.Argv = append([]string{"redis-server"}, c.Args...)
		}
		return How{Real: true, Why: "Debian's redis-server"}, nil
	case prog.Name == "ingress-nginx":
		conf, err := b.plan.NginxConf(pod, pc)
		if err != nil {
			return How{}, err
		}
		file := filepath.Join(pf.dir, "nginx", c.Name+".conf")
		if err := writeFiles(filepath.Dir(file), map[string]string{filepath.Base(file): conf}); err != nil {
			return How{}, err
		}
		spec.Mounts = append(spec.Mounts, podrun.Mount{Source: file, Target: "/etc/nginx/ingress.conf", ReadOnly: true})
		spec.Argv = []string{"nginx", "-e", "stderr", "-c", "/etc/nginx/ingress.conf"}
		return How{Real: true, Why: "Debian's nginx with what the controller's template writes"}, nil
	}
	stub, err := b.stub(pod, pc, prog)
	if err != nil {
		return How{}, err
	}
	plan, err := json.Marshal(stub)
	if err != nil {
		return How{}, err
	}
	// The stub's binary is bound into the container where no volume of
	// the pod can hide it.
	spec.Mounts = append(spec.Mounts, podrun.Mount{Source: b.tools.Boxpod, Target: stubPath, ReadOnly: true})
	spec.Argv = []string{stubPath, "stub"}
	spec.Env = append(spec.Env, podrun.StubEnv+"="+string(plan))
	why := "stub: no image of ours here"
	if prog != nil {
		why = "stub of " + prog.Name + ": it cannot run here"
	}
	return How{Why: why}, nil
}

// stubPath is where a stub's container finds cmd/boxpod.
const stubPath = "/.stampbox/boxpod"

var touchWord = regexp.MustCompile(`touch\s+(/\S+?)[;\s]`)

// stub is what a container's stub does: its program's needs (package
// programs), or for one of our own services what the spec says it talks
// to.
func (b *Box) stub(pod *Pod, c programs.Container, prog *programs.Program) (podrun.Stub, error) {
	s := podrun.Stub{Program: c.Spec.Name, Once: pod.Job}
	if prog != nil {
		n, _, err := programs.For(c)
		if err != nil {
			return s, err
		}
		s.Program = prog.Name
		for _, r := range n.Reads {
			if strings.ContainsAny(r.Path, "*?[") {
				continue
			}
			if r.Private {
				s.Private = append(s.Private, r.Path)
			} else {
				s.Reads = append(s.Reads, r.Path)
			}
		}
		// A path on the root filesystem is the image's to own (this
		// machine's root is not the image): the stub checks the paths on
		// the pod's volumes, and every path when the root is read-only.
		readOnlyRoot := c.Spec.SecurityContext != nil && c.Spec.SecurityContext.ReadOnlyRootFilesystem != nil && *c.Spec.SecurityContext.ReadOnlyRootFilesystem
		for _, w := range n.Writes {
			if _, _, onVolume := c.Mount(w.Path); strings.HasPrefix(w.Path, "/") && (onVolume || readOnlyRoot) {
				s.Writes = append(s.Writes, w.Path)
			}
		}
		for _, l := range n.Listens {
			s.Listens = append(s.Listens, podrun.StubListen{Port: l.Port.Port, Protocol: string(l.Port.Protocol)})
			if l.Users&programs.Peers != 0 {
				s.Calls = append(s.Calls, b.peerCalls(pod, l)...)
			}
		}
		for _, call := range n.Calls {
			s.Calls = append(s.Calls, b.calls(call)...)
		}
	} else {
		for _, p := range c.Spec.Ports {
			s.Listens = append(s.Listens, podrun.StubListen{Port: p.ContainerPort, Protocol: string(protocolOf(p.Protocol))})
		}
		// The HealthService's contract: it answers its probe path, only
		// while what its --check flags name answers (the generator renders
		// them from what the stamp runs); our other services call what the
		// spec says they talk to.
		if p, ok := c.Flag("probe-path"); ok {
			s.HealthPath = p
			checks, err := healthChecks(c)
			if err != nil {
				return s, fmt.Errorf("%s: %w", pod.ID(), err)
			}
			s.Calls = append(s.Calls, checks...)
			for _, pr := range []*corev1.Probe{c.Spec.ReadinessProbe, c.Spec.LivenessProbe, c.Spec.StartupProbe} {
				if pr != nil && pr.HTTPGet != nil {
					s.ProbePaths = append(s.ProbePaths, pr.HTTPGet.Path)
				}
			}
		} else {
			calls, err := b.ownCalls(pod)
			if err != nil {
				return s, err
			}
			s.Calls = append(s.Calls, calls...)
		}
	}
	for _, call := range programs.PodNeeds(pod.Template).Calls {
		s.Calls = append(s.Calls, b.calls(call)...)
	}
	if script, ok := c.Script(); ok {
		for _, m := range touchWord.FindAllStringSubmatch(script+" ", -1) {
			s.Touch = append(s.Touch, m[1])
		}
	}
	return s, nil
}

// healthChecks are the connections a HealthService's --check flags open:
// name=tcp://host:port, or name=https://host/ on 443.
func healthChecks(c programs.Container) ([]podrun.StubCall, error) {
	var out []podrun.StubCall
	for _, v := range c.Flags("check") {
		name, raw, _ := strings.Cut(v, "=")
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			return nil, fmt.Errorf("--check %s: %q is not a URL", name, raw)
		}
		port := 443
		if p := u.Port(); p != "" {
			port, _ = strconv.Atoi(p)
		} else if u.Scheme == "tcp" {
			return nil, fmt.Errorf("--check %s: %q names no port", name, raw)
		}
		out = append(out, podrun.StubCall{Host: u.Hostname(), Port: int32(port), Protocol: "TCP", Why: "--check " + name})
	}
	return out, nil
}

// peerCalls are a replica's calls to the others on a peer port: by their
// DNS names under a StatefulSet's headless Service, or their addresses.
func (b *Box) peerCalls(pod *Pod, l programs.Listen) []podrun.StubCall {
	var out []podrun.StubCall
	for _, q := range b.plan.PodsOf(pod.In.Object.GetKind(), manifest.Name(pod.In.Object)) {
		if q == pod {
			continue
		}
		host := q.IP.String()
		if q.Hostname != "" && q.Subdomain != "" {
			host = q.Hostname + "." + q.Subdomain + "." + q.Namespace + "." + suffix
		}
		out = append(out, podrun.StubCall{Host: host, Port: l.Port.Port, Protocol: string(l.Port.Protocol), Why: "peers: " + l.Why})
	}
	return out
}

// calls are the connections one call of the catalog opens in the box.
func (b *Box) calls(c programs.Call) []podrun.StubCall {
	one := func(host string, port int32) []podrun.StubCall {
		return []podrun.StubCall{{Host: host, Port: port, Protocol: string(protocolOf(c.Port.Protocol)), Why: c.Why}}
	}
	switch c.Service {
	case programs.ServiceAPIServer:
		return one(apiServiceIP.String(), 443)
	case programs.ServiceNodes:
		var out []podrun.StubCall
		for _, n := range b.plan.Nodes {
			out = append(out, one(n.IP.String(), c.Port.Port)...)
		}
		return out
	case programs.ServiceAnnotatedPods:
		var out []podrun.StubCall
		for _, p := range b.plan.Pods {
			if p.Template.Annotations[flow.ScrapeAnnotation] == "true" {
				var port int32
				fmt.Sscan(p.Template.Annotations[flow.MetricsPortAnnotation], &port)
				out = append(out, one(p.IP.String(), port)...)
			}
		}
		return out
	case programs.ServiceInternet:
		return one(webhookDomain, c.Port.Port)
	}
	return one(c.Host, c.Port.Port)
}

// ownCalls are what one of our own services (or its job) calls: each
// Service of the components the spec says it talks to, and Azure.
func (b *Box) ownCalls(pod *Pod) ([]podrun.StubCall, error) {
	comp := b.plan.Env.Spec.Components[pod.Component]
	talks, azure := comp.TalksTo, comp.Azure
	if pod.Job {
		j := comp.Jobs[manifest.Name(pod.In.Object)]
		talks, azure = j.TalksTo, j.Azure
	}
	var out []podrun.StubCall
	for _, t := range talks {
		tc, ok := b.plan.Env.Spec.Components[t]
		if !ok {
			return nil, fmt.Errorf("%s talks to %s, which the spec does not have", pod.Component, t)
		}
		svc, ok := b.plan.Services[tc.Namespace+"/"+t]
		if !ok {
			return nil, fmt.Errorf("%s talks to %s, which renders no Service %s/%s", pod.Component, t, tc.Namespace, t)
		}
		for _, sp := range svc.Svc.Spec.Ports {
			out = append(out, podrun.StubCall{Host: t + "." + tc.Namespace + "." + suffix, Port: sp.Port, Protocol: string(protocolOf(sp.Protocol)), Why: "talksTo " + t})
		}
	}
	for _, s := range azure {
		switch s {
		case programs.ServiceBlob:
			out = append(out, podrun.StubCall{Host: pod.Component + ".blob.core.windows.net", Port: 443, Protocol: "TCP", Why: "azure blob"})
		case programs.ServiceAPIServer:
			out = append(out, podrun.StubCall{Host: apiServiceIP.String(), Port: 443, Protocol: "TCP", Why: "azure kube-apiserver"})
		}
	}
	return out, nil
}

// startPod prepares a pod's volumes, runs its init containers to
// completion and starts its containers.
func (b *Box) startPod(ctx context.Context, pod *Pod) error {
	pf, err := b.prepare(ctx, pod)
	if err != nil {
		return err
	}
	for i := range pod.Template.Spec.InitContainers {
		c := &pod.Template.Spec.InitContainers[i]
		spec := b.container(pod, pf, c)
		how, err := b.command(pod, pf, c, &spec)
		if err != nil {
			return fmt.Errorf("init container %s: %w", c.Name, err)
		}
		b.how[pod.ID()+"/"+c.Name] = how
		cmd, err := podrun.Command(b.tools.Boxpod, spec)
		if err != nil {
			return err
		}
		ictx, cancel := context.WithTimeout(ctx, time.Minute)
		run := exec.CommandContext(ictx, cmd.Path, cmd.Args[1:]...)
		run.Env, run.SysProcAttr = cmd.Env, cmd.SysProcAttr
		out, err := run.CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("init container %s: %v: %s", c.Name, err, strings.TrimSpace(string(out)))
		}
	}
	for i := range pod.Template.Spec.Containers {
		c := &pod.Template.Spec.Containers[i]
		spec := b.container(pod, pf, c)
		how, err := b.command(pod, pf, c, &spec)
		if err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		b.how[pod.ID()+"/"+c.Name] = how
		cmd, err := podrun.Command(b.tools.Boxpod, spec)
		if err != nil {
			return err
		}
		if err := b.procs.StartCmd(procName(pod, c.Name), cmd); err != nil {
			return err
		}
	}
	return nil
}

func procName(pod *Pod, container string) string {
	return pod.Namespace + "_" + pod.Name + "_" + container
}

// Probe is one probe of one container and its last answer.
type Probe struct {
	Pod, Container, Kind string
	Err                  error
}

// probe runs a container's probe as the kubelet would: an HTTP GET or a
// TCP connection to the pod's address (a named port looked up among the
// container's own ports), or the command inside the container.
func (b *Box) probe(ctx context.Context, pod *Pod, c *corev1.Container, p *corev1.Probe) error {
	if p == nil {
		return nil
	}
	port := func(v intOrString) (int32, error) {
		if v.name == "" {
			return v.number, nil
		}
		for _, cp := range c.Ports {
			if cp.Name == v.name {
				return cp.ContainerPort, nil
			}
		}
		return 0, fmt.Errorf("couldn't find port %q in container %s (the kubelet looks a probe's named port up among its container's ports)", v.name, c.Name)
	}
	switch {
	case p.HTTPGet != nil:
		n, err := port(intOrString{number: p.HTTPGet.Port.IntVal, name: p.HTTPGet.Port.StrVal})
		if err != nil {
			return err
		}
		return httpProbe(ctx, pod.IP, n, p.HTTPGet.Path)
	case p.TCPSocket != nil:
		n, err := port(intOrString{number: p.TCPSocket.Port.IntVal, name: p.TCPSocket.Port.StrVal})
		if err != nil {
			return err
		}
		return tcpProbe(ctx, pod.IP, n)
	case p.Exec != nil:
		return b.execProbe(ctx, pod, c, p.Exec.Command)
	}
	return nil
}

type intOrString struct {
	number int32
	name   string
}

// execProbe runs the command in the container (nsenter into its
// namespaces and root, as its user). A stub's container has not the
// program its probe asks (mongosh): the stub answering on its ports
// stands for it.
func (b *Box) execProbe(ctx context.Context, pod *Pod, c *corev1.Container, argv []string) error {
	pid := b.procs.Pid(procName(pod, c.Name))
	if pid == 0 {
		return fmt.Errorf("not running")
	}
	if how := b.how[pod.ID()+"/"+c.Name]; !how.Real {
		if _, err := exec.LookPath(argv[0]); err != nil && !strings.HasPrefix(argv[0], "/") {
			for _, cp := range c.Ports {
				if err := tcpProbe(ctx, pod.IP, cp.ContainerPort); err != nil {
					return err
				}
			}
			return nil
		}
	}
	spec := b.container(pod, &podFiles{}, c)
	args := []string{"-t", fmt.Sprint(pid), "-m", "-u", "-n", "-r", "-w", "-S", fmt.Sprint(spec.UID), "-G", fmt.Sprint(spec.GID), "--"}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(pctx, "nsenter", append(args, argv...)...)
	cmd.Env = spec.Env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Probes runs every container's readiness and liveness probe once.
func (b *Box) Probes(ctx context.Context) []Probe {
	var out []Probe
	for _, pod := range b.plan.Pods {
		if pod.Job {
			continue
		}
		for i := range pod.Template.Spec.Containers {
			c := &pod.Template.Spec.Containers[i]
			for kind, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				out = append(out, Probe{Pod: pod.ID(), Container: c.Name, Kind: kind, Err: b.probe(ctx, pod, c, p)})
			}
		}
	}
	slices.SortFunc(out, func(a, b Probe) int { return strings.Compare(a.Pod+a.Container+a.Kind, b.Pod+b.Container+b.Kind) })
	return out
}
