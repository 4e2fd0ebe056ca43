#!/usr/bin/env bash
# Plugins as npm packages, from an empty temp folder, the way a new user goes:
#
#   1. pack trellis (npm run build:package -- --pack) and install the tarball into an empty app
#   2. `npx trellis plugin new trellis-plugin-notes` there (the packaged CLI)
#   3. in the plugin: install (effect, trellis as dev dependencies), type check, test, build, pack
#   4. install the plugin into the app by its tarball, start the server with
#      TRELLIS_PLUGINS=trellis-plugin-notes on Node and on Deno, and use its route
#      (test/smoke/deno-smoke.sh does the HTTP checks)
#   5. link the plugin folder (with its own node_modules/effect) into another app and use its
#      route on Node: the server gives the plugin its own copy of effect
#
# Installs are `npm ci --offline` against a lock written by test/smoke/offline-lock.ts: they
# take every package from the npm cache that the repository's own `npm ci` filled, so nothing
# is fetched (the Deno binary comes from npx, as in the Deno smoke test).
#
# Environment: DENO (a deno 2.x binary; default from npx, see deno-smoke.sh), KEEP=1 keeps the
# temp folder. Prints `plugin package smoke: N passed, M failed` last.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/trellis-plugin-pkg.XXXXXX")"
passed=0
failed=0
say() { printf '%s\n' "$*"; }
summary() { say "plugin package smoke: $passed passed, $failed failed"; }
cleanup() { [[ "${KEEP:-}" == 1 ]] && say "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

# run WHAT CMD...: runs CMD, counts it, prints its output only when it fails
run() {
  local what="$1"; shift
  local t0=$SECONDS
  if "$@" >"$WORK/step.log" 2>&1; then
    passed=$((passed + 1)); say "  ok    $what ($((SECONDS - t0))s)"
  else
    failed=$((failed + 1)); say "  FAIL  $what"
    tail -n 80 "$WORK/step.log"
    summary
    exit 1
  fi
}

# Node 24 first on PATH (the project's own, as npm scripts have it), for every step below.
NODE24="$(cd "$REPO" && npm exec --offline -- node -e 'console.log(process.execPath)')" || { say "no Node 24 from the project"; exit 1; }
export PATH="$(dirname "$NODE24"):$PATH"
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
say "node $(node --version), npm $(npm --version), work folder $WORK"

lock() { node "$REPO/test/smoke/offline-lock.ts" "$1"; }
install() { (cd "$1" && lock . && npm ci --offline --no-audit --no-fund); }

# 1. trellis as a tarball, into an empty app
run "npm run build:package -- --pack" bash -c "cd '$REPO' && npm run build:package -- --pack"
TARBALL="$(ls -t "$REPO"/build/trellis-*.tgz | head -n 1)"
cp "$TARBALL" "$WORK/trellis.tgz"
mkdir -p "$WORK/app"
cat >"$WORK/app/package.json" <<'JSON'
{ "name": "app", "version": "1.0.0", "private": true, "dependencies": { "trellis": "file:../trellis.tgz" } }
JSON
run "install the trellis tarball into an empty folder" install "$WORK/app"
run "npx trellis --help" bash -c "cd '$WORK/app' && npx trellis --help | grep -q 'plugin'"
cat >"$WORK/app/imports.mjs" <<'JS'
const [client, testing, plugin, contract] = await Promise.all(
  ["trellis/client", "trellis/testing", "trellis/plugin", "trellis/contract"].map((m) => import(m))
)
if (!client.make || !testing.layer || !plugin.Plugin || !contract.Requires) process.exit(1)
JS
run "the typed client, the test kit and the plugin API import" bash -c "cd '$WORK/app' && node imports.mjs"

# 2. a new plugin, with the packaged CLI
run "npx trellis plugin new trellis-plugin-notes" bash -c "cd '$WORK/app' && npx trellis plugin new trellis-plugin-notes --directory '$WORK'"
PLUGIN="$WORK/trellis-plugin-notes"

# 3. the plugin's own development loop, against the packed trellis
run "plugin: install its dev dependencies" bash -c "cd '$PLUGIN' && npm pkg set devDependencies.trellis=file:../trellis.tgz && $(declare -f lock install); REPO='$REPO' install ."
run "plugin: npm run check" bash -c "cd '$PLUGIN' && npm run check"
run "plugin: npm test" bash -c "cd '$PLUGIN' && npm test"
run "plugin: npm run build" bash -c "cd '$PLUGIN' && npm run build && test -f dist/mod.js && test -f dist/mod.d.ts"
run "plugin: npm pack" bash -c "cd '$PLUGIN' && npm pack --silent --pack-destination '$WORK' >/dev/null && test -f '$WORK/trellis-plugin-notes-0.1.0.tgz'"

# 4. the app installs the plugin by its tarball, and serves it by package name
run "app: install the plugin package" bash -c "cd '$WORK/app' && npm pkg set dependencies.trellis-plugin-notes=file:../trellis-plugin-notes-0.1.0.tgz && $(declare -f lock install); REPO='$REPO' install ."
[[ -d "$WORK/app/node_modules/trellis-plugin-notes/dist" ]] || { failed=$((failed + 1)); say "  FAIL  the plugin is not in the app's node_modules"; summary; exit 1; }

smoke() { # smoke NAME FOLDER CMD...
  local name="$1" cwd="$2"; shift 2
  SMOKE_NAME="$name" SMOKE_CWD="$cwd" SMOKE_PLUGINS=trellis-plugin-notes SMOKE_HELLO=0 SMOKE_PLUGIN_ID=notes \
    SMOKE_ITEMS_PATH=/api/notes/items bash "$REPO/test/smoke/deno-smoke.sh" "$@"
}
run "Node: TRELLIS_PLUGINS=trellis-plugin-notes trellis serve, the plugin's route answers" \
  smoke node "$WORK/app" node node_modules/trellis/bin/trellis.js serve
if [[ -z "${DENO:-}" ]]; then
  DENO="$(cd "$REPO" && npx --yes "deno@${DENO_VERSION:-2.9.6}" eval 'console.log(Deno.execPath())' 2>/dev/null | tail -n 1)"
fi
if [[ -z "$DENO" || ! -x "$DENO" ]]; then
  failed=$((failed + 1)); say "  FAIL  no deno binary (set DENO)"
else
  run "Deno: the same, deno run -A node_modules/trellis/bin/trellis.js serve" \
    smoke deno "$WORK/app" "$DENO" run -A node_modules/trellis/bin/trellis.js serve
fi

# 5. the plugin folder linked into another app (`npm install ../trellis-plugin-notes`): the
#    folder keeps its own node_modules/effect (its dev dependencies), which plain resolution
#    would load as a second copy (500 on every request); the server hands it its own
mkdir -p "$WORK/linked"
cat >"$WORK/linked/package.json" <<'JSON'
{ "name": "linked", "version": "1.0.0", "private": true,
  "dependencies": { "trellis": "file:../trellis.tgz", "trellis-plugin-notes": "file:../trellis-plugin-notes" } }
JSON
run "linked app: install trellis and link the plugin folder" install "$WORK/linked"
[[ -L "$WORK/linked/node_modules/trellis-plugin-notes" && -d "$PLUGIN/node_modules/effect" ]] \
  || { failed=$((failed + 1)); say "  FAIL  the plugin is not linked, or its folder has no effect of its own"; summary; exit 1; }
run "Node: the linked plugin folder, with its own effect installed, answers its route" \
  smoke node-linked "$WORK/linked" node node_modules/trellis/bin/trellis.js serve

summary
(( failed == 0 ))
