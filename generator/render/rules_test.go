package render

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/monitoring"
)

// matcherRE finds a PromQL label matcher: label, operator, quoted value.
var matcherRE = regexp.MustCompile(`(\w+)\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"`)

// exported lists, per namespace and per label of kube-state-metrics',
// kubelet's and Prometheus' own series, the values the objects of one
// stamp give that label: what a rule's matcher can match.
type exported map[string]map[string][]string

func (e exported) add(ns, label, value string) {
	if e[ns] == nil {
		e[ns] = map[string][]string{}
	}
	e[ns][label] = append(e[ns][label], value)
}

func exportedBy(u []*Unit) exported {
	out := exported{}
	for _, unit := range u {
		for _, o := range unit.Objects {
			ns, name := o.GetNamespace(), o.GetName()
			switch kind := o.GetKind(); kind {
			case "Deployment", "StatefulSet", "DaemonSet":
				out.add(ns, strings.ToLower(kind), name)
				out.add(ns, "pod", name+"-0")
				labels, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
				annotations, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "annotations")
				if annotations["prometheus.io/scrape"] == "true" {
					out.add(ns, "app", labels["app.kubernetes.io/name"])
					out.add("", "app", labels["app.kubernetes.io/name"])
				}
				claims, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumeClaimTemplates")
				for _, c := range claims {
					claim, _, _ := unstructured.NestedString(c.(map[string]any), "metadata", "name")
					out.add(ns, "persistentvolumeclaim", claim+"-"+name+"-0")
				}
			case "HorizontalPodAutoscaler", "PodDisruptionBudget", "CronJob", "PersistentVolumeClaim":
				out.add(ns, strings.ToLower(kind), name)
			case "Ingress":
				tls, _, _ := unstructured.NestedSlice(o.Object, "spec", "tls")
				for _, t := range tls {
					hosts, _, _ := unstructured.NestedStringSlice(t.(map[string]any), "hosts")
					for _, h := range hosts {
						out.add("", "host", h) // the controller's series carry no namespace matcher here
					}
				}
			}
		}
	}
	return out
}

// TestAlertRulesWatchWhatTheStampRuns reads every stamp's rendered alert
// rules and, independently of how they were generated, checks each label
// matcher that names an object (a Deployment, a claim, a budget, a
// scraped app...) against the objects the stamp renders: a rule on a
// series nothing in the stamp exports never fires. Each alternative of a
// regular expression must match something.
func TestAlertRulesWatchWhatTheStampRuns(t *testing.T) {
	res := renderRepo(t, 0)
	byStamp := map[[2]string][]*Unit{}
	for _, u := range res.Units {
		byStamp[[2]string{u.Env, u.Stamp}] = append(byStamp[[2]string{u.Env, u.Stamp}], u)
	}
	checked := 0
	for key, units := range byStamp {
		have := exportedBy(units)
		for _, u := range units {
			for _, o := range u.Objects {
				if o.GetKind() != "ConfigMap" || o.GetName() != monitoring.RulesConfigMap(u.Component) {
					continue
				}
				data, _, _ := unstructured.NestedString(o.Object, "data", monitoring.RulesKey)
				var file monitoring.RuleFile
				if err := yaml.UnmarshalStrict([]byte(data), &file); err != nil {
					t.Fatalf("%s/%s: %v", key[0], key[1], err)
				}
				for _, g := range file.Groups {
					for _, r := range g.Rules {
						checked++
						for _, why := range unmatched(t, have, r.Expr) {
							t.Errorf("%s/%s %s of %s: %s", key[0], key[1], r.Alert, r.Labels["component"], why)
						}
					}
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("checked %d rules: the repo's stamps should have many more", checked)
	}
}

// unmatched returns the matchers of expr that name objects the stamp does
// not render.
func unmatched(t *testing.T, have exported, expr string) []string {
	ns := ""
	for _, m := range matcherRE.FindAllStringSubmatch(expr, -1) {
		if m[1] == "namespace" {
			ns = m[3]
		}
	}
	var out []string
	for _, m := range matcherRE.FindAllStringSubmatch(expr, -1) {
		label, op := m[1], m[2]
		value, err := strconv.Unquote(`"` + m[3] + `"`)
		if err != nil {
			t.Fatalf("%s: %v", m[0], err)
		}
		values, known := have[ns][label]
		switch label {
		case "namespace", "dependency", "severity", "container":
			continue
		case "deployment", "statefulset", "daemonset", "horizontalpodautoscaler", "poddisruptionbudget", "cronjob", "persistentvolumeclaim", "pod", "app", "host":
		default:
			out = append(out, "a matcher on "+label+", which the test does not know")
			continue
		}
		alternatives := []string{value}
		if op == "=~" {
			alternatives = strings.Split(value, "|")
		}
		for _, alt := range alternatives {
			re := regexp.MustCompile("^(?:" + regexp.QuoteMeta(alt) + ")$")
			if op == "=~" {
				re = regexp.MustCompile("^(?:" + alt + ")$")
			}
			found := false
			for _, v := range values {
				found = found || re.MatchString(v)
			}
			if !known || !found {
				out = append(out, m[0]+": nothing in namespace "+ns+" gives "+label+" the value "+alt)
			}
		}
	}
	return out
}
