# shellcheck shell=bash
# tool_go ARGS...: go ARGS with a build cache of its own, removed when the
# command ends. The pinned programs (Argo CD, kube-apiserver, Prometheus,
# Alertmanager, kube-state-metrics, promtool) are built -trimpath once and
# cached by version under .tools/bin; their compiled packages share nothing
# with the project's own builds and would only fill the disk (several GiB for
# Argo CD alone: a CI run once failed with "no space left on device").
tool_go() {
  local cache rc=0
  cache=$(mktemp -d "${TMPDIR:-/tmp}/tool-gocache.XXXXXX")
  GOCACHE="$cache" go "$@" || rc=$?
  rm -rf "$cache"
  return "$rc"
}
