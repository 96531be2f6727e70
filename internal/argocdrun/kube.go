package argocdrun

import (
	"context"
	"encoding/base64"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/libertum/platform-gitops/generator/validate"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Create creates the objects in the cluster: CustomResourceDefinitions
// first, waiting until each is served, then the rest (in order). Objects
// that exist already are left as they are.
func Create(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			rest = append(rest, o)
			continue
		}
		if err := validate.Create(ctx, dyn.Resource(validate.CRDResource), o); err != nil {
			return fmt.Errorf("create CRD %s: %w", o.GetName(), err)
		}
		if err := validate.WaitEstablished(ctx, dyn, o.GetName()); err != nil {
			return err
		}
	}
	if len(rest) == 0 {
		return nil
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	for _, o := range rest {
		r, err := validate.Resource(dyn, mapper, o)
		if err != nil {
			return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		if err := validate.Create(ctx, r, o); err != nil {
			return fmt.Errorf("create %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}
