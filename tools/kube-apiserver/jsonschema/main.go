// Command jsonschema writes strict, standalone JSON schemas, the kind
// kubeconform reads offline, for the Kubernetes version this module pins and
// for the CRDs under the repo's crds/. make bench's CLI comparison needs them:
// the anchor pipeline validates the same objects as gitops, with no network.
//
// Usage: go run ./jsonschema -crds ../../crds -out DIR < kinds
// where kinds lists "apiVersion kind" pairs, one per line.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kubernetes/pkg/generated/openapi"
	"sigs.k8s.io/yaml"
)

func main() {
	crds := flag.String("crds", "", "folder of CustomResourceDefinition manifests")
	out := flag.String("out", "", "folder to write <kind>-<group>-<version>.json files to")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: jsonschema -out DIR [-crds DIR] < kinds")
		os.Exit(2)
	}
	if err := run(*crds, *out); err != nil {
		fmt.Fprintln(os.Stderr, "jsonschema:", err)
		os.Exit(1)
	}
}

func run(crdDir, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	n, err := writeCRDs(crdDir, out)
	if err != nil {
		return err
	}
	defs := openapi.GetOpenAPIDefinitions(func(name string) spec.Ref {
		return spec.MustCreateRef("#/definitions/" + defName(name))
	})
	types := scheme.Scheme.AllKnownTypes()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fields := strings.Fields(in.Text())
		if len(fields) != 2 {
			continue
		}
		gv, err := schema.ParseGroupVersion(fields[0])
		if err != nil {
			return err
		}
		t, ok := types[gv.WithKind(fields[1])]
		if !ok {
			continue // a custom resource: written from its CRD
		}
		root := t.PkgPath() + "." + t.Name()
		doc := map[string]any{"$ref": "#/definitions/" + defName(root)}
		closure := map[string]any{}
		if err := collect(defs, root, closure); err != nil {
			return err
		}
		doc["definitions"] = closure
		if err := write(out, fields[0], fields[1], doc); err != nil {
			return err
		}
		n++
	}
	if err := in.Err(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "jsonschema: wrote %d schemas to %s\n", n, out)
	return nil
}

// defName turns a Go type name (k8s.io/api/apps/v1.Deployment) into a
// definitions key with no characters JSON pointers escape.
func defName(name string) string { return strings.ReplaceAll(name, "/", ".") }

// collect adds name's strict schema and those of everything it references.
func collect(defs map[string]common.OpenAPIDefinition, name string, into map[string]any) error {
	key := defName(name)
	if _, done := into[key]; done {
		return nil
	}
	d, ok := defs[name]
	if !ok {
		return fmt.Errorf("no OpenAPI definition for %s", name)
	}
	b, err := json.Marshal(d.Schema)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	into[key] = strict(m)
	for _, dep := range d.Dependencies {
		if err := collect(defs, dep, into); err != nil {
			return err
		}
	}
	return nil
}

// strict closes every object schema that lists its properties (unknown
// fields become errors, as with kubectl's strict field validation) and
// widens the two formats Kubernetes accepts as string or number.
func strict(v any) any {
	switch t := v.(type) {
	case map[string]any:
		switch t["format"] {
		case "int-or-string":
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		case "quantity":
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
		}
		for k, val := range t {
			if k == "properties" {
				props := val.(map[string]any)
				for p, s := range props {
					props[p] = strict(s)
				}
				continue
			}
			t[k] = strict(val)
		}
		if _, ok := t["properties"]; ok && t["x-kubernetes-preserve-unknown-fields"] != true {
			if _, set := t["additionalProperties"]; !set {
				t["additionalProperties"] = false
			}
		}
		return t
	case []any:
		for i := range t {
			t[i] = strict(t[i])
		}
	}
	return v
}

// writeCRDs writes one schema per served version of every CRD in dir.
func writeCRDs(dir, out string) (int, error) {
	if dir == "" {
		return 0, nil
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return n, err
		}
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			return n, fmt.Errorf("%s: %w", p, err)
		}
		for _, v := range crd.Spec.Versions {
			if err := write(out, crd.Spec.Group+"/"+v.Name, crd.Spec.Names.Kind, strict(v.Schema.OpenAPIV3Schema)); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// write names the file the way kubeconform's default template does:
// {{ .ResourceKind }}{{ .KindSuffix }}.json.
func write(out, apiVersion, kind string, doc any) error {
	group, version, ok := strings.Cut(apiVersion, "/")
	suffix := "-" + strings.ToLower(strings.Split(group, ".")[0])
	if ok {
		suffix += "-" + strings.ToLower(version)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, strings.ToLower(kind)+suffix+".json"), b, 0o644)
}
