package stampbox

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/needs"
	"github.com/libertum/platform-gitops/generator/programs"
)

var client = &http.Client{Timeout: 3 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func httpGet(ctx context.Context, url, host string, headers map[string]string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, string(b), nil
}

// getJSON reads a program's JSON API into v: a GET answered 200 with a
// body that decodes.
func getJSON(ctx context.Context, url string, v any) error {
	code, body, err := httpGet(ctx, url, "", nil)
	switch {
	case err != nil:
		return err
	case code != http.StatusOK:
		return fmt.Errorf("GET %s: status %d", url, code)
	}
	return json.Unmarshal([]byte(body), v)
}

func httpProbe(ctx context.Context, ip netip.Addr, port int32, path string) error {
	code, _, err := httpGet(ctx, fmt.Sprintf("http://%s/%s", net.JoinHostPort(ip.String(), strconv.Itoa(int(port))), strings.TrimPrefix(path, "/")), "", nil)
	if err != nil {
		return err
	}
	if code < 200 || code >= 400 {
		return fmt.Errorf("GET %s on %d: %d", path, port, code)
	}
	return nil
}

func tcpProbe(ctx context.Context, ip netip.Addr, port int32) error {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(int(port))))
	if err != nil {
		return err
	}
	return c.Close()
}

// WaitReady probes every container until all pass or the time is up, and
// returns the last round's failures (and the containers that exited).
func (b *Box) WaitReady(ctx context.Context, timeout time.Duration) []string {
	end := time.Now().Add(timeout)
	for {
		var failed []string
		for _, p := range b.Probes(ctx) {
			if p.Err != nil {
				failed = append(failed, fmt.Sprintf("%s container %s: %s probe fails: %v", p.Pod, p.Container, p.Kind, p.Err))
			}
		}
		failed = append(failed, b.Exited()...)
		if len(failed) == 0 || time.Now().After(end) {
			return failed
		}
		time.Sleep(3 * time.Second)
	}
}

// AlertmanagerPeers asks every Alertmanager replica whom its cluster sees:
// each must see all replicas, ready.
func (b *Box) AlertmanagerPeers(ctx context.Context) []string {
	var out []string
	for _, pod := range b.podsOf("alertmanager") {
		replicas := len(b.plan.PodsOf(pod.In.Object.GetKind(), manifest.Name(pod.In.Object)))
		if replicas < 2 {
			continue
		}
		var st struct {
			Cluster struct {
				Status string `json:"status"`
				Peers  []struct {
					Address string `json:"address"`
				} `json:"peers"`
			} `json:"cluster"`
		}
		if err := getJSON(ctx, "http://"+pod.IP.String()+":9093/api/v2/status", &st); err != nil {
			out = append(out, fmt.Sprintf("%s: Alertmanager status: %v", pod.ID(), err))
			continue
		}
		if st.Cluster.Status != "ready" || len(st.Cluster.Peers) != replicas {
			out = append(out, fmt.Sprintf("%s: the Alertmanager cluster is %q with %d of %d peers (gossip on 9094, TCP and UDP)", pod.ID(), st.Cluster.Status, len(st.Cluster.Peers), replicas))
		}
	}
	return out
}

// podsOf returns the pods whose containers run a program of the catalog.
func (b *Box) podsOf(program string) []*Pod {
	var out []*Pod
	for _, pod := range b.plan.Pods {
		for i := range pod.Template.Spec.Containers {
			if p := programs.Of(&pod.Template.Spec.Containers[i]); p != nil && p.Name == program {
				out = append(out, pod)
				break
			}
		}
	}
	return out
}

// RedisReplication asks every Redis replica with redis-cli (Debian's, in
// the pod, with the password from its Key Vault file) for its role: the
// primary must see the others connected, each replica its primary up.
func (b *Box) RedisReplication(ctx context.Context) []string {
	var out []string
	pods := b.podsOf("redis")
	for _, pod := range pods {
		c := pod.Template.Spec.Containers[0].Name
		info, err := b.Nsenter(ctx, pod, c, "/bin/sh", "-c", `REDISCLI_AUTH="$(cat /mnt/secrets-store/redis-password)" redis-cli info replication`)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: redis-cli info replication: %v: %s", pod.ID(), err, strings.TrimSpace(info)))
			continue
		}
		fields := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(info))
		for sc.Scan() {
			if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
				fields[k] = v
			}
		}
		switch fields["role"] {
		case "master":
			if n, _ := strconv.Atoi(fields["connected_slaves"]); n != len(pods)-1 {
				out = append(out, fmt.Sprintf("%s: the Redis primary has %d of %d replicas connected", pod.ID(), n, len(pods)-1))
			}
		case "slave":
			if fields["master_link_status"] != "up" {
				out = append(out, fmt.Sprintf("%s: the Redis replica's link to %s:%s is %s", pod.ID(), fields["master_host"], fields["master_port"], fields["master_link_status"]))
			}
		default:
			out = append(out, fmt.Sprintf("%s: redis-cli info replication says role %q", pod.ID(), fields["role"]))
		}
	}
	return out
}

// PrometheusTargets waits until every Prometheus replica has every target
// of its rendered scrape configuration up, and returns those that are not.
func (b *Box) PrometheusTargets(ctx context.Context, timeout time.Duration) ([]string, int) {
	end := time.Now().Add(timeout)
	for {
		var down []string
		total := 0
		for _, pod := range b.podsOf("prometheus") {
			var r struct {
				Data struct {
					ActiveTargets []struct {
						ScrapeURL string `json:"scrapeUrl"`
						Health    string `json:"health"`
						LastError string `json:"lastError"`
						Labels    struct {
							Job string `json:"job"`
						} `json:"labels"`
					} `json:"activeTargets"`
				} `json:"data"`
			}
			if err := getJSON(ctx, "http://"+pod.IP.String()+":9090/api/v1/targets?state=active", &r); err != nil {
				down = append(down, fmt.Sprintf("%s: targets: %v", pod.ID(), err))
				continue
			}
			if len(r.Data.ActiveTargets) == 0 {
				down = append(down, pod.ID()+": no target discovered")
			}
			for _, t := range r.Data.ActiveTargets {
				total++
				if t.Health != "up" {
					down = append(down, fmt.Sprintf("%s: job %s target %s is %s: %s", pod.ID(), t.Labels.Job, t.ScrapeURL, t.Health, t.LastError))
				}
			}
		}
		if len(down) == 0 || time.Now().After(end) {
			return down, total
		}
		time.Sleep(5 * time.Second)
	}
}

// PrometheusAlertmanagers asks every Prometheus replica which
// Alertmanagers its rendered alerting configuration found: every replica
// of every Alertmanager.
func (b *Box) PrometheusAlertmanagers(ctx context.Context) []string {
	want := len(b.podsOf("alertmanager"))
	var out []string
	for _, pod := range b.podsOf("prometheus") {
		var r struct {
			Data struct {
				Active []struct {
					URL string `json:"url"`
				} `json:"activeAlertmanagers"`
			} `json:"data"`
		}
		if err := getJSON(ctx, "http://"+pod.IP.String()+":9090/api/v1/alertmanagers", &r); err != nil || len(r.Data.Active) != want {
			out = append(out, fmt.Sprintf("%s: Prometheus sends alerts to %d of the %d Alertmanager replicas (%v)", pod.ID(), len(r.Data.Active), want, err))
		}
	}
	return out
}

// KubeStateMetrics asks kube-state-metrics for the pods it reports: it
// must list every pod the box runs.
func (b *Box) KubeStateMetrics(ctx context.Context) []string {
	var out []string
	for _, pod := range b.podsOf("kube-state-metrics") {
		_, body, err := httpGet(ctx, "http://"+pod.IP.String()+":8080/metrics", "", nil)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: metrics: %v", pod.ID(), err))
			continue
		}
		for _, p := range b.plan.Pods {
			if !strings.Contains(body, fmt.Sprintf(`kube_pod_info{namespace=%q,pod=%q`, p.Namespace, p.Name)) {
				out = append(out, fmt.Sprintf("%s: kube-state-metrics reports no kube_pod_info for %s", pod.ID(), p.ID()))
			}
		}
	}
	return out
}

// FrontDoor asks each ingress-nginx pod what Front Door's requests get
// (needs.StampRequests): 403 without X-Azure-FDID or with another
// profile's, the service with the profile's own, and the stamp's
// HealthService for Front Door's probe, which carries no ID.
func (b *Box) FrontDoor(ctx context.Context) []string {
	reqs := needs.StampRequests(b.plan.Env, b.plan.Stamp)
	// One wait for the HealthService's first round of checks (it answers
	// 200 once one has passed), shared by every controller pod.
	deadline := time.Now().Add(30 * time.Second)
	var out []string
	for _, pod := range b.podsOf("ingress-nginx") {
		port := "80"
		c := programs.Container{Spec: &pod.Template.Spec.Containers[0]}
		if p, ok := c.Flag("http-port"); ok {
			port = p
		}
		base := "http://" + net.JoinHostPort(pod.IP.String(), port)
		for _, r := range reqs {
			code, body, err := httpGet(ctx, base+r.Path, r.Host, r.Headers)
			for r.Probe && code != http.StatusOK && time.Now().Before(deadline) && ctx.Err() == nil {
				time.Sleep(time.Second)
				code, body, err = httpGet(ctx, base+r.Path, r.Host, r.Headers)
			}
			switch {
			case err != nil:
				out = append(out, fmt.Sprintf("%s: %s: %v", pod.ID(), r.Name, err))
			case r.Refused && code != http.StatusForbidden:
				out = append(out, fmt.Sprintf("%s: nginx answers %s with %d, not 403", pod.ID(), r.Name, code))
			case r.Probe && code != http.StatusOK:
				out = append(out, fmt.Sprintf("%s: %s answers %d: Front Door would take the stamp out of rotation", pod.ID(), r.Name, code))
			case !r.Refused && (code != http.StatusOK || strings.TrimSpace(body) != "ok"):
				out = append(out, fmt.Sprintf("%s: nginx answers %s with %d %q, not the service's answer", pod.ID(), r.Name, code, strings.TrimSpace(body)))
			}
		}
	}
	return out
}
