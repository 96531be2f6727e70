#!/usr/bin/env bash
# make scale: render and verify synthetic platforms of N services x 3
# environments and report wall time and peak RSS, to see how they grow.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"10 100 1000"}
# STEPS picks the steps (render is always run: the others need rendered/).
STEPS=${STEPS:-"render verify verify-warm pr"}
case " $STEPS " in *" render "*) ;; *) STEPS="render $STEPS" ;; esac
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "scale: needs GNU time at $TIME (apt-get install time)" >&2; exit 2; }

mkdir -p bin
go build -tags kubernetes_protomessage_one_more_release -o bin/gitops ./cmd/gitops
go build -o bin/scalegen ./cmd/scalegen
# Nothing is removed until the end. This VM's ext4 runs without a journal,
# and then the kernel will not reuse an inode freed in the last 5 minutes
# (recently_deleted() in fs/ext4/ialloc.c): it skips each one, on every file
# it creates in that block group, so removing one size's 33,000 files would
# slow the next render 4-10x (a test creating 33,000 files: 0.9 s on a
# quiet file system, 4.4 s after removing one such tree, 11.8 s after
# two). For the same reason the platforms are generated under the repo, not
# in /tmp, where a test run has just removed thousands of files; and a run
# started within minutes of the last one's clean-up measures that clean-up
# too.
mkdir -p .scale
WORK=$(mktemp -d .scale/run.XXXXXX)
# KEEP=1 leaves the platforms, their stores and caches for profiling
# (GITOPS_CPUPROFILE, docs/performance.md).
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT

# measure STEP ARGS...: one timed run, printed as a table row.
measure() {
  local step=$1; shift
  # Each step starts with the file system settled: the kernel writing
  # back the previous step's 33,000 files would otherwise be timed too.
  sync
  out=$("$TIME" -f '%e %M' bin/gitops "$@" 2>&1 >/dev/null | tail -1) || { echo "scale: $step at N=$n failed: $out" >&2; exit 1; }
  read -r secs kb <<<"$out"
  printf '%-6s %-12s %8d %10s %9d MB %10.2f\n' "$n" "$step" "$units" "$secs" $((kb / 1024)) "$(awk -v s="$secs" -v u="$units" 'BEGIN { print 1000 * s / u }')"
}

# pr DIR: a pull request's job. The platform is committed with its rendered
# tree, the protected branch's job fills a shared store (file://, signed),
# then one base's probe path changes in a second commit (with its
# re-render): verify
# --changed-since and diff --base run as a PR's job does, with an empty
# local cache, the shared store warm and no signing key.
pr() {
  local dir=$1 svc
  svc=$(printf 'svc-%04d' $((n / 2)))
  git -C "$dir" init -q -b main
  git -C "$dir" -c user.name=scale -c user.email=scale@example.invalid add -A
  git -C "$dir" -c user.name=scale -c user.email=scale@example.invalid commit -qm base
  local keys; keys=$(bin/gitops cache keygen | tee "$dir.keys")
  local signing verifying
  signing=$(sed -n 's/^GITOPS_CACHE_SIGNING_KEY=//p' <<<"$keys")
  verifying=$(sed -n 's/^GITOPS_CACHE_VERIFY_KEY=//p' <<<"$keys")
  mkdir -p "$dir.store"
  GITOPS_CACHE_DIR="$dir.protected" GITOPS_CACHE_URL="file://$PWD/$dir.store" GITOPS_CACHE_SIGNING_KEY="$signing" \
    bin/gitops verify --root "$dir" >/dev/null
  # The author changes the base and commits it with its re-render.
  sed -i 's|path: /readyz|path: /ready|' "$dir/base/$svc/deployment.yaml"
  GITOPS_CACHE_DIR="$dir.protected" bin/gitops render --root "$dir" --quiet
  git -C "$dir" -c user.name=scale -c user.email=scale@example.invalid commit -qam "$svc: probe path"
  for step in pr-verify pr-diff; do
    # Each step starts with an empty local cache of its own: removing the
    # last step's would slow this one's file creations (see above).
    case $step in
      pr-verify) args=(verify --root "$dir" --changed-since HEAD~1) ;;
      pr-diff) args=(diff --root "$dir" --base HEAD~1 --format markdown) ;;
    esac
    GITOPS_CACHE_DIR="$dir.$step" GITOPS_CACHE_URL="file://$PWD/$dir.store" GITOPS_CACHE_VERIFY_KEY="$verifying" \
      measure "$step" "${args[@]}"
  done
}

printf '%-6s %-12s %8s %10s %12s %10s\n' N step units seconds "peak RSS" "ms/unit"
for n in $SIZES; do
  dir="$WORK/n$n"
  bin/scalegen -n "$n" -out "$dir" -repo .
  units=$(( 3 * (n + 2) ))  # n services + namespaces + argocd per stamp, 3 environments
  export GITOPS_CACHE_DIR="$dir.cache"
  # Cold: no cache. Warm: the second of two runs sharing a cache.
  for step in $STEPS; do
    case $step in
      pr) continue ;;
      render) args=(render --root "$dir" --quiet --no-cache) ;;
      verify) args=(verify --root "$dir" --no-cache) ;;
      verify-warm) args=(verify --root "$dir"); bin/gitops "${args[@]}" >/dev/null ;;
    esac
    measure "$step" "${args[@]}"
  done
  case " $STEPS " in *" pr "*) pr "$dir" ;; esac
done
