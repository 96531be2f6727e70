// Package generator renders the Libertum platform's GitOps tree in process.
//
// The pipeline, one way, per (environment, stamp, component) in parallel:
//
//  1. spec      environments/<env>.yaml, strictly decoded and validated (file:line errors)
//  2. source    base/<component>: a local Helm chart (helm) or a kustomize base (kustomize)
//  3. intent    workloads shaped from the spec; HPA, PDB, NetworkPolicy, Ingress,
//     SecretProviderClass and external Service/EndpointSlice generated
//  4. kustomize overlays/<env>[/<component>] Components, namespace, labels, image pins
//  5. manifest  total order and canonical bytes, one file per object
//  6. layout    rendered/<env>/<stamp>/<component>/<Kind>_<name>.yaml, replaced atomically
//
// render ties the steps together; cmd/gitops only parses flags and prints.
// cache keeps rendered units and findings by the content of their inputs,
// scope maps the files a change touches to the units it can affect, and
// cliplan lays out the same work for the CLI pipeline make bench compares with.
package generator
