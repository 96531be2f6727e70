package programs

import (
	"fmt"
	"strings"
)

// Sources the ingress-nginx entry cites.
const (
	ingressNginxFlags    = "https://github.com/kubernetes/ingress-nginx/blob/controller-v1.12.1/pkg/flags/flags.go (--http-port 80, --https-port 443, --healthz-port 10254)"
	ingressNginxTemplate = "https://github.com/kubernetes/ingress-nginx/blob/controller-v1.12.1/rootfs/etc/nginx/template/nginx.tmpl (http-snippet inside http {}, server-snippet inside every server {})"
	ingressNginxConfig   = "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/configmap/"
	// The default certificate: a Secret namespace/name the store syncs,
	// served for the catch-all server and every Ingress TLS entry without
	// a secretName; when it cannot be loaded, the controller falls back to
	// its generated self-signed certificate.
	ingressNginxDefaultCert = "https://github.com/kubernetes/ingress-nginx/blob/controller-v1.12.1/internal/ingress/controller/controller.go (getDefaultSSLCertificate, createServers: \"secretName is empty. Using default certificate\"); docs/user-guide/tls.md#default-ssl-certificate"
)

var ingressNginx = &Program{Name: "ingress-nginx", Images: []string{"ingress-nginx/controller"}, Versions: []string{"1.12"}, needs: ingressNginxNeeds}

func ingressNginxNeeds(c Container) (Needs, error) {
	var n Needs
	listens, err := flagPorts(c, ingressNginxFlags, []portFlag{
		{"http-port", 80, Clients, "--http-port (default 80): requests from the load balancer"},
		{"https-port", 443, Clients, "--https-port (default 443): requests from the load balancer"},
		{"healthz-port", 10254, Scrapers, "--healthz-port (default 10254): /healthz and /metrics"},
	})
	if err != nil {
		return n, err
	}
	n.Listens = append(n.Listens, listens...)
	if _, ok := c.Flag("kubeconfig"); !ok {
		if _, ok := c.Flag("apiserver-host"); !ok {
			c := apiServerCall
			c.Why = "watches Ingresses, Services and EndpointSlices; holds the leader election lease"
			n.Calls = append(n.Calls, c)
			n.ServiceAccountToken = true
		}
	}
	if v, ok := c.Flag("default-ssl-certificate"); ok {
		ns, name, found := strings.Cut(expandPodNamespace(v, c.Object.GetNamespace()), "/")
		if !found {
			n.Problems = append(n.Problems, Problem{Message: fmt.Sprintf("--default-ssl-certificate=%s: want namespace/name", v), Source: ingressNginxDefaultCert})
		} else {
			n.Secrets = append(n.Secrets, SecretRead{Namespace: ns, Name: name, Type: "kubernetes.io/tls",
				Missing: "it serves its generated self-signed certificate instead, which Front Door and every browser refuse",
				Why:     "--default-ssl-certificate: the certificate every TLS entry without a secretName is served with",
				Source:  ingressNginxDefaultCert})
		}
	}
	n.Writes = append(n.Writes,
		Write{Path: "/etc/nginx", Why: "the controller writes nginx.conf from the Ingresses and the ConfigMap", Source: ingressNginxTemplate},
		Write{Path: "/tmp", Why: "nginx's client body and proxy temp paths", Source: ingressNginxTemplate})
	return n, nil
}

// ConfigMapOf returns the namespace/name of the ConfigMap an ingress-nginx
// controller container reads its settings from (--configmap), with
// $(POD_NAMESPACE) resolved; false for any other container.
func ConfigMapOf(c Container) (string, bool) {
	if Of(c.Spec) != ingressNginx {
		return "", false
	}
	v, ok := c.Flag("configmap")
	if !ok {
		return "", false
	}
	return expandPodNamespace(v, c.Object.GetNamespace()), true
}

func expandPodNamespace(s, ns string) string {
	return strings.ReplaceAll(s, "$(POD_NAMESPACE)", ns)
}
