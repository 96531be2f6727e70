package stampbox

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/libertum/platform-gitops/generator/servers"
)

// kubeletAuthz is how a kubelet admits a metrics scrape: the bearer token
// reviewed by the API server, the scraper allowed get on nodes/metrics.
const kubeletAuthz = "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/"

// Outside is what the box answers on its own addresses besides DNS and
// the API server: each node's kubelet (TLS, metrics behind a token the API
// server reviews and a SubjectAccessReview on nodes/metrics), Blob
// Storage, Entra ID and a receiver's webhook host (TLS, any request), and
// the external hosts on the ports of the Services that point at them.
type Outside struct {
	listeners []net.Listener
	servers   []*http.Server
}

// StartOutside starts every outside endpoint of the plan.
func StartOutside(ctx context.Context, p *Plan, ca *servers.CA, cluster *Cluster) (*Outside, error) {
	o := &Outside{}
	serveTLS := func(addr netip.Addr, port int, h http.Handler) error {
		pair, err := ca.Issue(addr.String())
		if err != nil {
			return err
		}
		cert, err := pair.TLS()
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(addr.String(), strconv.Itoa(port)))
		if err != nil {
			return err
		}
		// The stubs only connect (they hold no trust for these
		// endpoints): a handshake they abandon is not worth a log line.
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
		o.listeners, o.servers = append(o.listeners, ln), append(o.servers, srv)
		go srv.ServeTLS(ln, "", "") //nolint:errcheck // until Close
		return nil
	}
	for _, n := range p.Nodes {
		if err := serveTLS(n.IP, 10250, kubelet(ctx, n, cluster)); err != nil {
			return nil, fmt.Errorf("kubelet of %s: %w", n.Name, err)
		}
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	served := map[netip.Addr]bool{}
	for _, a := range []netip.Addr{p.Blob, p.EntraID, p.Monitor, internetIP} {
		if !a.IsValid() || served[a] {
			continue
		}
		served[a] = true
		if err := serveTLS(a, 443, ok); err != nil {
			return nil, err
		}
	}
	ports := map[netip.Addr]map[int32]bool{}
	if p.Postgres.IsValid() {
		// PostgreSQL answers the connection (the stubs only connect).
		ports[p.Postgres] = map[int32]bool{5432: true}
	}
	for _, s := range p.Services {
		for _, a := range s.Addresses {
			if ports[a] == nil {
				ports[a] = map[int32]bool{}
			}
			for _, sp := range s.Svc.Spec.Ports {
				port := sp.Port
				if sp.TargetPort.IntVal != 0 {
					port = sp.TargetPort.IntVal
				}
				ports[a][port] = true
			}
		}
	}
	for a, ps := range ports {
		for port := range ps {
			ln, err := net.Listen("tcp", net.JoinHostPort(a.String(), strconv.Itoa(int(port))))
			if err != nil {
				return nil, err
			}
			o.listeners = append(o.listeners, ln)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
	}
	return o, nil
}

// Close stops every outside endpoint.
func (o *Outside) Close() {
	for _, s := range o.servers {
		s.Close()
	}
	for _, l := range o.listeners {
		l.Close()
	}
}

// kubelet serves a node's /metrics to a scraper the API server vouches
// for, as a kubelet with webhook authentication and authorization does.
func kubelet(ctx context.Context, n *Node, cluster *Cluster) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		c := cluster.Client()
		tr, err := c.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		if err != nil || !tr.Status.Authenticated {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		sar, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: tr.Status.User.Username, Groups: tr.Status.User.Groups, UID: tr.Status.User.UID,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "nodes", Subresource: "metrics", Name: n.Name},
		}}, metav1.CreateOptions{})
		if err != nil || !sar.Status.Allowed {
			http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=get, resource=nodes, subresource=metrics) [%s]", tr.Status.User.Username, kubeletAuthz), http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE kubelet_node_name gauge\nkubelet_node_name{node=%q} 1\n", n.Name)
	})
}
