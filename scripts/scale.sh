#!/usr/bin/env bash
# make scale: render and verify synthetic platforms of N services x 3
# environments and report wall time and peak RSS, to see how they grow.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"10 100 1000"}
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
trap 'rm -rf "$WORK"' EXIT

printf '%-6s %-12s %8s %10s %12s %10s\n' N step units seconds "peak RSS" "ms/unit"
for n in $SIZES; do
  dir="$WORK/n$n"
  bin/scalegen -n "$n" -out "$dir" -repo .
  units=$(( 3 * (n + 2) ))  # n services + namespaces + argocd per stamp, 3 environments
  export GITOPS_CACHE_DIR="$dir.cache"
  # Cold: no cache. Warm: the second of two runs sharing a cache.
  for step in render verify verify-warm; do
    case $step in
      render) args=(render --root "$dir" --quiet --no-cache) ;;
      verify) args=(verify --root "$dir" --no-cache) ;;
      verify-warm) args=(verify --root "$dir"); bin/gitops "${args[@]}" >/dev/null ;;
    esac
    # Each step starts with the file system settled: the kernel writing
    # back the previous step's 33,000 files would otherwise be timed too.
    sync
    out=$("$TIME" -f '%e %M' bin/gitops "${args[@]}" 2>&1 >/dev/null | tail -1) || { echo "scale: $step at N=$n failed: $out" >&2; exit 1; }
    read -r secs kb <<<"$out"
    printf '%-6s %-12s %8d %10s %9d MB %10.2f\n' "$n" "$step" "$units" "$secs" $((kb / 1024)) "$(awk -v s="$secs" -v u="$units" 'BEGIN { print 1000 * s / u }')"
  done
done
