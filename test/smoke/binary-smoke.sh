#!/usr/bin/env bash
# Smoke test of the single binary (`npm run build:binary` writes dist/trellis): the generalised
# smoke test (deno-smoke.sh) runs it from an empty directory under `env -i` (no Node on PATH),
# with a third-party plugin loaded from a path, and checks that data survives a restart and a
# `kill -9`. Prints the binary's size, its gzip size and the time to the first 200 on restart.
#
#   npm run build:binary && bash test/smoke/binary-smoke.sh
#
# The plugin is examples/hello-plugin bundled by esbuild into one self-contained .mjs file:
# bare imports (`effect`, `trellis/plugin`) in a plugin file do not resolve to the binary's own
# copies yet, so only its loading and migrations are checked, not its routes.
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

echo "binary: $BIN"
echo "size: $(( $(stat -c %s "$BIN") / 1024 / 1024 )) MB, gzip: $(( $(gzip -c "$BIN" | wc -c) / 1024 / 1024 )) MB"

"$REPO_ROOT/node_modules/.bin/esbuild" "$REPO_ROOT/examples/hello-plugin/mod.ts" --bundle --platform=node \
  --format=esm --log-level=warning --outfile="$TMP/plugins/hello-plugin.mjs" \
  || { echo "binary smoke: could not bundle the example plugin"; exit 1; }

SMOKE_CMD="$BIN serve" SMOKE_NAME=binary SMOKE_CWD="$TMP/empty" SMOKE_CLEAN_ENV=1 \
  SMOKE_PLUGINS="$TMP/plugins/hello-plugin.mjs" SMOKE_HELLO=0 SMOKE_PLUGIN_ID=hello SMOKE_RESTART=1 \
  bash "$SCRIPT_DIR/deno-smoke.sh"
