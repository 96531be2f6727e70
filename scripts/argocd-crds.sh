#!/usr/bin/env bash
# Writes Argo CD's own Application and AppProject CRDs into crds/, from the
# argo-cd module at the version go.mod requires (the version the Argo CD
# harness, tools/argocd, builds and runs). The API server `gitops validate`
# starts then checks the rendered Applications and AppProjects against
# Argo CD's schemas; generator/schema's TestArgoCDCRDsAreArgoCDs fails when
# the files and the module differ (run this after bumping argo-cd).
set -euo pipefail
cd "$(dirname "$0")/.."
mod=github.com/argoproj/argo-cd/v2
dir=$(go list -m -f '{{.Dir}}' "$mod")
version=$(go list -m -f '{{.Version}}' "$mod")
for pair in application:applications appproject:appprojects; do
  src=${pair%%:*} dst=${pair#*:}
  {
    echo "# Argo CD's own CRD: $mod $version, manifests/crds/$src-crd.yaml"
    echo "# (Apache-2.0), written by scripts/argocd-crds.sh; do not edit."
    cat "$dir/manifests/crds/$src-crd.yaml"
  } > "crds/$dst.argoproj.io.yaml.tmp"
  mv "crds/$dst.argoproj.io.yaml.tmp" "crds/$dst.argoproj.io.yaml"
done
echo "crds: Argo CD's CRDs at $version"
