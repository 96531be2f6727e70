#!/usr/bin/env bash
# make bench, second half: gitops side by side with the CLI pipeline it
# replaces, on the same inputs, in the same run.
#
# The anchor pipeline is what a CI job chains today, one unit (environment,
# stamp, component) at a time, units in parallel over every CPU:
#   1. helm template (charts) or kustomize build (kustomize bases)
#   2. kustomize build of a stage folder: that output plus the objects
#      gitops derives from the spec, the environment's overlays, labels,
#      namespace and image pins (exactly the stage gitops builds in memory)
#   3. conftest test with the same Rego policies and the same data document
#   4. kubeconform -strict with offline JSON schemas of the clusters'
#      Kubernetes version and of the repo's CRDs
# The CLIs are installed at pinned versions with go install into .tools/
# (ignored); the inputs are laid out by cmd/cliplan; the schemas are written
# by tools/kube-apiserver/jsonschema. Nothing is fetched at run time beyond
# the Go module proxy during those builds.
#
# Prints each stage's median wall time over RUNS runs, peak RSS, and the
# end-to-end ratios. RUNS=5 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-5}
TAGS=kubernetes_protomessage_one_more_release
JOBS=$(nproc)

HELM_VERSION=v3.20.2
KUSTOMIZE_VERSION=v5.8.2
CONFTEST_VERSION=v0.71.1
KUBECONFORM_VERSION=v0.8.0

TOOLS="$ROOT/.tools/anchor"
BIN="$TOOLS/bin"
mkdir -p "$BIN"
export PATH="$BIN:$PATH"

install() { # name version package
  local stamp="$BIN/.$1-$2"
  if [ ! -f "$stamp" ] || [ ! -x "$BIN/$1" ]; then
    echo "bench-cli: go install $3@$2" >&2
    GOBIN="$BIN" GOFLAGS=-mod=mod go install "$3@$2"
    touch "$stamp"
  fi
}
install helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm
install kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5
install conftest "$CONFTEST_VERSION" github.com/open-policy-agent/conftest
install kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform

if ! [ -x /usr/bin/time ]; then
  echo "bench-cli: installing GNU time (peak RSS)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

echo "bench-cli: building gitops, cliplan and the schema writer" >&2
go build -tags "$TAGS" -o "$BIN/gitops" ./cmd/gitops
go build -o "$BIN/cliplan" ./cmd/cliplan
(cd tools/kube-apiserver && go build -o "$BIN/jsonschema" ./jsonschema)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

KUBE_VERSION=$(sed -n 's/^ *kubernetesVersion: *\(v[0-9.]*\).*/\1/p' environments/*.yaml | sort -u | head -1)
SCHEMAS="$TOOLS/schemas/$KUBE_VERSION"
if [ ! -d "$SCHEMAS" ] || [ crds -nt "$SCHEMAS" ]; then
  rm -rf "$SCHEMAS"
  find rendered -name '*.yaml' -print0 | xargs -0 awk 'FNR==1{av=""} /^apiVersion:/{av=$2} /^kind:/{print av, $2; nextfile}' |
    sort -u | "$BIN/jsonschema" -crds crds -out "$SCHEMAS"
fi

PLAN="$WORK/plan"
"$BIN/cliplan" -root "$ROOT" -out "$PLAN"
# conftest gets the policies without their unit tests, and the namespaces
# of the rule packages (it would otherwise query lib's helper functions).
mkdir -p "$PLAN/policies"
NAMESPACES=()
for f in policies/*.rego; do
  case $f in *_test.rego) continue ;; esac
  cp "$f" "$PLAN/policies/"
  ns=$(sed -n 's/^package //p' "$f" | head -1)
  [ "$ns" = libertum.lib ] || NAMESPACES+=(--namespace "$ns")
done
UNITS=$(wc -l < "$PLAN/units.tsv")
OBJECTS=$(find rendered -name '*.yaml' | wc -l)

# timed NAME RSSFILE CMD...: runs CMD under GNU time, appending peak RSS (KB).
timed() {
  local rss=$1; shift
  /usr/bin/time -f '%M' -a -o "$rss" "$@"
}
export -f timed

# One unit's step 1 and step 2, for xargs. The plan says how each kind of
# base is rendered: its command's arguments are separated by 0x1f, with
# {root} for the repo and {plan} for the plan's folder.
base_step() { # env stamp component kind stage command
  local argv=()
  IFS=$'\x1f' read -ra argv <<< "$6"
  argv=("${argv[@]//\{root\}/$ROOT}")
  argv=("${argv[@]//\{plan\}/$PLAN}")
  timed "$RSS" "${argv[@]}" > "$PLAN/$5/objects.yaml"
}
stage_step() {
  mkdir -p "$OUT/$1/$2"
  timed "$RSS" kustomize build "$PLAN/$5" > "$OUT/$1/$2/$3.yaml"
}
export -f base_step stage_step
export PLAN ROOT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
maxrss() { sort -n "$1" | tail -1; }

declare -A T R
record() { T[$1]+="$2 "; R[$1]+="$3 "; }

# units0 prints units.tsv as NUL-separated fields (empty ones kept), six per unit.
units0() { awk -F'\t' '{ for (i = 1; i <= 6; i++) printf "%s%c", $i, 0 }' "$PLAN/units.tsv"; }

anchor_run() {
  export OUT="$WORK/out" RSS
  rm -rf "$OUT"; mkdir -p "$OUT"
  local t0 t1 t2 t3 t4
  RSS="$WORK/rss.helm"; : > "$RSS"
  t0=$(now)
  units0 | xargs -0 -n 6 -P "$JOBS" bash -c 'base_step "$@"' _
  t1=$(now); record "1 helm template / kustomize build (bases)" "$(elapsed "$t0" "$t1")" "$(maxrss "$RSS")"
  RSS="$WORK/rss.stage"; : > "$RSS"
  units0 | xargs -0 -n 6 -P "$JOBS" bash -c 'stage_step "$@"' _
  t2=$(now); record "2 kustomize build (overlays)" "$(elapsed "$t1" "$t2")" "$(maxrss "$RSS")"
  RSS="$WORK/rss.conftest"; : > "$RSS"
  for env in "$OUT"/*; do
    env=$(basename "$env")
    timed "$RSS" conftest test "${NAMESPACES[@]}" --no-color -p "$PLAN/policies" -d "$PLAN/data/$env" "$OUT/$env"/*/*.yaml > "$WORK/conftest.$env" || true
  done
  t3=$(now); record "3 conftest test (policies)" "$(elapsed "$t2" "$t3")" "$(maxrss "$RSS")"
  RSS="$WORK/rss.kubeconform"; : > "$RSS"
  timed "$RSS" kubeconform -strict -summary -schema-location "$SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$OUT" > "$WORK/kubeconform.out"
  t4=$(now); record "4 kubeconform -strict (schemas)" "$(elapsed "$t3" "$t4")" "$(maxrss "$RSS")"
  record "anchor end to end" "$(elapsed "$t0" "$t4")" "-"
}

gitops_run() { # name args...
  local name=$1; shift
  local rss="$WORK/rss.gitops"; : > "$rss"
  local t0 t1
  t0=$(now)
  timed "$rss" gitops "$@" > /dev/null || { echo "bench-cli: gitops $* failed" >&2; exit 1; }
  t1=$(now)
  record "$name" "$(elapsed "$t0" "$t1")" "$(maxrss "$rss")"
}

export GITOPS_CACHE_DIR="$WORK/cache"
echo "bench-cli: $UNITS units, $OBJECTS objects, $RUNS runs, $JOBS CPUs" >&2
for run in $(seq "$RUNS"); do
  echo "bench-cli: run $run/$RUNS" >&2
  anchor_run
  gitops_run "gitops render (cold cache)" render --no-cache --quiet --out "$WORK/rendered"
  gitops_run "gitops verify (cold cache)" verify --no-cache
  rm -rf "$GITOPS_CACHE_DIR"
  gitops_run "gitops verify (first run, filling the cache)" verify
  gitops_run "gitops verify (warm cache)" verify
done

# Sanity: the anchor rendered the same number of objects and kubeconform found no error.
anchor_objects=$(cat "$WORK"/out/*/*/*.yaml | grep -c '^kind:' || true)
echo "bench-cli: anchor rendered $anchor_objects objects (gitops: $OBJECTS, with Argo CD and namespace objects); kubeconform: $(tail -1 "$WORK/kubeconform.out")" >&2
conftest_fail=$(cat "$WORK"/conftest.* | grep -c '^FAIL' || true)
echo "bench-cli: conftest reported $conftest_fail failures: the anchor renders the bases as they are, without the resources, zone spread and security context gitops shapes in from the spec, and conftest knows no exceptions file" >&2

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
printf '\n%-48s %10s %12s\n' "stage" "median s" "peak RSS MB"
for k in "1 helm template / kustomize build (bases)" "2 kustomize build (overlays)" "3 conftest test (policies)" "4 kubeconform -strict (schemas)" "anchor end to end" \
  "gitops render (cold cache)" "gitops verify (cold cache)" "gitops verify (first run, filling the cache)" "gitops verify (warm cache)"; do
  t=$(echo "${T[$k]}" | median)
  r=$(echo "${R[$k]}" | tr ' ' '\n' | grep -v '^-$' | grep -v '^$' | sort -n | tail -1 || true)
  printf '%-48s %10s %12s\n' "$k" "$t" "$([ -n "$r" ] && awk -v k="$r" 'BEGIN { printf "%.0f", k / 1024 }' || echo -)"
done
anchor=$(echo "${T["anchor end to end"]}" | median)
cold=$(echo "${T["gitops verify (cold cache)"]}" | median)
warm=$(echo "${T["gitops verify (warm cache)"]}" | median)
printf '\nverify vs the anchor pipeline: %.1fx faster with a cold cache, %.1fx with a warm cache\n' \
  "$(awk -v a="$anchor" -v b="$cold" 'BEGIN { print a / b }')" "$(awk -v a="$anchor" -v b="$warm" 'BEGIN { print a / b }')"
