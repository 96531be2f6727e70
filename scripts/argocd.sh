#!/usr/bin/env bash
# make argocd: a real Argo CD syncs the published platform.
#
# Builds Argo CD (application-controller and repo-server) from the module
# proxy in the tools/argocd module and kube-apiserver in tools/kube-apiserver,
# both cached under .tools/bin by version; installs etcd and redis from
# Debian when missing; then runs the test in internal/argocdrun, which
# starts every server on 127.0.0.1, publishes to a local bare repository and
# waits for every Application to sync. The test stops its servers by pid;
# this script stops any it left (a killed test), on failure or interrupt.
set -euo pipefail
# shellcheck source=scripts/tool-go.sh
source scripts/tool-go.sh
cd "$(dirname "$0")/.."

TAGS=kubernetes_protomessage_one_more_release
TOOLS="$PWD/.tools/bin"
PIDFILE="$PWD/.tools/argocd.pids"
mkdir -p "$TOOLS"

ARGOCD_VERSION=$(sed -n 's/^[[:space:]]*github.com\/argoproj\/argo-cd\/v2 v\([0-9.]*\)$/\1/p' tools/argocd/go.mod)
[ -n "$ARGOCD_VERSION" ] || { echo "argocd: tools/argocd/go.mod requires no argo-cd version" >&2; exit 2; }
stop_left() {
  if [ -f "$PIDFILE" ]; then
    while read -r pid; do
      # Each server runs in a process group of its own (its pid).
      kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    done < "$PIDFILE"
    sleep 1
    while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done < "$PIDFILE"
    rm -f "$PIDFILE"
  fi
}
stop_left
trap 'stop_left' EXIT
trap 'exit 130' INT TERM

missing=""
command -v etcd >/dev/null 2>&1 || missing="$missing etcd-server"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
# The repo-server verifies commit signatures with gpg; the test signs with it.
command -v gpg >/dev/null 2>&1 || missing="$missing gnupg"
if [ -n "$missing" ]; then
  echo "argocd: installing$missing (Debian)"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  # Debian starts its own redis service on install: this run uses its own.
  if command -v systemctl >/dev/null 2>&1; then systemctl stop redis-server 2>/dev/null || true; fi
fi

ARGOCD="$TOOLS/argocd-v$ARGOCD_VERSION"
if [ ! -x "$ARGOCD" ]; then
  echo "argocd: building Argo CD v$ARGOCD_VERSION from the module proxy (a few minutes; cached in $ARGOCD)"
  start=$(date +%s)
  (cd tools/argocd && CGO_ENABLED=0 tool_go build -trimpath -o "$ARGOCD.tmp" \
    -ldflags "-s -w -X github.com/argoproj/argo-cd/v2/common.version=$ARGOCD_VERSION -X github.com/argoproj/argo-cd/v2/common.gitTag=v$ARGOCD_VERSION" .)
  mv "$ARGOCD.tmp" "$ARGOCD"
  echo "argocd: built in $(( $(date +%s) - start ))s"
fi

# shellcheck source=scripts/kube-apiserver.sh
source scripts/kube-apiserver.sh

ARGOCD_SRC="$(cd tools/argocd && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v2)"
CRDS="$ARGOCD_SRC/manifests/crds"
# The repo-server runs gpg and git verify-commit through two scripts of
# Argo CD's, which its image installs in /usr/local/bin.
HACK="$ARGOCD_SRC/hack"

# The test binary is built first, so the run itself needs no network.
WORK=$(mktemp -d)
trap 'stop_left; rm -rf "$WORK"' EXIT
go test -c -tags "$TAGS" -o "$WORK/argocdrun.test" ./internal/argocdrun/
export GITOPS_ARGOCD="$ARGOCD" GITOPS_APISERVER="$APISERVER" GITOPS_ARGOCD_CRDS="$CRDS" GITOPS_ARGOCD_PIDFILE="$PIDFILE" GITOPS_ARGOCD_HACK="$HACK"
args=(-test.run TestArgoCDSyncsRendered -test.v -test.count=1 -test.timeout 20m)

# Argo CD v2.14's controller binds its metrics port on 0.0.0.0 (hard-coded).
# As root, the run gets a network namespace of its own with only loopback
# up, so nothing it starts is reachable from outside the machine.
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null && { command -v ip >/dev/null 2>&1 || command -v ifconfig >/dev/null 2>&1; }; then
  echo "argocd: running in a private network namespace (loopback only)"
  (cd internal/argocdrun && exec unshare -n sh -c '{ ip link set lo up 2>/dev/null || ifconfig lo up; } && exec "$0" "$@"' "$WORK/argocdrun.test" "${args[@]}") &
else
  echo "argocd: no private network namespace here (needs root and unshare); the controller's metrics port listens on 0.0.0.0 while the run lasts"
  (cd internal/argocdrun && exec "$WORK/argocdrun.test" "${args[@]}") &
fi
test_pid=$!
trap 'kill "$test_pid" 2>/dev/null; exit 130' INT TERM
wait "$test_pid"
