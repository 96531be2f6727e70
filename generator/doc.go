// Package generator renders the Libertum platform's GitOps tree in process.
//
// One command, one flow (docs/architecture.md draws it):
//
//  1. workspace reads the repo once: specs (decoded once), base/ and overlays/, policies, CRDs, exceptions, rendered/
//  2. plan      turns it into units (env, stamp, component) with inputs, cache keys and --changed-since scope
//  3. render    executes the plan on a bounded pool: helm or kustomize → intent → overlays → manifest
//  4. check     one verdict per object: schema, policies, exceptions, dedupe; findings cached by content
//  5. action's Verify and Diff compare and diff, publish ships what render and check produced
//  6. layout    owns rendered/<env>[/<stamp>]/<component>/<Kind>_<name>.yaml both ways, and writes it atomically
//
// action holds each command as a struct with Run; cmd/gitops only parses flags into them and prints.
package generator
