package flow

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/libertum/platform-gitops/generator/manifest"
)

func objects(t *testing.T, y string) []*manifest.Object {
	t.Helper()
	objs, err := manifest.Decode("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

const kafka = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kafka}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: kafka}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: kafka}
      annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9404"}
    spec:
      containers:
        - name: kafka
          ports: [{name: broker, containerPort: 9092}, {name: controller, containerPort: 9093}, {name: metrics, containerPort: 9404}]
---
apiVersion: v1
kind: Service
metadata: {name: kafka-headless}
spec:
  clusterIP: None
  selector: {app.kubernetes.io/name: kafka}
  ports: [{name: broker, port: 9092}, {name: controller, port: 9093}]
---
apiVersion: v1
kind: Service
metadata: {name: kafka}
spec:
  selector: {app.kubernetes.io/name: kafka}
  ports: [{name: client, port: 19092, targetPort: broker}]
`

func TestInterfaceWith(t *testing.T) {
	iface, err := InterfaceWith("kafka", objects(t, kafka), manifest.PodTemplate)
	if err != nil {
		t.Fatal(err)
	}
	tcp := corev1.ProtocolTCP
	// Peer ports are the programs' (package programs): not read here.
	want := Interface{
		Client:  []Port{{Name: "broker", Port: 9092, Protocol: tcp}}, // the ClusterIP Service's target, not the headless one's
		Metrics: []Port{{Name: "metrics", Port: 9404, Protocol: tcp}},
	}
	if got := iface; !equal(got.Client, want.Client) || !equal(got.Peer, want.Peer) || !equal(got.Metrics, want.Metrics) {
		t.Errorf("interface = %+v, want %+v", got, want)
	}
}

func equal(a, b []Port) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestInterfaceWithErrors(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"unknown target port", "targetPort: broker", "targetPort: brokers", `targetPort "brokers"`},
		{"unknown metrics port", `prometheus.io/port: "9404"`, `prometheus.io/port: "metricz"`, `"metricz" is no container port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := InterfaceWith("kafka", objects(t, strings.Replace(kafka, tc.from, tc.to, 1)), manifest.PodTemplate)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPeerContains(t *testing.T) {
	main := Peer{Kind: Pods, Component: "mongodb", Namespace: "data"}
	job := main
	job.Job = "mongodb-backup"
	pod := Endpoint{Namespace: "data", Labels: map[string]string{LabelName: "mongodb"}}
	backup := Endpoint{Namespace: "data", Labels: map[string]string{LabelName: "mongodb", LabelJob: "mongodb-backup"}}
	elsewhere := Endpoint{Namespace: "other", Labels: map[string]string{LabelName: "mongodb"}}
	for _, tc := range []struct {
		peer Peer
		ep   Endpoint
		want bool
	}{
		{main, pod, true},
		{main, backup, false}, // a job's pods are not the main pods
		{job, backup, true},
		{job, pod, false},
		{main, elsewhere, false},
		{Internet, Endpoint{IP: "203.0.113.10"}, true},
		{Internet, Endpoint{IP: "10.30.8.10"}, false}, // private ranges are excepted
		{Internet, pod, false},
		{Peer{Kind: Address, Name: "vm", CIDR: "10.30.8.10/32"}, Endpoint{IP: "10.30.8.10"}, true},
		{Peer{Kind: DNS}, Endpoint{Namespace: DNSNamespace, Labels: map[string]string{DNSLabel: DNSApp}}, true},
	} {
		if got := tc.peer.Contains(tc.ep); got != tc.want {
			t.Errorf("%s contains %+v = %v, want %v", tc.peer, tc.ep, got, tc.want)
		}
	}
}
