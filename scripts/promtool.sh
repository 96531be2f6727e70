#!/usr/bin/env bash
# promtool, built from the module proxy and cached by version under .tools/,
# judges the rendered monitoring: every stamp's Prometheus configuration and
# alert rules (check config, check rules), the dashboards' queries (as
# recording rules: check rules parses each), and the alert rules' unit tests
# in Prometheus' rule-test format (test rules).
set -euo pipefail
cd "$(dirname "$0")/.."

# Prometheus v3.16.0's module version. Older 3.x modules carry replace
# directives and cannot be installed with go install; promtool 3.16 reads the
# configuration of the v3.2 server we run. Only the service discoveries the
# configuration uses are compiled in.
VERSION=v0.316.0
TAGS=remove_all_sd,enable_kubernetes_sd,enable_dns_sd
PROMTOOL="$PWD/.tools/bin/promtool-$VERSION"
if [ ! -x "$PROMTOOL" ]; then
  echo "promtool: building $VERSION from the module proxy (once; cached in $PROMTOOL)..."
  tmp="$PWD/.tools/build-promtool-$VERSION"
  GOBIN="$tmp" go install -tags "$TAGS" "github.com/prometheus/prometheus/cmd/promtool@$VERSION"
  mkdir -p "$(dirname "$PROMTOOL")"
  mv "$tmp/promtool" "$PROMTOOL"
  rm -rf "$tmp"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go run ./cmd/promcheck rendered "$work"

for stamp in "$work"/*/; do
  "$PROMTOOL" check config "$stamp/prometheus.yml"
  "$PROMTOOL" check rules "$stamp/dashboards.yaml"
done

cp generator/monitoring/testdata/ruletests/*.yaml "$work/"
(cd "$work" && "$PROMTOOL" test rules ./*.yaml)
echo "promtool: every stamp's configuration, rules and dashboard queries pass; the rule tests pass"
