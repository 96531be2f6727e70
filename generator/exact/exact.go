// Package exact is the one switch that sends every fast path of the tool
// through the library it reproduces. Each fast path gives what its library
// gives, byte for byte, and has a test holding it to that; with
// GITOPS_EXACT=1 the library itself runs, so a doubt about a fast path is
// settled by rendering once with the switch on and comparing.
//
// The fast paths, and the library each stands in for:
//   - manifest.Encode's emitter: go-yaml v2's Marshal;
//   - manifest.MarshalJSON: encoding/json's Marshal;
//   - kustomize.Build's plain path: krusty's build;
//   - kustomize.Apply's direct labelling and the render's direct final
//     stage: krusty's build of the staged kustomization.
package exact

import "os"

// Env is the environment variable that turns the exact mode on ("1").
const Env = "GITOPS_EXACT"

var on = os.Getenv(Env) == "1"

// On reports whether the libraries run instead of the fast paths.
func On() bool { return on }
