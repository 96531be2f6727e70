// Package exact is the one switch that sends every fast path of the tool
// through the library it reproduces. Each fast path gives what its library
// gives, byte for byte, and has a test holding it to that; with
// GITOPS_EXACT=1 the library itself runs, so a doubt about a fast path is
// settled by rendering once with the switch on and comparing.
//
// The fast paths, each kept because its gain at make scale's 1,000 x 3 is
// measured and material (docs/performance.md), and the library each
// stands in for:
//   - manifest.Encode's emitter: go-yaml v2's Marshal (a cold render
//     about 20% faster, verify likewise);
//   - manifest's document decoder: go-yaml v2's values converted to
//     JSON's directly where that is exact, for sigs.k8s.io/yaml's YAML to
//     JSON to Go round trip (reading back a rendered tree: the round trip
//     was a third of decoding it); and before it, a reader of the block
//     style go-yaml writes, for go-yaml's parser (it reads 98% of the
//     repo's rendered files, to the same values, in half the time; a pull
//     request at 1,000 x 3 reads back 33,000 of them);
//   - the render's direct final stage (kustomize.Apply: its transformers
//     on the objects, labelled kinds set directly): krusty's build of the
//     staged kustomization (render and verify about 3x faster). The switch
//     is in the render's pipeline, the one caller.
//
// Two more were measured and removed: a JSON writer reproducing
// encoding/json and a plain kustomize build without krusty gained nothing
// measurable, on the repo's platform or at scale.
package exact

import "os"

// Env is the environment variable that turns the exact mode on ("1").
const Env = "GITOPS_EXACT"

var on = os.Getenv(Env) == "1"

// On reports whether the libraries run instead of the fast paths.
func On() bool { return on }
