package render

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

// unitObjects returns one rendered unit's objects of the real platform.
func unitObjects(t *testing.T, res *Result, env, stamp, component string) []*manifest.Object {
	t.Helper()
	for _, u := range res.Units {
		if u.Env == env && u.Stamp == stamp && u.Component == component {
			return u.Objects
		}
	}
	t.Fatalf("no unit %s/%s/%s", env, stamp, component)
	return nil
}

func decodeAs[T any](t *testing.T, objs []*manifest.Object, kind, name string) *T {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			out := new(T)
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

func envOf(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

func container(t *testing.T, ps corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range ps.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

// TestDataServicesCanForm reads what the clustered data services' containers
// run, in the environments that run them in the cluster, for what would
// stop them forming: the bootstraps issue 14 found broken.
func TestDataServicesCanForm(t *testing.T) {
	res := renderRepo(t, 0)
	for _, env := range []string{"dev", "staging"} {
		t.Run(env+"/kafka", func(t *testing.T) {
			objs := unitObjects(t, res, env, "weu-1", "kafka")
			ss := decodeAs[appsv1.StatefulSet](t, objs, "StatefulSet", "kafka")
			replicas := int(*ss.Spec.Replicas)
			e := envOf(container(t, ss.Spec.Template.Spec, "kafka"))
			// kafka-storage format takes Uuid.fromString: base64url of 16 bytes.
			if b, err := base64.RawURLEncoding.DecodeString(e["CLUSTER_ID"]); err != nil || len(b) != 16 {
				t.Errorf("CLUSTER_ID %q is not a Kafka UUID (16 bytes, base64url): %v", e["CLUSTER_ID"], err)
			}
			if n := len(strings.Split(e["KAFKA_CONTROLLER_QUORUM_VOTERS"], ",")); n != replicas {
				t.Errorf("%d controller voters for %d brokers", n, replicas)
			}
			for _, k := range []string{"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_DEFAULT_REPLICATION_FACTOR"} {
				if n, err := strconv.Atoi(e[k]); err != nil || n < 1 || n > replicas {
					t.Errorf("%s = %q with %d brokers: internal topics could never be created", k, e[k], replicas)
				}
			}
			if ss.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
				t.Error("brokers start one by one, but none is ready before a quorum of controllers runs")
			}
			if h := decodeAs[corev1.Service](t, objs, "Service", "kafka-headless"); !h.Spec.PublishNotReadyAddresses {
				t.Error("kafka-headless hides not-ready brokers, so the controllers can never find each other")
			}
		})
		t.Run(env+"/redis", func(t *testing.T) {
			objs := unitObjects(t, res, env, "weu-1", "redis")
			ss := decodeAs[appsv1.StatefulSet](t, objs, "StatefulSet", "redis")
			c := container(t, ss.Spec.Template.Spec, "redis")
			script := strings.Join(c.Args, " ")
			if strings.Contains(script, "--requirepass") || strings.Contains(script, "--masterauth") {
				t.Errorf("the password is on redis-server's command line: %s", script)
			}
			if !strings.Contains(script, "replicaof redis-0.redis-headless 6379") {
				t.Errorf("members other than 0 do not replicate member 0: %s", script)
			}
			if probe := strings.Join(c.ReadinessProbe.Exec.Command, " "); !strings.Contains(probe, "master_link_status:up") {
				t.Errorf("a replica is ready before its replication link is up: %s", probe)
			}
			svc := decodeAs[corev1.Service](t, objs, "Service", "redis")
			if svc.Spec.Selector["statefulset.kubernetes.io/pod-name"] != "redis-0" {
				t.Errorf("the client Service selects %v: writes would reach read-only replicas", svc.Spec.Selector)
			}
		})
		t.Run(env+"/mongodb", func(t *testing.T) {
			objs := unitObjects(t, res, env, "weu-1", "mongodb")
			ss := decodeAs[appsv1.StatefulSet](t, objs, "StatefulSet", "mongodb")
			ps := ss.Spec.Template.Spec
			mongod := container(t, ps, "mongodb")
			if !strings.Contains(strings.Join(mongod.ReadinessProbe.Exec.Command, " "), "h.setName !== 'rs0'") {
				t.Errorf("mongod is ready without being a member of the set: %v", mongod.ReadinessProbe.Exec.Command)
			}
			init := container(t, ps, "rs-init")
			e := envOf(init)
			if e["MEMBERS"] != strconv.Itoa(int(*ss.Spec.Replicas)) || e["REPLICA_SET"] != "rs0" || e["PEER_DOMAIN"] != "mongodb-headless.data.svc.cluster.local" {
				t.Errorf("rs-init would build another set than the StatefulSet runs: %v", e)
			}
			spc := objects(objs, "SecretProviderClass")
			if len(spc) != 1 {
				t.Fatalf("%d SecretProviderClasses", len(spc))
			}
			objects, _ := spc[0].Object["spec"].(map[string]any)["parameters"].(map[string]any)["objects"].(string)
			for _, k := range []string{"ROOT_VAULT_OBJECT", "APP_VAULT_OBJECT"} {
				if !strings.Contains(objects, "objectName: "+e[k]) {
					t.Errorf("rs-init reads Key Vault object %q, which the SecretProviderClass does not mount", e[k])
				}
			}
			cm := decodeAs[corev1.ConfigMap](t, objs, "ConfigMap", "mongodb-replicaset")
			want, err := os.ReadFile(filepath.Join(platformtest.Repo(), "base", "mongodb", "files", "replicaset.js"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(cm.Data["replicaset.js"]) != strings.TrimSpace(string(want)) {
				t.Error("the mounted replicaset.js differs from base/mongodb/files/replicaset.js")
			}
		})
	}
}

// TestReplicaSetScriptParses has node check files/replicaset.js's syntax
// (mongosh runs it on node), where node is installed.
func TestReplicaSetScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	out, err := exec.Command(node, "--check", filepath.Join(platformtest.Repo(), "base", "mongodb", "files", "replicaset.js")).CombinedOutput()
	if err != nil {
		t.Fatalf("node --check: %v\n%s", err, out)
	}
}

func objects(objs []*manifest.Object, kind string) []*manifest.Object {
	var out []*manifest.Object
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}
