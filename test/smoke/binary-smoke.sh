#!/usr/bin/env bash
# Smoke test of the single binary (`npm run build:binary` writes dist/trellis): the generalised
# smoke test (deno-smoke.sh) runs it from an empty directory under `env -i` (no Node on PATH),
# with a third-party plugin loaded from a path, and checks that data survives a restart and a
# `kill -9`. Prints the binary's size, its gzip size and the time to the first 200 on restart.
#
#   npm run build:binary && bash test/smoke/binary-smoke.sh
#
# The plugin is a copy of examples/hello-plugin (TypeScript) in a directory with no
# node_modules: its imports of `effect` and `trellis/plugin` resolve to the binary's own copies
# (src/sea/HostModules.ts), and the same hello checks as on Deno run against it.
#
# Environment: TRELLIS_BINARY (default dist/trellis); the SMOKE_* variables of deno-smoke.sh.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
BIN="${TRELLIS_BINARY:-$REPO_ROOT/dist/trellis}"
[[ -x "$BIN" ]] || { echo "binary smoke: $BIN not found: run npm run build:binary first"; exit 1; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/trellis-binary-smoke.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/empty" "$TMP/plugins"
cp -R "$REPO_ROOT/examples/hello-plugin" "$TMP/plugins/hello" || exit 1
rm -rf "$TMP/plugins/hello/test"

echo "binary: $BIN"
echo "size: $(( $(stat -c %s "$BIN") / 1024 / 1024 )) MB, gzip: $(( $(gzip -c "$BIN" | wc -c) / 1024 / 1024 )) MB"

SMOKE_CMD="$BIN serve" SMOKE_NAME=binary SMOKE_CWD="$TMP/empty" SMOKE_CLEAN_ENV=1 \
  SMOKE_PLUGINS="$TMP/plugins/hello/mod.ts" SMOKE_HELLO=1 SMOKE_PLUGIN_ID=hello SMOKE_RESTART=1 \
  bash "$SCRIPT_DIR/deno-smoke.sh"
