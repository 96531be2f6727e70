package stampbox

import (
	"fmt"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/programs"
)

// ingressNginxTemplate is where ingress-nginx puts the ConfigMap's
// settings and snippets in the nginx.conf it writes.
const ingressNginxTemplate = "https://github.com/kubernetes/ingress-nginx/blob/controller-v1.12.1/rootfs/etc/nginx/template/nginx.tmpl"

// NginxConf is the configuration the box's nginx (Debian's) runs for an
// ingress-nginx controller pod: what the controller's template would
// write from the rendered ConfigMap and Ingresses — the settings it maps
// to directives, the http-snippet in http {}, the server-snippet in every
// server {}, the location-snippet in every location {}, an upstream of the
// Service's endpoints per backend (the controller proxies to pods, not to
// the cluster IP) — and its own health and metrics port. The controller
// itself cannot run here (it needs its OpenResty build); nginx is the
// program that judges the snippets.
func (p *Plan) NginxConf(pod *Pod, c programs.Container) (string, error) {
	cm := map[string]string{}
	if ref, ok := programs.ConfigMapOf(c); ok {
		ns, name, _ := strings.Cut(ref, "/")
		for _, in := range p.Inputs {
			if in.Object.GetKind() == "ConfigMap" && manifest.Name(in.Object) == name && namespaceOf(in.Object.GetNamespace()) == ns {
				if d, ok := in.Object.Object["data"].(map[string]any); ok {
					for k, v := range d {
						if s, ok := v.(string); ok {
							cm[k] = s
						}
					}
				}
			}
		}
	}
	flag := func(name, def string) string {
		if v, ok := c.Flag(name); ok {
			return v
		}
		return def
	}
	httpPort, health := flag("http-port", "80"), flag("healthz-port", "10254")
	var b strings.Builder
	fmt.Fprintf(&b, "# What ingress-nginx's template writes for this pod (%s), as the box runs it.\n", ingressNginxTemplate)
	b.WriteString("daemon off;\nworker_processes 1;\npid /tmp/nginx.pid;\nerror_log stderr notice;\nevents { worker_connections 1024; }\nhttp {\n")
	b.WriteString("  access_log off;\n  default_type text/plain;\n")
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path /tmp/nginx-%s;\n", d, d)
	}
	if v := cm["map-hash-bucket-size"]; v != "" {
		fmt.Fprintf(&b, "  map_hash_bucket_size %s;\n", v)
	}
	if cm["server-tokens"] == "false" {
		b.WriteString("  server_tokens off;\n")
	}
	if cm["use-forwarded-headers"] == "true" || cm["enable-real-ip"] == "true" {
		b.WriteString("  real_ip_header X-Forwarded-For;\n  real_ip_recursive on;\n")
		cidrs := strings.Split(cm["proxy-real-ip-cidr"], ",")
		if cm["proxy-real-ip-cidr"] == "" {
			cidrs = []string{"0.0.0.0/0"}
		}
		for _, c := range cidrs {
			fmt.Fprintf(&b, "  set_real_ip_from %s;\n", strings.TrimSpace(c))
		}
	}
	b.WriteString(indent(cm["http-snippet"], "  "))
	servers, upstreams, err := p.ingressServers()
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(upstreams))
	for n := range upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  upstream %s {\n", n)
		for _, e := range upstreams[n] {
			fmt.Fprintf(&b, "    server %s;\n", e)
		}
		b.WriteString("  }\n")
	}
	fmt.Fprintf(&b, "  server {\n    listen %s default_server;\n    server_name _;\n%s    location / {\n%s      return 404;\n    }\n  }\n",
		httpPort, indent(cm["server-snippet"], "    "), indent(cm["location-snippet"], "      "))
	for _, s := range servers {
		fmt.Fprintf(&b, "  server {\n    listen %s;\n    server_name %s;\n%s", httpPort, s.host, indent(cm["server-snippet"], "    "))
		for _, l := range s.locations {
			fmt.Fprintf(&b, "    location %s {\n%s      proxy_set_header Host $host;\n      proxy_pass http://%s;\n    }\n", l.path, indent(cm["location-snippet"], "      "), l.upstream)
		}
		b.WriteString("  }\n")
	}
	fmt.Fprintf(&b, "  server {\n    listen %s;\n    location /healthz { return 200 \"ok\\n\"; }\n    location /metrics { return 200 \"# TYPE nginx_ingress_controller_box gauge\\nnginx_ingress_controller_box 1\\n\"; }\n  }\n}\n", health)
	return b.String(), nil
}

type ingressServer struct {
	host      string
	locations []ingressLocation
}

type ingressLocation struct{ path, upstream string }

// ingressServers reads every rendered Ingress of class nginx: a server per
// host, a location per path, an upstream per backend of the pods' addresses.
func (p *Plan) ingressServers() ([]ingressServer, map[string][]string, error) {
	byHost := map[string]*ingressServer{}
	upstreams := map[string][]string{}
	for _, in := range p.Inputs {
		if in.Object.GetKind() != "Ingress" {
			continue
		}
		var ing networkingv1.Ingress
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(in.Object.Object, &ing); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", in.File, err)
		}
		ns := namespaceOf(ing.Namespace)
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			s, ok := byHost[r.Host]
			if !ok {
				s = &ingressServer{host: r.Host}
				byHost[r.Host] = s
			}
			for _, hp := range r.HTTP.Paths {
				be := hp.Backend.Service
				if be == nil {
					continue
				}
				svc, ok := p.Services[ns+"/"+be.Name]
				if !ok {
					return nil, nil, fmt.Errorf("%s: backend Service %s/%s is not rendered", in.File, ns, be.Name)
				}
				name := fmt.Sprintf("%s-%s-%s%d", ns, be.Name, be.Port.Name, be.Port.Number)
				for _, sp := range svc.Svc.Spec.Ports {
					if sp.Name != be.Port.Name && sp.Port != be.Port.Number {
						continue
					}
					for _, pod := range svc.Pods {
						if t, ok := TargetPort(sp, pod); ok {
							upstreams[name] = append(upstreams[name], fmt.Sprintf("%s:%d", pod.IP, t))
						}
					}
				}
				if len(upstreams[name]) == 0 {
					upstreams[name] = []string{"127.0.0.1:1 down"}
				}
				s.locations = append(s.locations, ingressLocation{path: hp.Path, upstream: name})
			}
		}
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	out := make([]ingressServer, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, *byHost[h])
	}
	return out, upstreams, nil
}

func indent(s, prefix string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
