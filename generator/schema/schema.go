// Package schema checks rendered objects against their Kubernetes types,
// offline: built-in kinds must decode strictly into client-go's Go types
// (unknown fields and wrong types are errors), custom resources must match
// the OpenAPI schema of their CRD, read from the repo.
package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/manifest"
)

type crdVersion struct {
	validator  validation.SchemaValidator
	structural *structuralschema.Structural
	namespaced bool
}

// Validator checks objects; it is safe for concurrent use.
type Validator struct {
	types *runtime.Scheme
	crds  map[schema.GroupVersionKind]crdVersion
	dir   string // where the CRDs came from, for messages
}

// typed are the kinds checked against Go types: Kubernetes' own, and Argo
// CD's Application and AppProject (argo-cd's v1alpha1 types).
func typed() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := scheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := argov1.AddToScheme(s); err != nil {
		return nil, err
	}
	// APIService is served by every API server (its aggregator) but has
	// its types in kube-aggregator, not client-go.
	if err := apiregistrationv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadFiles builds a Validator from CRD files (path to content) that came
// from dir.
func LoadFiles(dir string, files map[string][]byte) (*Validator, error) {
	types, err := typed()
	if err != nil {
		return nil, fmt.Errorf("schema types: %w", err)
	}
	v := &Validator{types: types, crds: map[schema.GroupVersionKind]crdVersion{}, dir: filepath.Base(dir)}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := v.AddCRD(filepath.ToSlash(p), files[p]); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// AddCRD registers the schemas of one CRD manifest.
func (v *Validator) AddCRD(file string, data []byte) error {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	for _, ver := range crd.Spec.Versions {
		if ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("%s: version %s has no openAPIV3Schema", file, ver.Name)
		}
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(ver.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
			return fmt.Errorf("%s: %s: %w", file, ver.Name, err)
		}
		sv, _, err := validation.NewSchemaValidator(&internal)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", file, ver.Name, err)
		}
		st, err := structuralschema.NewStructural(&internal)
		if err != nil {
			return fmt.Errorf("%s: %s: schema is not structural: %w", file, ver.Name, err)
		}
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}
		v.crds[gvk] = crdVersion{validator: sv, structural: st, namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped}
	}
	return nil
}

// Check returns every schema problem of one object, for a cluster running
// Kubernetes kube (v1.MINOR.PATCH; "" skips the removed-API check). Kinds
// with Go types are checked against them (stricter than a CRD that
// preserves unknown fields): unknown fields, wrong types, integers out of
// their field's range, required fields left out, and API versions the
// cluster no longer serves. Other custom resources are checked against
// their CRD.
func (v *Validator) Check(o *manifest.Object, kube string) error {
	gvk := o.GroupVersionKind()
	typed, err := v.types.New(gvk)
	if err != nil {
		if crd, ok := v.crds[gvk]; ok {
			return checkCustom(o, crd)
		}
		return fmt.Errorf("%s: no schema for %s (not a built-in kind, and no CRD under %s/)", manifest.IDOf(o), gvk, v.dir)
	}
	data, err := json.Marshal(o.Object)
	if err != nil {
		return fmt.Errorf("%s: %w", manifest.IDOf(o), err)
	}
	strict, err := sigsjson.UnmarshalStrict(data, typed)
	if err != nil {
		return fmt.Errorf("%s: %w", manifest.IDOf(o), err)
	}
	errs := strict
	if err := removed(typed, kube); err != nil {
		errs = append(errs, err)
	}
	if req := missing(o.Object, reflect.TypeOf(typed)); len(req) > 0 {
		errs = append(errs, fmt.Errorf("required field %s missing", strings.Join(req, ", ")))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", manifest.IDOf(o), errors.Join(errs...))
	}
	return nil
}

func checkCustom(o *manifest.Object, crd crdVersion) error {
	var errs []error
	copied := runtime.DeepCopyJSONValue(o.Object)
	unknown := pruning.PruneWithOptions(copied, crd.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	if len(unknown) > 0 {
		errs = append(errs, fmt.Errorf("unknown fields %s", strings.Join(unknown, ", ")))
	}
	for _, e := range validation.ValidateCustomResource(nil, o.Object, crd.validator) {
		errs = append(errs, e)
	}
	if crd.namespaced && o.GetNamespace() == "" {
		errs = append(errs, errors.New("metadata.namespace is required for a namespaced resource"))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", manifest.IDOf(o), errors.Join(errs...))
}
