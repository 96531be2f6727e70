#!/usr/bin/env bash
# promtool, built from the module proxy and cached by version under .tools/,
# judges the rendered monitoring: every stamp's Prometheus configuration and
# alert rules (check config, check rules), the dashboards' queries (as
# recording rules: check rules parses each), and the alert rules' unit tests
# in Prometheus' rule-test format (test rules).
set -euo pipefail
# shellcheck source=scripts/tool-go.sh
source scripts/tool-go.sh
cd "$(dirname "$0")/.."

# promtool of the Prometheus the environments run (v3.2.1, module
# v0.302.1), built in the tools/prometheus module that make programs builds
# the server in (its replace directive repeated there; one build cache for
# both). Only the service discoveries the configuration uses are compiled in.
TAGS=remove_all_sd,enable_kubernetes_sd,enable_dns_sd
mod=$(sed -n 's|^require github.com/prometheus/prometheus \(v[0-9.]*\)$|\1|p' tools/prometheus/go.mod)
VERSION="v3.$(echo "$mod" | sed 's/^v0\.3\([0-9]*\)\.\([0-9]*\)$/\1.\2/' | sed 's/^0*\([0-9]\)/\1/')"
PROMTOOL="$PWD/.tools/bin/promtool-$VERSION"
if [ ! -x "$PROMTOOL" ]; then
  echo "promtool: building $VERSION from the module proxy (once; cached in $PROMTOOL)..."
  mkdir -p "$(dirname "$PROMTOOL")"
  (cd tools/prometheus && CGO_ENABLED=0 tool_go build -trimpath -tags "$TAGS" -ldflags "-s -w" -o "$PROMTOOL.tmp" github.com/prometheus/prometheus/cmd/promtool)
  mv "$PROMTOOL.tmp" "$PROMTOOL"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go run ./cmd/promcheck rendered "$work"

for stamp in "$work"/*/; do
  "$PROMTOOL" check config --lint-fatal "$stamp/prometheus.yml"
  "$PROMTOOL" check rules --lint-fatal "$stamp/dashboards.yaml"
done

cp generator/monitoring/testdata/ruletests/*.yaml "$work/"
(cd "$work" && "$PROMTOOL" test rules ./*.yaml)
echo "promtool: every stamp's configuration, rules and dashboard queries pass; the rule tests pass"
