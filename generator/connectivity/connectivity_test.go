package connectivity

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/flow"
	"github.com/libertum/platform-gitops/generator/layout"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/generator/workspace"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

var envs = []string{"dev", "staging", "prod"}

// committed reads an environment of the repo's platform as rendered and
// committed (the golden test keeps rendered/ equal to a fresh render).
func committed(t testing.TB, env string) (*spec.Environment, []policy.Input) {
	t.Helper()
	root := platformtest.Repo()
	e, err := workspace.Open(root).Environment(env)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []policy.Input
	for _, o := range platformtest.Rendered(t, root, env) {
		inputs = append(inputs, policy.Input{Unit: o.Unit, File: layout.RepoPath(o.File), Object: o.Object})
	}
	return e, inputs
}

var (
	evalOnce sync.Map // env -> []Conn
)

func evaluated(t *testing.T, env string) []Conn {
	t.Helper()
	if v, ok := evalOnce.Load(env); ok {
		return v.([]Conn)
	}
	e, in := committed(t, env)
	conns, err := Evaluate(e, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	evalOnce.Store(env, conns)
	return conns
}

// known reports whether a probe end takes part in any connection of the
// stamp Evaluate kept.
func known(conns []Conn, stamp, end string) bool {
	return slices.ContainsFunc(conns, func(c Conn) bool { return c.Stamp == stamp && (named(c.From, end) || named(c.To, end)) })
}

// named reports whether a probe end is the one a test names: a workload
// (namespace/name) or an address peer by its name.
func named(end, name string) bool { return end == name || strings.HasPrefix(end, name+" ") }

type want struct {
	Env, Stamp, From, To string
	Port                 int32
	Protocol             corev1.Protocol
	Allowed              bool
}

// TestFoundersFlows: a fixed set of flows, needed and refused, in every
// environment, as the engine judges the committed render; the intent graph
// must say the same.
func TestFoundersFlows(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "flows.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var wants []want
	if err := yaml.UnmarshalStrict(b, &wants); err != nil {
		t.Fatal(err)
	}
	for _, w := range wants {
		if w.Protocol == "" {
			w.Protocol = corev1.ProtocolTCP
		}
		conns := evaluated(t, w.Env)
		i := slices.IndexFunc(conns, func(c Conn) bool {
			return c.Stamp == w.Stamp && named(c.From, w.From) && named(c.To, w.To) && c.Port.Port == w.Port && c.Port.Protocol == w.Protocol
		})
		if i < 0 {
			// Evaluate keeps allowed or intended connections only: a flow
			// it does not return is denied and undeclared, which is right
			// for a refused flow whose two ends exist.
			switch {
			case w.Allowed:
				t.Errorf("%s/%s %s -> %s on %d/%s: neither allowed nor intended", w.Env, w.Stamp, w.From, w.To, w.Port, w.Protocol)
			case !known(conns, w.Stamp, w.From) || !known(conns, w.Stamp, w.To):
				t.Errorf("%s/%s %s -> %s: an end is no probe node of the stamp", w.Env, w.Stamp, w.From, w.To)
			}
			continue
		}
		c := conns[i]
		if c.Allowed != w.Allowed || c.Intended != w.Allowed {
			t.Errorf("%s/%s %s: engine allows %v, graph intends %v; want %v (policies %v)", w.Env, w.Stamp, c, c.Allowed, c.Intended, w.Allowed, c.Policies)
		}
	}
}

// TestPlatformMatchesIntent: on the repo's platform the engine and the
// graph agree on every probed connection.
func TestPlatformMatchesIntent(t *testing.T) {
	for _, env := range envs {
		e, in := committed(t, env)
		fs, err := check(e, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			t.Errorf("%s: %s at %s", env, f.Message, f.File)
		}
		if n := len(evaluated(t, env)); n < 60 {
			t.Errorf("%s: only %d connections allowed or intended", env, n)
		}
	}
}

// TestClusteredComponentsReachTheirPeers: every component whose programs
// need their replicas to reach each other (package programs, from their
// rendered configuration) reaches itself on each such port, in every
// stamp; Kafka, MongoDB, Redis, Loki and the Alertmanager in staging, Loki
// and the Alertmanager in prod among them.
func TestClusteredComponentsReachTheirPeers(t *testing.T) {
	clustered := map[string][]string{"staging": {"kafka", "mongodb", "redis", "loki", "alertmanager"}, "prod": {"loki", "alertmanager"}}
	for _, env := range envs {
		e, in := committed(t, env)
		for _, st := range e.Spec.Stamps {
			seen := map[string]bool{}
			for name, c := range e.Spec.Components {
				var objs []*manifest.Object
				for _, i := range in {
					if i.Stamp == st.Name && i.Component == name {
						objs = append(objs, i.Object)
					}
				}
				if c.External != nil {
					continue
				}
				iface, err := programs.Interface(name, objs, manifest.PodTemplate)
				if err != nil {
					t.Fatal(err)
				}
				self := c.Namespace + "/" + name
				for _, p := range iface.Peer {
					seen[name] = true
					i := slices.IndexFunc(evaluated(t, env), func(cn Conn) bool {
						return cn.Stamp == st.Name && cn.From == self && cn.To == self && cn.Port.Same(p)
					})
					if i < 0 || !evaluated(t, env)[i].Allowed {
						t.Errorf("%s/%s: %s cannot reach its peers on %s", env, st.Name, self, p)
					}
				}
			}
			for _, name := range clustered[env] {
				if !seen[name] {
					t.Errorf("%s/%s: %s declares no peer ports", env, st.Name, name)
				}
			}
		}
	}
}

// TestEgressToTheInternet: only the Alertmanager (its receivers are
// webhooks on the internet) reaches the internet in staging and prod (Blob
// Storage, Azure Monitor and PostgreSQL have private endpoints there); in
// dev also the pods that call Blob Storage or remote-write to Azure Monitor
// through the NAT gateway, on 443, and Grafana its database, on 5432.
func TestEgressToTheInternet(t *testing.T) {
	allowed := map[string]map[string]int32{
		"dev":     {"data/mongodb-backup": 443, "monitoring/alertmanager": 443, "monitoring/loki": 443, "monitoring/prometheus": 443, "monitoring/grafana": 5432},
		"staging": {"monitoring/alertmanager": 443},
		"prod":    {"monitoring/alertmanager": 443},
	}
	for _, env := range envs {
		for _, c := range evaluated(t, env) {
			if !named(c.To, "internet") || !c.Allowed {
				continue
			}
			if port, ok := allowed[env][c.From]; !ok || c.Port.Port != port {
				t.Errorf("%s/%s: %s reaches the internet", env, c.Stamp, c)
			}
		}
	}
}

// TestBackupReachesWhatItBacksUp: in every stamp the backup job's pods
// reach MongoDB (in the cluster or on the VM) and Blob Storage.
func TestBackupReachesWhatItBacksUp(t *testing.T) {
	for _, env := range envs {
		e, _ := committed(t, env)
		for _, st := range e.Spec.Stamps {
			var mongo, blob bool
			for _, c := range evaluated(t, env) {
				if c.Stamp != st.Name || c.From != "data/mongodb-backup" || !c.Allowed {
					continue
				}
				mongo = mongo || (c.Port.Port == 27017 && (c.To == "data/mongodb" || named(c.To, "prod-Kafka-redis-libertum")))
				blob = blob || (c.Port.Port == 443 && (named(c.To, "azure:blob") || (env == "dev" && named(c.To, "internet"))))
			}
			if !mongo || !blob {
				t.Errorf("%s/%s: backup reaches MongoDB %v, Blob Storage %v", env, st.Name, mongo, blob)
			}
		}
	}
}

func decode(t *testing.T, y string) *manifest.Object {
	t.Helper()
	objs, err := manifest.Decode("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return objs[0]
}

// TestAllowAllPolicyIsAViolation: a policy added by a base or overlay that
// admits every source to a private component is found, named, and blamed.
func TestAllowAllPolicyIsAViolation(t *testing.T) {
	e, in := committed(t, "staging")
	in = append(in, policy.Input{
		Unit: layout.Unit{Env: "staging", Stamp: "weu-1", Component: "kafka"},
		File: "rendered/staging/weu-1/kafka/NetworkPolicy_kafka-allow-all.yaml",
		Object: decode(t, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: kafka-allow-all, namespace: data}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: kafka}}
  ingress: [{}]
`)})
	fs, err := check(e, in)
	if err != nil {
		t.Fatal(err)
	}
	var fromInternet, fromPrometheus bool
	for _, f := range fs {
		if f.Rule != Rule || f.Name != "kafka-allow-all" || f.File == "" {
			t.Errorf("finding not blamed on the added policy: %+v", f)
			continue
		}
		fromInternet = fromInternet || strings.HasPrefix(f.Message, "internet 203.0.113.10 can reach data/kafka on 9092/TCP")
		fromPrometheus = fromPrometheus || strings.HasPrefix(f.Message, "monitoring/prometheus can reach data/kafka on 9092/TCP")
	}
	if !fromInternet || !fromPrometheus {
		t.Errorf("the allow-all policy's undeclared flows are not all reported (internet %v, prometheus %v): %v", fromInternet, fromPrometheus, fs)
	}
}

// TestLostSelfFlowIsAViolation: a kafka ingress policy without the peers
// rule blocks the quorum the graph needs.
func TestLostSelfFlowIsAViolation(t *testing.T) {
	e, in := committed(t, "staging")
	for i, x := range in {
		if x.Object.GetKind() == "NetworkPolicy" && manifest.Name(x.Object) == "kafka-ingress" {
			o := x.Object.DeepCopy()
			rules := o.Object["spec"].(map[string]any)["ingress"].([]any)
			var keep []any
			for _, r := range rules {
				from := r.(map[string]any)["from"].([]any)[0].(map[string]any)
				if from["podSelector"].(map[string]any)["matchLabels"].(map[string]any)["app.kubernetes.io/name"] != "kafka" {
					keep = append(keep, r)
				}
			}
			o.Object["spec"].(map[string]any)["ingress"] = keep
			in[i].Object = &manifest.Object{Object: o.Object}
		}
	}
	fs, err := check(e, in)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fs {
		if strings.HasPrefix(f.Message, "data/kafka cannot reach data/kafka on 9093/TCP (controller), which peers needs") && f.Name != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("the lost quorum flow is not reported: %v", fs)
	}
}

func BenchmarkEvaluateProd(b *testing.B) {
	e, in := committed(b, "prod")
	for b.Loop() {
		if _, err := Evaluate(e, in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBuildForKeepsTheComponentsFlows: the per-unit graph the renderer
// builds holds exactly the whole graph's flows from or to the component,
// in the same order.
func TestBuildForKeepsTheComponentsFlows(t *testing.T) {
	for _, env := range envs {
		e, in := committed(t, env)
		byComponent := map[string][]*manifest.Object{}
		for _, i := range in {
			if i.Stamp == e.Spec.Stamps[0].Name {
				byComponent[i.Component] = append(byComponent[i.Component], i.Object)
			}
		}
		ifaces := map[string]flow.Interface{}
		for name, c := range e.Spec.Components {
			if c.External == nil {
				iface, err := flow.InterfaceWith(name, byComponent[name], manifest.PodTemplate)
				if err != nil {
					t.Fatal(err)
				}
				ifaces[name] = iface
			}
		}
		whole, err := flow.Build(e, e.Spec.Stamps[0], ifaces)
		if err != nil {
			t.Fatal(err)
		}
		for name := range e.Spec.Components {
			var want []flow.Flow
			for _, f := range whole.Flows {
				if f.From.Component == name || f.To.Component == name {
					want = append(want, f)
				}
			}
			got, err := flow.BuildFor(e, e.Spec.Stamps[0], ifaces, name)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got.Flows, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("%s/%s: BuildFor differs from the whole graph's flows (-want +got):\n%s", env, name, d)
			}
		}
	}
}

// TestSelectionIsTheEnginesVerdict: the memoised per-pod policy selection
// gives, for every pair of workloads of every stamp and every port, the
// answer of the engine's own IsIngressOrEgressAllowed, in both directions,
// and so does its allocation-free allowed.
func TestSelectionIsTheEnginesVerdict(t *testing.T) {
	for _, env := range envs {
		e, in := committed(t, env)
		for _, stamp := range e.Spec.Stamps {
			var inputs []policy.Input
			for _, i := range in {
				if i.Stamp == stamp.Name {
					inputs = append(inputs, i)
				}
			}
			st, err := decodeStamp(inputs, nil)
			if err != nil {
				t.Fatal(err)
			}
			engine, err := build(st.netpols, st.files)
			if err != nil {
				t.Fatal(err)
			}
			pods, err := workloads(inputs, st.nsLabels, spec.DefaultPodCIDR, manifest.PodTemplate, nil)
			if err != nil {
				t.Fatal(err)
			}
			sel := newSelection(engine)
			for _, pod := range pods {
				in := pod.peer.Internal
				for ingress, ix := range map[bool]targetIndex{false: sel.egress.index, true: sel.ingress.index} {
					want := engine.TargetsApplyingToPod(ingress, in.Namespace, in.PodLabels)
					got := ix.selecting(in.Namespace, in.PodLabels)
					if !sameTargets(got, want) {
						t.Fatalf("%s/%s %s (ingress %v): index selects %v, engine %v", env, stamp.Name, pod.name, ingress, got, want)
					}
				}
			}
			compared := 0
			for _, src := range pods {
				for _, dst := range pods {
					for _, port := range dst.ports {
						tr := &matcher.Traffic{Source: src.peer, Destination: dst.peer, ResolvedPort: int(port.Port), ResolvedPortName: port.Name, Protocol: port.Protocol}
						for _, ingress := range []bool{false, true} {
							want := engine.IsIngressOrEgressAllowed(tr, ingress)
							got := sel.direction(tr, ingress)
							if got.IsAllowed() != want.IsAllowed() || len(got.AllowingTargets) != len(want.AllowingTargets) || len(got.DenyingTargets) != len(want.DenyingTargets) ||
								sel.allowed(tr, ingress) != want.IsAllowed() {
								t.Fatalf("%s/%s %s -> %s %s (ingress %v): selection %v, engine %v", env, stamp.Name, src.name, dst.name, port, ingress, got.IsAllowed(), want.IsAllowed())
							}
							compared++
						}
					}
				}
			}
			if compared < 300 {
				t.Errorf("%s/%s: only %d verdicts compared", env, stamp.Name, compared)
			}
		}
	}
}

func sameTargets(a, b []*matcher.Target) bool {
	key := func(ts []*matcher.Target) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.GetPrimaryKey())
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// TestCandidatesHoldEveryPairThatMatters: every pair the destination index
// leaves out is one the graph does not declare and the engine itself
// denies on the way out, on every port, in every stamp of the repo's
// platform; also with egress policies the index cannot narrow by labels
// (an address block over the pods, a whole namespace, every pod of every
// namespace). And it does leave pairs out.
func TestCandidatesHoldEveryPairThatMatters(t *testing.T) {
	// Each alone: one peer of another kind would hide a mistake in
	// narrowing the others.
	widen := func(peer string) string {
		return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: kafka-wide, namespace: data}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: kafka}}
  policyTypes: [Egress]
  egress: [{to: [` + peer + `]}]
`
	}
	add := func(np string) func(env, stamp string, in []policy.Input) []policy.Input {
		return func(env, stamp string, in []policy.Input) []policy.Input {
			return append(in, policy.Input{Unit: layout.Unit{Env: env, Stamp: stamp, Component: "kafka"},
				File: "NetworkPolicy_kafka-wide.yaml", Object: decode(t, np)})
		}
	}
	variants := map[string]func(env, stamp string, in []policy.Input) []policy.Input{
		"as rendered":   func(_, _ string, in []policy.Input) []policy.Input { return in },
		"address block": add(widen(`{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/24]}}`)),
		"namespace":     add(widen(`{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}, podSelector: {}}`)),
		"expressions":   add(widen(`{podSelector: {matchExpressions: [{key: app.kubernetes.io/name, operator: Exists}]}}`)),
		// Declared flows no policy admits any more: the index must still
		// pair them, for the engine to deny.
		"egress lost": func(_, _ string, in []policy.Input) []policy.Input {
			out := slices.Clone(in)
			for i, x := range out {
				if x.Object.GetKind() == "NetworkPolicy" && strings.HasSuffix(manifest.Name(x.Object), "-egress") {
					o := x.Object.DeepCopy()
					o.Object["spec"].(map[string]any)["egress"] = []any{}
					out[i].Object = &manifest.Object{Object: o.Object}
				}
			}
			return out
		},
	}
	for _, env := range envs {
		e, in := committed(t, env)
		for name, variant := range variants {
			for _, stamp := range e.Spec.Stamps {
				var inputs []policy.Input
				for _, i := range in {
					if i.Stamp == stamp.Name {
						inputs = append(inputs, i)
					}
				}
				inputs = variant(env, stamp.Name, inputs)
				p, err := newProbe(e, stamp, inputs, nil)
				if err != nil {
					t.Fatal(err)
				}
				dix := newDestinations(p.dsts)
				left := 0
				for _, src := range p.srcs {
					leaving := p.graph.Leaving(src.ep)
					candidate := map[int]bool{}
					for _, i := range dix.candidates(src, leaving, p.sel) {
						candidate[i] = true
					}
					for i, dst := range p.dsts {
						if candidate[i] {
							continue
						}
						left++
						for _, port := range dst.ports {
							if f, ok := p.graph.Allows(src.ep, dst.ep, port); ok {
								t.Fatalf("%s/%s (%s): %s -> %s on %s left out, but %s declares it", env, stamp.Name, name, src.name, dst.name, port, f)
							}
							tr := &matcher.Traffic{Source: src.peer, Destination: dst.peer, ResolvedPort: int(port.Port), ResolvedPortName: port.Name, Protocol: port.Protocol}
							if p.engine.IsIngressOrEgressAllowed(tr, false).IsAllowed() {
								t.Fatalf("%s/%s (%s): %s -> %s on %s left out, but the engine lets it leave", env, stamp.Name, name, src.name, dst.name, port)
							}
						}
					}
				}
				if left < len(p.srcs) {
					t.Errorf("%s/%s (%s): the index left out only %d pairs of %d sources", env, stamp.Name, name, left, len(p.srcs))
				}
			}
		}
	}
}

// check is the connectivity rule as the check step runs it: the engine's
// answers, then the findings from them.
func check(env *spec.Environment, inputs []policy.Input) ([]policy.Finding, error) {
	conns, err := Evaluate(env, inputs, manifest.NewTyped())
	if err != nil {
		return nil, err
	}
	return Findings(env, inputs, conns), nil
}
