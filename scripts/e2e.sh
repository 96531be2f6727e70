#!/usr/bin/env bash
# make e2e: prove every rendered object against a real kube-apiserver.
#
# Installs etcd (Debian's etcd-server) if missing, builds kube-apiserver at
# the Kubernetes version the environments declare from the module proxy (in
# the tools/kube-apiserver module, cached under .tools/bin by version),
# starts both on 127.0.0.1 with throwaway certificates and a temp data dir,
# runs gitops validate and the integration test against them, and stops them
# by their process ids when done, on failure or on interrupt.
set -euo pipefail
cd "$(dirname "$0")/.."

TAGS=kubernetes_protomessage_one_more_release
TOOLS="$PWD/.tools/bin"
PIDFILE="$PWD/.tools/e2e.pids"
mkdir -p "$TOOLS"

# A previous run killed hard (SIGKILL) leaves its pids behind: stop them.
if [ -f "$PIDFILE" ]; then
  while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$PIDFILE"
  rm -f "$PIDFILE"
fi

if ! command -v etcd >/dev/null 2>&1; then
  echo "e2e: installing etcd (Debian etcd-server)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi

# shellcheck source=scripts/kube-apiserver.sh
source scripts/kube-apiserver.sh

WORK=$(mktemp -d)
PIDS=()
STEP=""
# kill_tree stops a process and everything it started (go run's binary).
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
# step runs a command in the background and waits for it, so an interrupt
# reaches the trap at once instead of after the command finishes.
step() {
  "$@" &
  STEP=$!
  local rc=0
  wait "$STEP" || rc=$?
  STEP=""
  return "$rc"
}
cleanup() {
  status=$?
  [ -n "$STEP" ] && kill_tree "$STEP"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  left=""
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; left="$left $pid"; fi
  done
  [ -n "$left" ] && echo "e2e: had to SIGKILL$left" >&2
  if [ "$status" -ne 0 ]; then
    echo "e2e: failed; last lines of the API server's log:" >&2
    tail -n 20 "$WORK/apiserver.log" 2>/dev/null >&2 || true
  fi
  rm -rf "$WORK" "$PIDFILE"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local port
  while :; do
    port=$(( (RANDOM % 20000) + 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}
ETCD_PORT=$(free_port); PEER_PORT=$(free_port); API_PORT=$(free_port)

# Throwaway credentials: a self-signed serving certificate, a service
# account key pair and one admin token, all gone with $WORK.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$WORK/serving.key" -out "$WORK/serving.crt" 2>/dev/null
openssl genrsa -out "$WORK/sa.key" 2048 2>/dev/null
openssl rsa -in "$WORK/sa.key" -pubout -out "$WORK/sa.pub" 2>/dev/null
TOKEN=$(openssl rand -hex 24)
echo "$TOKEN,e2e-admin,e2e-admin,system:masters" > "$WORK/tokens.csv"

start=$(date +%s.%N)
etcd --name e2e --data-dir "$WORK/etcd" --unsafe-no-fsync \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-cluster "e2e=http://127.0.0.1:$PEER_PORT" > "$WORK/etcd.log" 2>&1 &
PIDS+=("$!"); echo "$!" >> "$PIDFILE"

"$APISERVER" --bind-address=127.0.0.1 --secure-port="$API_PORT" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --tls-cert-file="$WORK/serving.crt" --tls-private-key-file="$WORK/serving.key" \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$WORK/sa.pub" --service-account-signing-key-file="$WORK/sa.key" \
  --token-auth-file="$WORK/tokens.csv" --authorization-mode=AlwaysAllow \
  --service-cluster-ip-range=10.0.0.0/24 --endpoint-reconciler-type=none \
  --disable-admission-plugins=ServiceAccount > "$WORK/apiserver.log" 2>&1 &
PIDS+=("$!"); echo "$!" >> "$PIDFILE"

cat > "$WORK/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: https://127.0.0.1:$API_PORT
      certificate-authority: $WORK/serving.crt
users:
  - name: e2e-admin
    user:
      token: $TOKEN
contexts:
  - name: e2e
    context: {cluster: e2e, user: e2e-admin}
current-context: e2e
KUBECONFIG

for _ in $(seq 1 240); do
  if curl -sf --cacert "$WORK/serving.crt" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1; then
    break
  fi
  for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "e2e: process $pid died while starting" >&2; exit 1; }; done
  sleep 0.25
done
curl -sf --cacert "$WORK/serving.crt" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$API_PORT/readyz" >/dev/null
awk -v v="$KUBE_VERSION" -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "e2e: etcd and kube-apiserver %s ready on 127.0.0.1 in %.1fs\n", v, e - s }'

step go run -tags "$TAGS" ./cmd/gitops validate --server "$WORK/kubeconfig"
GITOPS_E2E_KUBECONFIG="$WORK/kubeconfig" step go test -tags "$TAGS" -count=1 -run Integration -v ./generator/validate/
