package stampbox_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/policy"
)

// plantOutages brings back, in copies of the rendered objects, the six
// outages two reviews found: Loki's replicas without gRPC between them and
// without a way to Entra ID, the Alertmanager's gossip without UDP,
// mongod's keyfile straight from the CSI volume (0644), rs-init's liveness
// probe on a port it does not declare, and nginx no longer refusing
// requests without the Front Door ID.
func plantOutages(t *testing.T, inputs []policy.Input) []policy.Input {
	t.Helper()
	planted := map[string]bool{}
	out := make([]policy.Input, len(inputs))
	for i, in := range inputs {
		o := in.Object.DeepCopy()
		in.Object = o
		out[i] = in
		spec, _ := o.Object["spec"].(map[string]any)
		switch o.GetKind() + " " + manifest.Name(o) {
		case "NetworkPolicy loki-ingress":
			for _, r := range spec["ingress"].([]any) {
				rule := r.(map[string]any)
				rule["ports"] = without(rule["ports"], func(p map[string]any) bool { return fmt.Sprint(p["port"]) == "9095" })
			}
			planted["loki grpc"] = true
		case "NetworkPolicy loki-egress":
			spec["egress"] = without(spec["egress"], func(r map[string]any) bool {
				to, _ := r["to"].([]any)
				for _, x := range to {
					if b, ok := x.(map[string]any)["ipBlock"].(map[string]any); ok && (strings.HasPrefix(b["cidr"].(string), "20.") || strings.HasPrefix(b["cidr"].(string), "40.")) {
						return true
					}
				}
				return false
			})
			planted["loki entra"] = true
		case "NetworkPolicy alertmanager-ingress":
			for _, r := range spec["ingress"].([]any) {
				rule := r.(map[string]any)
				rule["ports"] = without(rule["ports"], func(p map[string]any) bool { return p["protocol"] == "UDP" })
			}
			planted["alertmanager udp"] = true
		case "StatefulSet mongodb":
			pod := spec["template"].(map[string]any)["spec"].(map[string]any)
			for _, c := range pod["containers"].([]any) {
				ct := c.(map[string]any)
				switch ct["name"] {
				case "mongodb":
					args := ct["args"].([]any)
					for j, a := range args {
						if strings.HasPrefix(a.(string), "--keyFile=") {
							args[j] = "--keyFile=/mnt/secrets-store/mongodb-keyfile"
							planted["keyfile"] = true
						}
					}
				case "rs-init":
					ct["livenessProbe"].(map[string]any)["tcpSocket"].(map[string]any)["port"] = "mongodb"
					planted["probe"] = true
				}
			}
		case "ConfigMap ingress-nginx-controller":
			data := o.Object["data"].(map[string]any)
			data["server-snippet"] = strings.Replace(data["server-snippet"].(string), "return 403;", "set $refused 1;", 1)
			planted["front door"] = true
		}
	}
	if len(planted) != 6 {
		t.Fatalf("planted %v: the rendered objects changed shape", planted)
	}
	return out
}

// without drops the list's maps that drop says to.
func without(list any, drop func(map[string]any) bool) []any {
	var out []any
	items, _ := list.([]any)
	for _, x := range items {
		if m, ok := x.(map[string]any); ok && drop(m) {
			continue
		}
		out = append(out, x)
	}
	return out
}
