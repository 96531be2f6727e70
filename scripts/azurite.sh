#!/usr/bin/env bash
# The remote render cache against a real Azure Blob endpoint: Azurite,
# Microsoft's storage emulator, installed from the npm registry (cached by
# version under .tools/) and started by the test itself on 127.0.0.1, in
# memory, and stopped by its process id when the test ends.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=3.37.0
DIR="$PWD/.tools/azurite-$VERSION"
BIN="$DIR/node_modules/.bin/azurite-blob"
if [ ! -x "$BIN" ]; then
  command -v npm >/dev/null || { echo "azurite: npm is needed to install Azurite (Debian: apt-get install npm)" >&2; exit 2; }
  echo "azurite: installing azurite@$VERSION from the npm registry (once; cached in $DIR)..."
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "azurite@$VERSION"
fi

GITOPS_AZURITE="$BIN" go test -tags kubernetes_protomessage_one_more_release -count=1 -run 'Azurite' -v ./generator/action/ | grep -E '^(=== RUN|--- |PASS|FAIL|ok)'
test "${PIPESTATUS[0]}" -eq 0
if pgrep -f "$BIN" >/dev/null; then
  echo "azurite: the test left Azurite running" >&2
  exit 1
fi
