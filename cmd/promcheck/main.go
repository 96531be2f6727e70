// Command promcheck lays out what promtool judges, from a rendered tree:
// per stamp, the Prometheus configuration (rule files and service-account
// paths pointed into the output folder) and its alert rules; per
// environment, every dashboard query as a recording rule, so that
// `promtool check rules` parses them. scripts/promtool.sh runs it.
//
//	promcheck RENDERED OUT
package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: promcheck RENDERED OUT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "promcheck:", err)
		os.Exit(2)
	}
}

type configMap struct {
	Data map[string]string `json:"data"`
}

func readConfigMap(path string) (*configMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cm configMap
	if err := yaml.Unmarshal(b, &cm); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &cm, nil
}

func run(rendered, out string) error {
	configs, err := filepath.Glob(filepath.Join(rendered, "*", "*", "prometheus", "ConfigMap_prometheus-config.yaml"))
	if err != nil || len(configs) == 0 {
		return fmt.Errorf("no Prometheus configuration under %s", rendered)
	}
	for _, cfgPath := range configs {
		stampDir := filepath.Dir(filepath.Dir(cfgPath))
		env, stamp := filepath.Base(filepath.Dir(stampDir)), filepath.Base(stampDir)
		dir, err := filepath.Abs(filepath.Join(out, env+"-"+stamp))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
			return err
		}
		// promtool checks that the service account's files exist.
		if err := os.MkdirAll(filepath.Join(dir, "sa"), 0o755); err != nil {
			return err
		}
		for _, f := range []string{"token", "ca.crt"} {
			if err := os.WriteFile(filepath.Join(dir, "sa", f), []byte("placeholder\n"), 0o644); err != nil {
				return err
			}
		}
		cm, err := readConfigMap(cfgPath)
		if err != nil {
			return err
		}
		paths := strings.NewReplacer(
			"/etc/prometheus/rules/", filepath.Join(dir, "rules")+"/",
			"/etc/prometheus/", dir+"/",
			"/var/run/secrets/kubernetes.io/serviceaccount/", filepath.Join(dir, "sa")+"/",
		)
		// Every file of the ConfigMap, as the pod sees /etc/prometheus.
		for name, data := range cm.Data {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(paths.Replace(data)), 0o644); err != nil {
				return err
			}
		}
		rules, err := readConfigMap(filepath.Join(filepath.Dir(cfgPath), "ConfigMap_prometheus-rules.yaml"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "rules", "alerts.yaml"), []byte(rules.Data["alerts.yaml"]), 0o644); err != nil {
			return err
		}
		if err := dashboards(filepath.Join(stampDir, "grafana", "ConfigMap_grafana-dashboards.yaml"), filepath.Join(dir, "dashboards.yaml")); err != nil {
			return err
		}
	}
	return nil
}

// dashboards writes every query of the dashboards as a recording rule.
func dashboards(path, out string) error {
	cm, err := readConfigMap(path)
	if err != nil {
		return err
	}
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for _, n := range slices.Sorted(maps.Keys(cm.Data)) {
		var d struct {
			Panels []struct {
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal([]byte(cm.Data[n]), &d); err != nil {
			return fmt.Errorf("%s: %s: %w", path, n, err)
		}
		for _, p := range d.Panels {
			for _, t := range p.Targets {
				rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", len(rules)+1), Expr: t.Expr})
			}
		}
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboards", "rules": rules}}})
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
