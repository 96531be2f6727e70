package intent

import (
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/spec"
)

const envYAML = `apiVersion: platform.libertum.io/v1alpha1
kind: Environment
metadata: {name: test}
spec:
  repoURL: https://example.com/repo.git
  tenantID: 7c1e4b2a-9f3d-4e8a-b6c5-2d1f0a9e8b7c
  registry: acrtest.azurecr.io
  cluster:
    kubernetesVersion: v1.32.13
    node: {size: D2, capacity: {cpu: "2", memory: 8Gi}, allocatable: {cpu: 1900m, memory: 5Gi}}
    autoscaler: {minNodes: 1, maxNodes: 3}
    zones: ZONES
  regions:
    westeurope: {vnet: 10.0.0.0/16, publicSubnet: 10.0.0.0/22, privateSubnet: 10.0.8.0/21, externalHosts: [{name: vm, address: 10.0.8.10}]}
  stamps:
    - {name: one, region: westeurope, server: https://one, domain: one.example.com, keyVault: kv-one,
       identities: {api: 0d4c8a1e-5b7f-4a2c-9e3d-6f1b8a0c2d4e}, capacity: {baselineRPS: 100, peakRPS: 400}}
  argocd: {namespace: argocd, targetRevision: rendered, sync: {automated: true}}
  components:
    api:
      namespace: app
      tier: public
      talksTo: [db]
      images: [{name: libertum/api, tag: 9f2c4e1a7b3d}]
      resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
      scaling: {podThroughputRPS: 20}
      ingress: {host: api}
      secrets: [db-uri]
    edge:
      namespace: edge
      tier: public
      talksTo: [api]
      images: [{name: edge, tag: v1.0.0}]
      resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
    db:
      namespace: data
      tier: private
      external: {host: vm, ports: [{name: db, port: 5432}]}
`

func target(t *testing.T, zones, name string) Target {
	t.Helper()
	env, err := spec.Parse("environments/test.yaml", []byte(strings.Replace(envYAML, "ZONES", zones, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return Target{Env: env, Stamp: env.Spec.Stamps[0], Name: name, Component: env.Spec.Components[name]}
}

func apiDeployment() *manifest.Object { return served("api")[0] }

// served returns a Deployment and its Service, as a base renders them.
func served(name string) []*manifest.Object {
	objs, err := manifest.Decode("d.yaml", []byte(strings.ReplaceAll(`apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: NAME}}
  template:
    metadata: {labels: {app.kubernetes.io/name: NAME}}
    spec:
      containers:
        - name: NAME
          image: libertum/NAME
          ports: [{name: http, containerPort: 8080}]
        - name: sidecar
          image: libertum/NAME
---
apiVersion: v1
kind: Service
metadata: {name: NAME}
spec:
  selector: {app.kubernetes.io/name: NAME}
  ports: [{name: http, port: 80, targetPort: http}]
`, "NAME", name)))
	if err != nil {
		panic(err)
	}
	return objs
}

// encode is objs' canonical YAML, one document after another.
func encode(t *testing.T, objs []*manifest.Object) string {
	t.Helper()
	var b strings.Builder
	for i, o := range objs {
		y, err := manifest.Encode(o)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.String()
}

func TestShapeZoned(t *testing.T) {
	tg := target(t, `["1", "2", "3"]`, "api")
	objs := served("api")
	if err := shapeOnly(tg, objs); err != nil {
		t.Fatal(err)
	}
	out := encode(t, objs)
	// The HPA owns the count (minReplicas 5 below): a rendered replicas
	// would be reset by every Argo CD sync.
	if strings.Contains(out, "replicas:") {
		t.Errorf("a scaled deployment renders spec.replicas:\n%s", out)
	}
	for _, want := range []string{
		"topologyKey: topology.kubernetes.io/zone",
		"- westeurope-1\n", "- westeurope-3\n",
		"cpu: 100m",
		"secretProviderClass: api-keyvault",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("shaped deployment lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "mountPath: /mnt/secrets-store"); n != 2 {
		t.Errorf("secrets mounted in %d containers, want 2", n)
	}
	gen, err := generateOnly(tg, objs)
	if err != nil {
		t.Fatal(err)
	}
	g := encode(t, gen)
	for _, want := range []string{
		"kind: HorizontalPodAutoscaler", "minReplicas: 5", "maxReplicas: 20", // baseline 100 req/s at 20 per pod
		"kind: PodDisruptionBudget", "maxUnavailable: 1",
		"kind: Ingress", "host: api.one.example.com",
		"kind: SecretProviderClass", "objectName: db-uri", "keyvaultName: kv-one",
		"name: api-default-deny", "name: api-ingress", "kubernetes.io/metadata.name: edge", "port: 8080",
		"name: api-egress", "cidr: 10.0.8.10/32", "port: 5432", "name: api-allow-dns",
	} {
		if !strings.Contains(g, want) {
			t.Errorf("generated objects lack %q:\n%s", want, g)
		}
	}
	// The key stays where TLS terminates: api's Ingress names no Secret and
	// its SecretProviderClass syncs none.
	for _, not := range []string{"secretName:", "kubernetes.io/tls", "secretObjects"} {
		if strings.Contains(g, not) {
			t.Errorf("api's generated objects contain %q: its namespace would hold the TLS key:\n%s", not, g)
		}
	}
}

// TestTheTerminatingComponentHoldsTheCertificate: the component marked
// terminatesTLS reads the stamp's certificate as its own identity and syncs
// it into the Secret its controller serves; the same component without the
// mark reads no certificate.
func TestTheTerminatingComponentHoldsTheCertificate(t *testing.T) {
	tg := target(t, `[]`, "api")
	tg.Stamp.Certificate = &spec.Certificate{Name: "stamp-tls", Hosts: []string{"api.one.example.com"}}
	tg.Component.TerminatesTLS = true
	gen, err := generateOnly(tg, served("api"))
	if err != nil {
		t.Fatal(err)
	}
	g := encode(t, gen)
	for _, want := range []string{"objectName: stamp-tls", "secretName: stamp-tls", "type: kubernetes.io/tls", "key: tls.key", "key: tls.crt", "objectName: db-uri"} {
		if !strings.Contains(g, want) {
			t.Errorf("terminating component's objects lack %q:\n%s", want, g)
		}
	}
	tg.Component.TerminatesTLS = false
	if gen, err = generateOnly(tg, served("api")); err != nil {
		t.Fatal(err)
	}
	if g := encode(t, gen); strings.Contains(g, "stamp-tls") {
		t.Errorf("a component that does not terminate TLS reads the certificate:\n%s", g)
	}
}

func TestShapeSingleZone(t *testing.T) {
	tg := target(t, `[]`, "api")
	tg.Component.Scaling = nil
	tg.Component.Replicas = 1
	objs := served("api")
	if err := shapeOnly(tg, objs); err != nil {
		t.Fatal(err)
	}
	out := encode(t, objs)
	if strings.Contains(out, "topology.kubernetes.io/zone") || strings.Contains(out, "nodeAffinity") {
		t.Errorf("single-zone environment got zone constraints:\n%s", out)
	}
	// Over nodes, the pods spread anyway, softly.
	if !strings.Contains(out, "topologyKey: kubernetes.io/hostname") || !strings.Contains(out, "whenUnsatisfiable: ScheduleAnyway") {
		t.Errorf("no soft hostname spread:\n%s", out)
	}
	gen, err := generateOnly(tg, objs)
	if err != nil {
		t.Fatal(err)
	}
	if g := encode(t, gen); strings.Contains(g, "PodDisruptionBudget") || strings.Contains(g, "HorizontalPodAutoscaler") {
		t.Errorf("one replica in one zone needs no PDB or HPA:\n%s", g)
	}
}

func TestEdgeAdmitsInternet(t *testing.T) {
	tg := target(t, `[]`, "edge")
	gen, err := generateOnly(tg, served("edge"))
	if err != nil {
		t.Fatal(err)
	}
	if g := encode(t, gen); !strings.Contains(g, "cidr: 0.0.0.0/0") || !strings.Contains(g, "- 10.0.0.0/8") {
		t.Errorf("a public component without Ingress is an edge and admits the internet (private ranges excepted):\n%s", g)
	}
	api, err := generateOnly(target(t, `[]`, "api"), served("api"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(encode(t, api), "0.0.0.0/0") {
		t.Error("a component behind Ingress must not admit the internet")
	}
}

func TestExternal(t *testing.T) {
	gen, err := generateOnly(target(t, `[]`, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := encode(t, gen)
	for _, want := range []string{"kind: Service", "kind: EndpointSlice", "- 10.0.8.10", "kubernetes.io/service-name: db", "port: 5432"} {
		if !strings.Contains(g, want) {
			t.Errorf("external objects lack %q:\n%s", want, g)
		}
	}
	if strings.Contains(g, "selector") || strings.Contains(g, "NetworkPolicy") {
		t.Errorf("external Service must have no selector and no NetworkPolicy:\n%s", g)
	}
}

func TestExternalWithJob(t *testing.T) {
	tg := target(t, `[]`, "db")
	tg.Component.Jobs = map[string]spec.Job{"db-backup": {TalksTo: []string{"db"}}}
	tg.Env.Spec.Components["db"] = tg.Component
	job, err := manifest.Decode("j.yaml", []byte(`apiVersion: batch/v1
kind: CronJob
metadata: {name: db-backup}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: backup, image: libertum/backup}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := shapeOnly(tg, job); err != nil {
		t.Fatal(err)
	}
	if out := encode(t, job); !strings.Contains(out, "libertum.io/job: db-backup") || !strings.Contains(out, "app.kubernetes.io/name: db") {
		t.Errorf("job pods are not labelled with the component and the job:\n%s", out)
	}
	gen, err := generateOnly(tg, job)
	if err != nil {
		t.Fatal(err)
	}
	g := encode(t, gen)
	for _, want := range []string{"name: db-default-deny", "name: db-backup-egress", "cidr: 10.0.8.10/32", "port: 5432", "- Egress"} {
		if !strings.Contains(g, want) {
			t.Errorf("an external component's job lacks %q:\n%s", want, g)
		}
	}
	tg.Component.Jobs = map[string]spec.Job{"restore": {}}
	if _, err := generateOnly(tg, job); err == nil || !strings.Contains(err.Error(), `"restore"`) {
		t.Errorf("err = %v, want the declared job that is not rendered named", err)
	}
}

func TestShapeErrors(t *testing.T) {
	tg := target(t, `[]`, "api")
	tg.Name = "other"
	if err := shapeOnly(tg, []*manifest.Object{apiDeployment()}); err == nil || !strings.Contains(err.Error(), `named "other"`) {
		t.Errorf("err = %v, want the missing main workload named", err)
	}
	bad := apiDeployment()
	bad.Object["spec"].(map[string]any)["replicass"] = int64(2)
	if err := shapeOnly(target(t, `[]`, "api"), []*manifest.Object{bad}); err == nil || !strings.Contains(err.Error(), "replicass") {
		t.Errorf("err = %v, want the unknown field named", err)
	}
}

// TestWorkloadIdentity: pods without an account of their own get the
// component's (generated), annotated with the stamp's client ID when they
// read Key Vault; pods that call Azure are labelled for the token.
func TestWorkloadIdentity(t *testing.T) {
	tg := target(t, `[]`, "api")
	tg.Component.Azure = []string{"blob"}
	objs := served("api")
	if err := shapeOnly(tg, objs); err != nil {
		t.Fatal(err)
	}
	out := encode(t, objs)
	for _, want := range []string{"serviceAccountName: api", WorkloadIdentityUse + `: "true"`} {
		if !strings.Contains(out, want) {
			t.Errorf("shaped pods lack %q:\n%s", want, out)
		}
	}
	gen, err := generateOnly(tg, objs)
	if err != nil {
		t.Fatal(err)
	}
	g := encode(t, gen)
	if !strings.Contains(g, "kind: ServiceAccount") || !strings.Contains(g, WorkloadIdentityClientID+": "+tg.Stamp.Identities["api"]) || !strings.Contains(g, "automountServiceAccountToken: false") {
		t.Errorf("no annotated ServiceAccount for api:\n%s", g)
	}

	// Neither Key Vault nor Azure: an account, without the identity.
	edge := target(t, `[]`, "edge")
	eobjs := served("edge")
	if err := shapeOnly(edge, eobjs); err != nil {
		t.Fatal(err)
	}
	egen, err := generateOnly(edge, eobjs)
	if err != nil {
		t.Fatal(err)
	}
	if e := encode(t, egen); !strings.Contains(e, "kind: ServiceAccount") || strings.Contains(e, WorkloadIdentityClientID) || strings.Contains(encode(t, eobjs), WorkloadIdentityUse) {
		t.Errorf("edge: want an account without identity:\n%s", e)
	}
}

// TestShapeAndGenerateIsShapeThenGenerate: generating from the workloads
// as shaped gives what generating from the shaped objects decoded again
// gives, and the same shaped objects, for zoned, single-zone and
// Azure-calling components. (The render's golden files and the 1,000
// service tree hold it for whole platforms.)
func TestShapeAndGenerateIsShapeThenGenerate(t *testing.T) {
	azure := target(t, `[]`, "api")
	azure.Component.Azure = []string{"blob"}
	for name, tg := range map[string]Target{
		"zoned":  target(t, `["1", "2", "3"]`, "api"),
		"single": target(t, `[]`, "edge"),
		"azure":  azure,
	} {
		twoStep := served(tg.Name)
		if err := shapeOnly(tg, twoStep); err != nil {
			t.Fatal(err)
		}
		want, err := generateOnly(tg, twoStep)
		if err != nil {
			t.Fatal(err)
		}
		oneStep := served(tg.Name)
		got, err := ShapeAndGenerate(tg, oneStep)
		if err != nil {
			t.Fatal(err)
		}
		if encode(t, got) != encode(t, want) || encode(t, oneStep) != encode(t, twoStep) {
			t.Errorf("%s: ShapeAndGenerate differs from Shape then Generate:\n%s\n---\n%s", name, encode(t, got), encode(t, want))
		}
		if len(got) == 0 {
			t.Errorf("%s: nothing generated", name)
		}
	}
}

// shapeOnly shapes objs as ShapeAndGenerate does, without generating.
func shapeOnly(t Target, objs []*manifest.Object) error {
	_, err := shape(t, objs)
	return err
}

// generateOnly returns what ShapeAndGenerate generates for objs as they
// are (already shaped, or deliberately not).
func generateOnly(t Target, objs []*manifest.Object) ([]*manifest.Object, error) {
	var ws []*workload
	for _, o := range objs {
		w, err := decodeWorkload(o)
		if err != nil {
			return nil, err
		}
		if w != nil {
			ws = append(ws, w)
		}
	}
	return generate(t, objs, ws)
}
