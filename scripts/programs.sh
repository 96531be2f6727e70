#!/usr/bin/env bash
# make programs: the stamp in a box. The rendered staging and prod stamps'
# programs run as real processes, one network namespace per replica on a
# bridge, and are asked whether the platform works (generator/stampbox).
#
# Builds Prometheus, Alertmanager and kube-state-metrics from the module
# proxy at the versions the environments pin (tools/<program>, cached under
# .tools/bin by version) and kube-apiserver (tools/kube-apiserver, as make
# e2e); installs Debian's etcd, redis, nginx, tcpdump, nftables when
# missing; holds generator/nginxconf's reading of the ingress snippets to
# the real nginx; then runs the box's test as root in network and mount
# namespaces of its own (no packet leaves them). The test stops every
# process by its pid; this script stops any a killed test left.
set -euo pipefail
# shellcheck source=scripts/tool-go.sh
source scripts/tool-go.sh
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ] || ! unshare --net --mount true 2>/dev/null; then
  echo "programs: the box needs root and network and mount namespaces (unshare)" >&2
  exit 1
fi

TAGS=kubernetes_protomessage_one_more_release
TOOLS="$PWD/.tools/bin"
PIDFILE="$PWD/.tools/programs.pids"
mkdir -p "$TOOLS"
stop_left() {
  if [ -f "$PIDFILE" ]; then
    while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done < "$PIDFILE"
    sleep 1
    while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done < "$PIDFILE"
    rm -f "$PIDFILE"
  fi
}
stop_left

# Debian packages: command, then package.
missing=""
for pair in etcd:etcd-server redis-server:redis-server redis-cli:redis-tools nginx:nginx-light tcpdump:tcpdump nft:nftables nsenter:util-linux ip:iproute2; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
if [ -n "$missing" ]; then
  echo "programs: installing$missing (Debian)"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  # Debian starts its own services on install: the box runs its own.
  if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx redis-server 2>/dev/null || true; fi
fi

# build NAME MODULE-DIR PACKAGE VERSION: the program at the version its
# module pins, once (only the service discoveries the configuration uses
# are compiled into Prometheus).
build() {
  local name=$1 dir=$2 pkg=$3 version=$4 out
  out="$TOOLS/$name-$version"
  if [ ! -x "$out" ]; then
    echo "programs: building $name $version from the module proxy (once; cached in $out)"
    local start; start=$(date +%s)
    (cd "tools/$dir" && CGO_ENABLED=0 tool_go build -trimpath -tags remove_all_sd,enable_kubernetes_sd,enable_dns_sd \
      -ldflags "-s -w" -o "$out.tmp" "$pkg")
    mv "$out.tmp" "$out"
    echo "programs: built $name in $(( $(date +%s) - start ))s"
  fi
  echo "$name-$version"
}
modver() { sed -n "s|^[[:space:]]*require $1 \(v[0-9.]*\)\$|\1|p; s|^[[:space:]]*$1 \(v[0-9.]*\)\$|\1|p" "tools/$2/go.mod" | head -1; }
# Prometheus 3.x modules are versioned v0.3XY.Z for release v3.XY.Z.
prom_mod=$(modver github.com/prometheus/prometheus prometheus)
prom_version="v3.$(echo "$prom_mod" | sed 's/^v0\.3\([0-9]*\)\.\([0-9]*\)$/\1.\2/' | sed 's/^0*\([0-9]\)/\1/')"
PROMETHEUS=$(build prometheus prometheus github.com/prometheus/prometheus/cmd/prometheus "$prom_version" | tail -1)
ALERTMANAGER=$(build alertmanager alertmanager github.com/prometheus/alertmanager/cmd/alertmanager "$(modver github.com/prometheus/alertmanager alertmanager)" | tail -1)
KSM=$(build kube-state-metrics kube-state-metrics k8s.io/kube-state-metrics/v2 "$(modver k8s.io/kube-state-metrics/v2 kube-state-metrics)" | tail -1)

# shellcheck source=scripts/kube-apiserver.sh
source scripts/kube-apiserver.sh

# nginx is the judge of the ingress snippets: the reading verify uses must
# agree with it.
GITOPS_NGINX="$(command -v nginx)" go test -count=1 -run TestAgreesWithNginx ./generator/nginxconf/

# The test binary and boxpod are built first, so the run needs no network.
# boxpod lives on the root file system: every container's root is an
# overlay of it.
WORK=$(mktemp -d)
trap 'stop_left; rm -rf "$WORK"' EXIT
go build -o "$WORK/boxpod" ./cmd/boxpod
go test -c -tags "$TAGS" -o "$WORK/stampbox.test" ./generator/stampbox/
export GITOPS_STAMPBOX_TOOLS="$TOOLS" GITOPS_PROMETHEUS="$PROMETHEUS" GITOPS_ALERTMANAGER="$ALERTMANAGER" GITOPS_KUBE_STATE_METRICS="$KSM" \
  GITOPS_BOXPOD="$WORK/boxpod" GITOPS_APISERVER="$APISERVER" GITOPS_STAMPBOX_PIDFILE="$PIDFILE" \
  GITOPS_STAMPBOX_RECORD="$PWD/.tools/programs-record"
echo "programs: running the box (staging/weu-1, prod/weu-1, staging/weu-1 with the outages planted) in namespaces of its own"
start=$(date +%s)
(cd generator/stampbox && exec unshare --net --mount --propagation private -- sh -c \
  'mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns && exec "$0" "$@"' \
  "$WORK/stampbox.test" -test.run TestStampInABox -test.v -test.count=1 -test.timeout 20m) &
test_pid=$!
trap 'kill "$test_pid" 2>/dev/null; exit 130' INT TERM
wait "$test_pid"
echo "programs: the box ran in $(( $(date +%s) - start ))s; every flow and name it judged is in .tools/programs-record/"
