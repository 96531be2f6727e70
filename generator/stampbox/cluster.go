package stampbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/servers"
	"github.com/libertum/platform-gitops/internal/argocdrun"
)

// Cluster is the box's API server (the e2e kube-apiserver, on the spec's
// API server endpoint) holding the stamp's rendered objects, its nodes and
// its pods with their addresses in their status, so that Prometheus' and
// kube-state-metrics' discovery finds what runs.
type Cluster struct {
	Config *rest.Config
	CA     *servers.CA
	client kubernetes.Interface
}

// StartCluster starts etcd (Debian's, on loopback) and kube-apiserver on
// the plan's API server address, port 443, with RBAC authorization (the
// rendered roles decide what each program may read) and service account
// tokens signed by a throwaway key.
func StartCluster(ctx context.Context, procs *servers.Procs, apiserver string, p *Plan, ca *servers.CA) (*Cluster, error) {
	dir := procs.Dir
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	saKey, saPub, tokens := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub"), filepath.Join(dir, "tokens.csv")
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(tok)
	for _, f := range []struct {
		path string
		data []byte
	}{
		{saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})},
		{saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})},
		{tokens, []byte(token + ",stampbox-admin,stampbox-admin,system:masters\n")},
	} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	client, err := servers.FreePort()
	if err != nil {
		return nil, err
	}
	peer, err := servers.FreePort()
	if err != nil {
		return nil, err
	}
	etcd, etcdPeer := "http://127.0.0.1:"+strconv.Itoa(client), "http://127.0.0.1:"+strconv.Itoa(peer)
	if err := procs.Start("etcd", nil, "etcd", "--name", "stampbox", "--data-dir", filepath.Join(dir, "etcd"), "--unsafe-no-fsync",
		"--listen-client-urls", etcd, "--advertise-client-urls", etcd, "--listen-peer-urls", etcdPeer, "--initial-advertise-peer-urls", etcdPeer,
		"--initial-cluster", "stampbox="+etcdPeer); err != nil {
		return nil, err
	}
	if err := procs.WaitTCP(client, time.Minute); err != nil {
		return nil, err
	}
	pair, err := ca.Issue(p.APIServer.String(), apiServiceIP.String(), "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default."+suffix)
	if err != nil {
		return nil, err
	}
	cert, certKey, err := pair.Write(dir, "apiserver")
	if err != nil {
		return nil, err
	}
	if err := procs.Start("kube-apiserver", nil, apiserver,
		"--bind-address="+p.APIServer.String(), "--advertise-address="+p.APIServer.String(), "--secure-port=443",
		"--etcd-servers="+etcd,
		"--tls-cert-file="+cert, "--tls-private-key-file="+certKey,
		"--service-account-issuer=https://kubernetes.default."+suffix,
		"--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--token-auth-file="+tokens, "--authorization-mode=RBAC",
		"--service-cluster-ip-range="+serviceCIDR.String(), "--endpoint-reconciler-type=none",
		"--disable-admission-plugins=ServiceAccount"); err != nil {
		return nil, err
	}
	c := &Cluster{CA: ca, Config: &rest.Config{Host: "https://" + p.APIServer.String() + ":443", BearerToken: token,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca.PEM}, QPS: 200, Burst: 400}}
	if c.client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, err
	}
	end := time.Now().Add(2 * time.Minute)
	for {
		res := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx)
		var code int
		res.StatusCode(&code)
		if code == http.StatusOK {
			return c, nil
		}
		if err := procs.Dead(); err != nil {
			return nil, err
		}
		if time.Now().After(end) {
			return nil, fmt.Errorf("kube-apiserver not ready after 2m; its log ends:\n%s", procs.Tail("kube-apiserver", 20))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Load creates the CRDs and the stamp's rendered objects (Services at the
// cluster IPs the box gives them), then a Node per node and a Pod per
// planned pod, Running and Ready at its address.
func (c *Cluster) Load(ctx context.Context, p *Plan, crds []*unstructured.Unstructured) error {
	var objs []*unstructured.Unstructured
	for _, in := range p.Inputs {
		o := in.Object.DeepCopy()
		if o.GetKind() == "Service" {
			if s, ok := p.Services[namespaceOf(o.GetNamespace())+"/"+o.GetName()]; ok && s.ClusterIP.IsValid() {
				_ = unstructured.SetNestedField(o.Object, s.ClusterIP.String(), "spec", "clusterIP")
			}
		}
		objs = append(objs, o)
	}
	// Namespaces first, then what others refer to (manifest's order).
	sort.SliceStable(objs, func(i, j int) bool { return manifest.Less(objs[i], objs[j]) })
	if err := argocdrun.Create(ctx, c.Config, append(crds, objs...)); err != nil {
		return err
	}
	for _, n := range p.Nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{
			"kubernetes.io/hostname": n.Name, "topology.kubernetes.io/zone": n.Zone, "topology.kubernetes.io/region": p.Stamp.Region,
		}}}
		created, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		created.Status = corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.IP.String()}, {Type: corev1.NodeHostName, Address: n.Name}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(), Reason: "KubeletReady"}},
		}
		if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %s status: %w", n.Name, err)
		}
	}
	for _, pod := range p.Pods {
		if err := c.createPod(ctx, pod); err != nil {
			return fmt.Errorf("pod %s: %w", pod.ID(), err)
		}
	}
	return nil
}

func namespaceOf(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

func (c *Cluster) createPod(ctx context.Context, pod *Pod) error {
	spec := *pod.Template.Spec.DeepCopy()
	spec.NodeName = pod.Node.Name
	spec.Hostname, spec.Subdomain = pod.Hostname, pod.Subdomain
	for _, cl := range pod.Claims {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: cl, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: cl + "-" + pod.Name}}})
	}
	if pod.Job {
		spec.RestartPolicy = corev1.RestartPolicyNever
	}
	obj := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Template.Labels, Annotations: pod.Template.Annotations}, Spec: spec}
	created, err := c.client.CoreV1().Pods(pod.Namespace).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	created.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: pod.IP.String(), PodIPs: []corev1.PodIP{{IP: pod.IP.String()}}, HostIP: pod.Node.IP.String(), StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
	}
	for _, ct := range spec.Containers {
		created.Status.ContainerStatuses = append(created.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: ct.Name, Image: ct.Image, Ready: true, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	_, err = c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	return err
}

func ptr[T any](v T) *T { return &v }

// Token returns a token of a pod's service account for an audience (the
// API server's when empty), as the kubelet's projected volume (or the
// workload identity webhook's) holds it.
func (c *Cluster) Token(ctx context.Context, pod *Pod, audience string) (string, error) {
	sa := pod.Template.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := int64(3600)
	tr, err := c.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp, Audiences: audiences(audience), BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name}},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token of %s/%s for %s: %w", pod.Namespace, sa, pod.Name, err)
	}
	return tr.Status.Token, nil
}

func audiences(a string) []string {
	if a == "" {
		return nil
	}
	return []string{a}
}

// Client is the box's admin client.
func (c *Cluster) Client() kubernetes.Interface { return c.client }
