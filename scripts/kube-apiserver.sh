# Sourced by make e2e and make argocd: the Kubernetes version the
# environments declare (KUBE_VERSION) and kube-apiserver built at it from the
# module proxy in tools/kube-apiserver, cached under $TOOLS by version
# (APISERVER). Needs TOOLS set.

# shellcheck source=scripts/tool-go.sh
source scripts/tool-go.sh

KUBE_VERSION=$(sed -n 's/^ *kubernetesVersion: *\(v[0-9.]*\).*/\1/p' environments/*.yaml | sort -u)
if [ "$(printf '%s\n' "$KUBE_VERSION" | wc -l)" != 1 ]; then
  echo "the environments declare several Kubernetes versions ($KUBE_VERSION); one API server checks one" >&2
  exit 2
fi
if ! grep -q "k8s.io/kubernetes $KUBE_VERSION\$" tools/kube-apiserver/go.mod; then
  echo "environments declare $KUBE_VERSION but tools/kube-apiserver/go.mod pins another k8s.io/kubernetes" >&2
  exit 2
fi

APISERVER="$TOOLS/kube-apiserver-$KUBE_VERSION"
if [ ! -x "$APISERVER" ]; then
  echo "building kube-apiserver $KUBE_VERSION from the module proxy (cached in $APISERVER)"
  minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  (cd tools/kube-apiserver && CGO_ENABLED=0 tool_go build -trimpath -o "$APISERVER.tmp" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
    k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$APISERVER.tmp" "$APISERVER"
fi
