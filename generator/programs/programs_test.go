package programs_test

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	corev1 "k8s.io/api/core/v1"

	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// unit is one committed unit's objects.
type unit struct {
	objs []*manifest.Object
}

// committed reads a unit of the committed render.
func committed(t *testing.T, env, stamp, component string) unit {
	t.Helper()
	var u unit
	for _, o := range platformtest.Rendered(t, platformtest.Repo(), env) {
		if o.Stamp == stamp && o.Component == component {
			u.objs = append(u.objs, o.Object)
		}
	}
	if len(u.objs) == 0 {
		t.Fatalf("%s/%s/%s: nothing rendered", env, stamp, component)
	}
	return u
}

// workload returns the unit's main workload.
func (u unit) workload(t *testing.T, name string) *manifest.Object {
	t.Helper()
	for _, o := range u.objs {
		if manifest.Name(o) == name && (o.GetKind() == "StatefulSet" || o.GetKind() == "Deployment" || o.GetKind() == "DaemonSet") {
			return o
		}
	}
	t.Fatalf("no workload %s", name)
	return nil
}

// needs derives what one container of the unit's workload needs, after
// edit changes the container (and the unit's objects).
func (u unit) needs(t *testing.T, name, container string, edit func(c *corev1.Container, objs []*manifest.Object)) (programs.Needs, *programs.Program) {
	t.Helper()
	o := u.workload(t, name)
	tpl, err := manifest.PodTemplate(o)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(tpl.Spec.Containers, func(c corev1.Container) bool { return c.Name == container })
	if i < 0 {
		t.Fatalf("no container %s", container)
	}
	objs := make([]*manifest.Object, len(u.objs))
	for j, x := range u.objs {
		objs[j] = x.DeepCopy()
	}
	if edit != nil {
		edit(&tpl.Spec.Containers[i], objs)
	}
	n, p, err := programs.For(programs.Container{Workload: manifest.IDOf(o), Object: o, Pod: tpl, Spec: &tpl.Spec.Containers[i], Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		t.Fatalf("%s: no catalog entry", tpl.Spec.Containers[i].Image)
	}
	return n, p
}

func peers(n programs.Needs) []string {
	var out []string
	for _, p := range n.PeerPorts() {
		out = append(out, p.String())
	}
	return out
}

// setConfig replaces text in a ConfigMap's data.
func setConfig(objs []*manifest.Object, name, key, old, new string) {
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && manifest.Name(o) == name {
			data := o.Object["data"].(map[string]any)
			data[key] = strings.Replace(data[key].(string), old, new, 1)
		}
	}
}

// TestPeerPortsFromConfiguration: each clustered program's peer ports,
// protocol included, come from its rendered configuration, and follow it
// when it changes.
func TestPeerPortsFromConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name, component, container string
		edit                       func(c *corev1.Container, objs []*manifest.Object)
		want                       []string
	}{
		{name: "loki: gRPC and memberlist, TCP only", component: "loki", container: "loki",
			want: []string{"7946/TCP (memberlist)", "9095/TCP (grpc)"}},
		{name: "loki: grpc_listen_port moved", component: "loki", container: "loki",
			edit: func(_ *corev1.Container, objs []*manifest.Object) {
				setConfig(objs, "loki-config", "loki.yaml", "grpc_listen_port: 9095", "grpc_listen_port: 9105")
			},
			want: []string{"7946/TCP (memberlist)", "9105/TCP (grpc)"}},
		{name: "loki: gRPC default when unset", component: "loki", container: "loki",
			edit: func(_ *corev1.Container, objs []*manifest.Object) {
				setConfig(objs, "loki-config", "loki.yaml", "  grpc_listen_port: 9095\n", "")
			},
			want: []string{"7946/TCP (memberlist)", "9095/TCP (grpc)"}},
		{name: "alertmanager: gossip on TCP and UDP", component: "alertmanager", container: "alertmanager",
			want: []string{"9094/TCP (cluster)", "9094/UDP (cluster-udp)"}},
		{name: "alertmanager: clustering off", component: "alertmanager", container: "alertmanager",
			edit: func(c *corev1.Container, _ []*manifest.Object) {
				c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--cluster.") })
				c.Args = append(c.Args, "--cluster.listen-address=")
			}},
		{name: "kafka: listeners and voters", component: "kafka", container: "kafka",
			want: []string{"9092/TCP (plaintext)", "9093/TCP (controller)"}},
		{name: "redis: replicaof", component: "redis", container: "redis",
			want: []string{"6379/TCP (redis)"}},
		{name: "redis: no replicas", component: "redis", container: "redis",
			edit: func(c *corev1.Container, _ []*manifest.Object) {
				c.Args = []string{"exec redis-server /etc/redis/redis.conf"}
			}},
		{name: "mongod: replica set members", component: "mongodb", container: "mongodb",
			want: []string{"27017/TCP (mongodb)"}},
		{name: "mongod: no replica set", component: "mongodb", container: "mongodb",
			edit: func(c *corev1.Container, _ []*manifest.Object) {
				c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--replSet") })
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := committed(t, "staging", "weu-1", tc.component)
			n, _ := u.needs(t, tc.component, tc.container, tc.edit)
			if got := peers(n); !slices.Equal(got, tc.want) {
				t.Errorf("peer ports = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNeedsOfTheCommittedStamp: calls, files and writes the catalog
// derives for the committed staging stamp.
func TestNeedsOfTheCommittedStamp(t *testing.T) {
	loki, _ := committed(t, "staging", "weu-1", "loki").needs(t, "loki", "loki", nil)
	hosts := map[string]string{}
	for _, c := range loki.Calls {
		hosts[c.Service] = c.Host
	}
	if hosts[programs.ServiceBlob] != "stlibertumlogsstg.blob.core.windows.net" || hosts[programs.ServiceEntraID] != programs.EntraIDHost {
		t.Errorf("loki calls %v, want Blob Storage (its account) and Entra ID", hosts)
	}
	mongod, p := committed(t, "staging", "weu-1", "mongodb").needs(t, "mongodb", "mongodb", nil)
	if p.Name != "mongod" || !slices.ContainsFunc(mongod.Reads, func(r programs.Read) bool { return r.Private && r.Path == "/etc/mongodb-keyfile/keyfile" }) {
		t.Errorf("mongod reads %+v, want its keyfile, private", mongod.Reads)
	}
	prom, _ := committed(t, "staging", "weu-1", "prometheus").needs(t, "prometheus", "prometheus", nil)
	var calls []string
	for _, c := range prom.Calls {
		calls = append(calls, c.Service+"|"+c.Host+"|"+c.Port.String())
	}
	for _, want := range []string{
		"|alertmanager-headless.monitoring.svc.cluster.local|9093/TCP (http)",
		"kube-apiserver|kubernetes.default.svc|443/TCP (https)",
		"nodes|every node|10250/TCP (kubelet)",
		// remote_write to the region's Azure Monitor workspace, with
		// azuread: the ingestion host and Entra ID.
		"monitor|dce-lbt-stg-weu-m4p9.westeurope-1.metrics.ingest.monitor.azure.com|443/TCP (https)",
		"entra-id|" + programs.EntraIDHost + "|443/TCP (https)",
	} {
		if !slices.Contains(calls, want) {
			t.Errorf("prometheus calls %q, want %q among them", calls, want)
		}
	}
	if !prom.ServiceAccountToken {
		t.Error("prometheus's Kubernetes discovery needs the service account token")
	}
	grafana, _ := committed(t, "staging", "weu-1", "grafana").needs(t, "grafana", "grafana", nil)
	var gcalls []string
	for _, c := range grafana.Calls {
		gcalls = append(gcalls, c.Service+"|"+c.Host+"|"+c.Port.String())
	}
	wantG := []string{
		// Its database, the region's PostgreSQL, and Entra ID sign-in's token exchange.
		"postgres|psql-lbt-stg-weu.postgres.database.azure.com|5432/TCP (postgres)",
		"entra-id|" + programs.EntraIDHost + "|443/TCP (https)",
		// Its two provisioned data sources.
		"|prometheus.monitoring.svc.cluster.local|9090/TCP (http)",
		"|loki.monitoring.svc.cluster.local|3100/TCP (http)",
	}
	if d := cmp.Diff(wantG, gcalls); d != "" {
		t.Errorf("grafana calls (-want +got):\n%s", d)
	}
}

// TestConfigurationProblems: what a program's configuration says against
// itself or its workload.
func TestConfigurationProblems(t *testing.T) {
	u := committed(t, "dev", "weu-1", "loki")
	n, _ := u.needs(t, "loki", "loki", func(_ *corev1.Container, objs []*manifest.Object) {
		setConfig(objs, "loki-config", "loki.yaml", "replication_factor: 1", "replication_factor: 3")
	})
	if len(n.Problems) != 1 || !strings.Contains(n.Problems[0].Message, "replication_factor 3") {
		t.Errorf("problems = %+v, want replication_factor 3 on one replica", n.Problems)
	}
	n, _ = u.needs(t, "loki", "loki", func(c *corev1.Container, _ []*manifest.Object) {
		c.Args = []string{"-config.file=/etc/loki/elsewhere.yaml"}
	})
	if len(n.Problems) != 1 || !strings.Contains(n.Problems[0].Message, "/etc/loki/elsewhere.yaml") {
		t.Errorf("problems = %+v, want the missing configuration file", n.Problems)
	}
	am := committed(t, "staging", "weu-1", "alertmanager")
	n, _ = am.needs(t, "alertmanager", "alertmanager", func(c *corev1.Container, _ []*manifest.Object) {
		for i, a := range c.Args {
			if strings.HasPrefix(a, "--cluster.peer=") {
				c.Args[i] = strings.Replace(a, ":9094", ":9095", 1)
			}
		}
	})
	if len(n.Problems) != 3 {
		t.Errorf("problems = %+v, want one per peer on the wrong port", n.Problems)
	}
}

func TestRepository(t *testing.T) {
	for _, tc := range []struct{ image, repo, tag string }{
		{"acrlibertumstaging.azurecr.io/grafana/loki:3.4.2@sha256:58a6c186ce78ba04d58bfe2a927eff296ba733a430df09645d56cdc158f3ba08", "grafana/loki", "3.4.2"},
		{"not a reference", "", ""},
		{"registry.k8s.io/ingress-nginx/controller:v1.12.1", "ingress-nginx/controller", "v1.12.1"},
		{"redis:7.4.2", "redis", "7.4.2"},
		{"localhost:5000/redis", "redis", ""},
		{"prom/prometheus", "prom/prometheus", ""},
	} {
		repo, tag := programs.Repository(tc.image)
		if repo != tc.repo || tag != tc.tag {
			t.Errorf("Repository(%q) = %q, %q; want %q, %q", tc.image, repo, tag, tc.repo, tc.tag)
		}
	}
}

func TestCovers(t *testing.T) {
	loki := programs.Of(&corev1.Container{Image: "acr.azurecr.io/grafana/loki:3.4.2"})
	if loki == nil || !loki.Covers("3.4.2") || loki.Covers("3.5.0") || loki.Covers("3.40.1") {
		t.Errorf("loki entry %+v: covers 3.4.2 only of 3.4.2, 3.5.0, 3.40.1", loki)
	}
	if p := programs.Of(&corev1.Container{Image: "acr.azurecr.io/libertum/api:abc"}); p != nil {
		t.Errorf("an in-house image has entry %s", p.Name)
	}
	if p := programs.Of(&corev1.Container{Image: "mongo:7.0.16", Command: []string{"install", "-m", "0400", "a", "b"}}); p == nil || p.Name != "install" {
		t.Errorf("install in the mongo image is %+v", p)
	}
}

func TestSecretFiles(t *testing.T) {
	spc := &manifest.Object{Object: map[string]any{
		"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"parameters": map[string]any{"objects": "array:\n  - |\n    objectName: a\n  - |\n    objectName: b\n    objectAlias: bee\n    filePermission: \"0400\"\n"}},
	}}
	files, err := programs.SecretFiles(spc)
	if err != nil {
		t.Fatal(err)
	}
	if files["a"].Mode != 0o644 || files["bee"].Mode != fs.FileMode(0o400) || files["a"].UID != 0 {
		t.Errorf("files = %+v: want a at the driver's 0644 and bee at its filePermission 0400, root-owned", files)
	}
	spc.Object["spec"].(map[string]any)["parameters"].(map[string]any)["objects"] = "array:\n  - |\n    objectName: a\n    filePermission: \"0900\"\n"
	if _, err := programs.SecretFiles(spc); err == nil {
		t.Error("filePermission 0900 accepted")
	}
}

// TestInterfacePeersAreThePrograms: the generator's interface takes its
// peer ports from the catalog.
func TestInterfacePeersAreThePrograms(t *testing.T) {
	u := committed(t, "staging", "weu-1", "alertmanager")
	iface, err := programs.Interface("alertmanager", u.objs, manifest.PodTemplate)
	if err != nil {
		t.Fatal(err)
	}
	want := []flow.Port{{Name: "cluster", Port: 9094, Protocol: corev1.ProtocolTCP}, {Name: "cluster-udp", Port: 9094, Protocol: corev1.ProtocolUDP}}
	if !slices.Equal(iface.Peer, want) {
		t.Errorf("peer ports = %v, want %v", iface.Peer, want)
	}
}
