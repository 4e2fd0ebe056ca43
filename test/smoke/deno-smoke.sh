#!/usr/bin/env bash
# Smoke test of the real server over HTTP with curl: starts it on the embedded database, checks
# a few routes, then stops it with SIGTERM. By default the server is `deno task start`
# (deno.json); any other command can be given, e.g. the single binary:
#
#   bash test/smoke/deno-smoke.sh                       # Deno
#   bash test/smoke/deno-smoke.sh dist/trellis serve    # any command (or SMOKE_CMD="...")
#   bash test/smoke/binary-smoke.sh                     # the binary, with the options below
#
# Environment (all optional):
#   SMOKE_CMD             the command that starts the server (word-split; the arguments win)
#   SMOKE_NAME            label in the output (default "deno", or "smoke" for another command)
#   SMOKE_CWD             directory the server runs in (default: SMOKE_ROOT)
#   SMOKE_CLEAN_ENV=1     run the server under `env -i` (PATH=/usr/bin:/bin, no Node from npm)
#   SMOKE_PLUGINS         TRELLIS_PLUGINS (default ./examples/hello-plugin/mod.ts)
#   SMOKE_HELLO=0         skip the checks of the hello plugin's routes (it is still expected
#                         in /api/plugins when SMOKE_PLUGIN_ID is set)
#   SMOKE_PLUGIN_ID       a plugin id that GET /api/plugins must list
#   SMOKE_ITEMS_PATH      a collection route of a plugin (e.g. /api/notes/items, as `trellis plugin
#                         new` makes): POST {"name":"smoke"} -> 201, then GET lists it
#   SMOKE_RESTART=1       also: a write survives a restart and a `kill -9`; prints the time
#                         to the first 200 of GET /ready on restart
#   DENO                  a deno 2.x binary (default: the one `npx deno@$DENO_VERSION` installs)
#   DENO_VERSION          default 2.9.6
#   SMOKE_ROOT            project directory to run in (default: this repository)
#   SMOKE_DIRECT=1        run `deno run -A src/main.ts serve` instead of `deno task start`
#   SMOKE_READY_TIMEOUT   seconds to wait for GET /ready (default 120)
#   SMOKE_STOP_TIMEOUT    seconds allowed between SIGTERM and exit (default 15)
#   SMOKE_OK_EXIT_CODES   exit statuses accepted after SIGTERM (default "0 130 143":
#                         Effect's NodeRuntime.runMain exits 130 when interrupted by a signal)
#
# Prints `<name> smoke: N passed, M failed` last; exits non-zero on any failure.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
ROOT="${SMOKE_ROOT:-$REPO_ROOT}"
DENO_VERSION="${DENO_VERSION:-2.9.6}"
READY_TIMEOUT="${SMOKE_READY_TIMEOUT:-120}"
STOP_TIMEOUT="${SMOKE_STOP_TIMEOUT:-15}"
OK_EXIT_CODES="${SMOKE_OK_EXIT_CODES:-0 130 143}"
ADMIN_TOKEN="smoke-admin-token"
(( $# > 0 )) && SMOKE_CMD="$*"
if [[ -n "${SMOKE_CMD:-}" ]]; then NAME="${SMOKE_NAME:-smoke}"; else NAME="${SMOKE_NAME:-deno}"; fi
PLUGINS="${SMOKE_PLUGINS-./examples/hello-plugin/mod.ts}"
HELLO="${SMOKE_HELLO:-1}"

passed=0
failed=0
SERVER_PID=""
WORK="$(mktemp -d "${TMPDIR:-/tmp}/trellis-smoke.XXXXXX")"
DATA_DIR="$WORK/data"
LOG="$WORK/server.log"
mkdir -p "$DATA_DIR"

say() { printf '%s\n' "$*"; }
pass() { passed=$((passed + 1)); say "  ok    $*"; }
fail() { failed=$((failed + 1)); say "  FAIL  $*"; }

LOG_SHOWN=0
show_log() {
  (( LOG_SHOWN )) && return 0
  LOG_SHOWN=1
  say "---- server log (last 200 lines of $LOG) ----"
  tail -n 200 "$LOG" 2>/dev/null || true
  say "---- end of server log ----"
}

summary() {
  say "$NAME smoke: $passed passed, $failed failed"
}

alive() { [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; }

# Kill everything we started: the server runs in its own process group (setsid),
# so a `deno task` wrapper and its child go together.
cleanup() {
  if alive; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do alive || break; sleep 0.1; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  # stray children of the group, if the leader went first
  [[ -n "$SERVER_PID" ]] && kill -KILL -- "-$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'say "$NAME smoke: interrupted"; exit 130' INT TERM

abort() { # a failure after which the remaining checks cannot run
  fail "$*"
  show_log
  summary
  exit 1
}

# --- tools -------------------------------------------------------------------
command -v curl >/dev/null 2>&1 || abort "curl not found"
JSON_RUNTIME="$(command -v node || true)"
[[ -n "$JSON_RUNTIME" ]] || abort "node not found (used to read JSON bodies)"

if [[ -n "${SMOKE_CMD:-}" ]]; then
  read -r -a CMD <<<"$SMOKE_CMD"
else
  if [[ -z "${DENO:-}" ]]; then
    say "resolving deno@$DENO_VERSION through npx"
    DENO="$(cd "$ROOT" && npx --yes "deno@$DENO_VERSION" eval 'console.log(Deno.execPath())' 2>"$WORK/npx.err" | tail -n 1)"
    if [[ -z "$DENO" || ! -x "$DENO" ]]; then
      cat "$WORK/npx.err"
      abort "could not get deno@$DENO_VERSION from npx"
    fi
  fi
  say "deno: $("$DENO" --version | head -n 1) ($DENO)"
  if [[ "${SMOKE_DIRECT:-}" == 1 ]]; then
    CMD=("$DENO" run -A src/main.ts serve)
  else
    CMD=("$DENO" task start)
  fi
fi

PORT="$(bash "$REPO_ROOT/scripts/ci/free-port.sh")" || abort "no free port"
BASE="http://127.0.0.1:$PORT"
CWD="${SMOKE_CWD:-$ROOT}"

# --- start -------------------------------------------------------------------
SETSID=()
command -v setsid >/dev/null 2>&1 && SETSID=(setsid)
ENV_START=(env -u DATABASE_URL -u TRELLIS_DATABASE_URL -u TRELLIS_TEST_DATABASE_URL)
[[ "${SMOKE_CLEAN_ENV:-}" == 1 ]] && ENV_START=(env -i PATH=/usr/bin:/bin HOME="$WORK")

now_ms() { date +%s%3N; }

# start_server: starts the server in the background (its own process group), appending to $LOG
start_server() {
  say "starting: ${CMD[*]} (in $CWD, port $PORT, data dir $DATA_DIR, log $LOG)"
  (
    cd "$CWD" || exit 1
    exec "${ENV_START[@]}" \
      DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 NO_COLOR=1 \
      TRELLIS_PORT="$PORT" TRELLIS_HOST=127.0.0.1 TRELLIS_DATA_DIR="$DATA_DIR" \
      TRELLIS_ADMIN_TOKEN="$ADMIN_TOKEN" TRELLIS_PLUGINS="$PLUGINS" \
      "${SETSID[@]}" "${CMD[@]}"
  ) </dev/null >>"$LOG" 2>&1 &
  SERVER_PID=$!
}

# wait_ready: waits for GET /ready -> 200; sets READY_MS (milliseconds since the call)
wait_ready() {
  local t0 code=""
  t0="$(now_ms)"
  while (( $(now_ms) - t0 < READY_TIMEOUT * 1000 )); do
    if ! alive; then
      wait "$SERVER_PID" 2>/dev/null; local rc=$?
      SERVER_PID=""
      abort "server exited with status $rc before GET /ready answered 200"
    fi
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/ready" 2>/dev/null)"
    if [[ "$code" == 200 ]]; then READY_MS=$(( $(now_ms) - t0 )); return 0; fi
    sleep 0.05
  done
  abort "GET /ready did not answer 200 within ${READY_TIMEOUT}s (last status: ${code:-none})"
}

start_server
wait_ready
pass "GET /ready -> 200 after ${READY_MS} ms"

# --- helpers -------------------------------------------------------------------
# request METHOD PATH [auth|noauth] [JSON body]: sets STATUS, CTYPE, BODY
request() {
  local method="$1" path="$2" auth="${3:-auth}" body="${4:-}"
  local args=(-s -o "$WORK/body" -w '%{http_code} %{content_type}' --max-time 30 -X "$method")
  [[ "$auth" == auth ]] && args+=(-H "Authorization: Bearer $ADMIN_TOKEN")
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  local out
  out="$(curl "${args[@]}" "$BASE$path" 2>"$WORK/curl.err")" || true
  STATUS="${out%% *}"
  CTYPE="${out#* }"
  [[ "$out" == *" "* ]] || CTYPE=""
  BODY="$(cat "$WORK/body" 2>/dev/null)"
}

# json_get KEY: the value of KEY in $WORK/body, searched breadth-first (top level
# first). Strings print raw, anything else as JSON. Non-zero if absent or not JSON.
json_get() {
  "$JSON_RUNTIME" -e '
    const fs = require("fs");
    let v; try { v = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { process.exit(2); }
    const key = process.argv[2];
    const queue = [v];
    while (queue.length) {
      const x = queue.shift();
      if (x && typeof x === "object") {
        if (!Array.isArray(x) && Object.prototype.hasOwnProperty.call(x, key)) {
          const r = x[key];
          console.log(typeof r === "string" ? r : JSON.stringify(r));
          process.exit(0);
        }
        for (const y of Object.values(x)) queue.push(y);
      }
    }
    process.exit(1);' "$WORK/body" "$1" 2>/dev/null
}

short() { local b="${BODY//$'\n'/ }"; printf '%s' "${b:0:300}"; }

# expect_problem WHAT STATUS: a problem+json error with that status and a code
expect_problem() {
  local what="$1" want="$2" st code
  if [[ "$STATUS" != "$want" ]]; then
    fail "$what -> $STATUS (want $want): $(short)"; return
  fi
  if [[ "${CTYPE,,}" != application/problem+json* ]]; then
    fail "$what -> Content-Type '$CTYPE' (want application/problem+json): $(short)"; return
  fi
  st="$(json_get status)"
  if [[ "$st" != "$want" ]]; then
    fail "$what -> problem body status '$st' (want $want): $(short)"; return
  fi
  code="$(json_get code)"
  if [[ -z "$code" || "$code" == null ]]; then
    fail "$what -> problem body has no \"code\": $(short)"; return
  fi
  pass "$what -> $STATUS problem+json, code $code"
}

# --- checks ------------------------------------------------------------------
request GET /health noauth
if [[ "$STATUS" == 200 ]]; then pass "GET /health -> 200"; else fail "GET /health -> $STATUS (want 200): $(short)"; fi

if [[ "$HELLO" == 1 ]]; then
request POST /api/hello/greetings auth '{"name":"deno"}'
ID=""
if [[ "$STATUS" != 201 ]]; then
  fail "POST /api/hello/greetings -> $STATUS (want 201): $(short)"
elif ! ID="$(json_get id)" || [[ -z "$ID" || "$ID" == null ]]; then
  ID=""
  fail "POST /api/hello/greetings -> 201 but no \"id\" in the body: $(short)"
else
  pass "POST /api/hello/greetings -> 201, id $ID"
fi

if [[ -n "$ID" ]]; then
  request GET "/api/hello/greetings/$ID" auth
  name="$(json_get name || true)"
  if [[ "$STATUS" == 200 && "$name" == deno ]]; then
    pass "GET /api/hello/greetings/$ID -> 200, name deno"
  else
    fail "GET /api/hello/greetings/$ID -> $STATUS, name '$name' (want 200, deno): $(short)"
  fi
else
  fail "GET /api/hello/greetings/<id> skipped: no id from the POST"
fi

request GET /api/hello/greetings/does-not-exist auth
expect_problem "GET /api/hello/greetings/does-not-exist" 404
fi

# The HTTP fast path (src/http/FastPathServer.ts) hooks Node's http.Server; under Deno's
# node:http it must answer too: the plugin list twice, then its counter in /metrics.
request GET /api/plugins auth
request GET /api/plugins auth
plugins_status="$STATUS"
request GET /metrics noauth
fast="$(printf '%s\n' "$BODY" | grep -F 'trellis_http_fast_path_requests_total{route="/api/plugins"}' | awk '{print $NF}')"
if [[ "$plugins_status" == 200 && -n "$fast" && "$fast" -ge 1 ]]; then
  pass "GET /api/plugins -> 200 through the fast path ($fast in /metrics)"
else
  fail "GET /api/plugins -> $plugins_status, fast-path count '$fast' in /metrics (want 200 and >= 1)"
fi

if [[ -n "${SMOKE_PLUGIN_ID:-}" ]]; then
  request GET /api/plugins auth
  if [[ "$STATUS" == 200 && "$BODY" == *"\"id\":\"$SMOKE_PLUGIN_ID\""* ]]; then
    pass "GET /api/plugins lists the plugin $SMOKE_PLUGIN_ID (loaded from $PLUGINS)"
  else
    fail "GET /api/plugins -> $STATUS without the plugin $SMOKE_PLUGIN_ID: $(short)"
  fi
fi

if [[ -n "${SMOKE_ITEMS_PATH:-}" ]]; then
  request POST "$SMOKE_ITEMS_PATH" auth '{"name":"smoke"}'
  if [[ "$STATUS" == 201 ]]; then pass "POST $SMOKE_ITEMS_PATH -> 201"; else fail "POST $SMOKE_ITEMS_PATH -> $STATUS (want 201): $(short)"; fi
  request GET "$SMOKE_ITEMS_PATH" auth
  if [[ "$STATUS" == 200 && "$BODY" == *'"name":"smoke"'* ]]; then
    pass "GET $SMOKE_ITEMS_PATH -> 200 with the item"
  else
    fail "GET $SMOKE_ITEMS_PATH -> $STATUS without the item: $(short)"
  fi
fi

request GET /docs noauth
if [[ "$STATUS" == 200 && "$BODY" == *"<html"* ]]; then pass "GET /docs -> 200 HTML ($(wc -c <"$WORK/body") bytes)"; else fail "GET /docs -> $STATUS: $(short)"; fi

if [[ "$HELLO" == 1 ]]; then
  request GET /api/hello/greetings noauth
  expect_problem "GET /api/hello/greetings without auth" 401
else
  request GET /api/workspaces noauth
  expect_problem "GET /api/workspaces without auth" 401
fi

# A write to find again after a restart and after `kill -9`.
WS_ID=""
if [[ "${SMOKE_RESTART:-}" == 1 ]]; then
  request POST /api/workspaces auth '{"name":"smoke-before-restart"}'
  if [[ "$STATUS" == 201 || "$STATUS" == 200 ]] && WS_ID="$(json_get id)" && [[ -n "$WS_ID" && "$WS_ID" != null ]]; then
    pass "POST /api/workspaces -> $STATUS, id $WS_ID"
  else
    WS_ID=""
    fail "POST /api/workspaces -> $STATUS (want 201 and an id): $(short)"
  fi
fi

# --- graceful stop -------------------------------------------------------------
stop_graceful() {
  if ! alive; then
    SERVER_PID=""
    abort "server died during the checks"
  fi
  kill -TERM "$SERVER_PID"
  local stop_at=$SECONDS rc
  while alive && (( SECONDS - stop_at < STOP_TIMEOUT )); do sleep 0.1; done
  if alive; then
    fail "server still running ${STOP_TIMEOUT}s after SIGTERM"
    show_log
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
  else
    wait "$SERVER_PID" 2>/dev/null; rc=$?
    SERVER_PID=""
    if [[ " $OK_EXIT_CODES " == *" $rc "* ]]; then
      pass "SIGTERM -> exited with status $rc after $((SECONDS - stop_at))s"
    else
      fail "SIGTERM -> exited with status $rc (accepted: $OK_EXIT_CODES)"
      show_log
    fi
  fi
}
stop_graceful

# expect_workspace WHEN: the workspace written before is still there
expect_workspace() {
  [[ -n "$WS_ID" ]] || { fail "$1: no workspace to look for (the POST failed)"; return; }
  request GET "/api/workspaces/$WS_ID" auth
  if [[ "$STATUS" == 200 && "$(json_get name)" == smoke-before-restart ]]; then
    pass "$1: GET /api/workspaces/$WS_ID -> 200, same name"
  else
    fail "$1: GET /api/workspaces/$WS_ID -> $STATUS (want 200, name smoke-before-restart): $(short)"
  fi
}

if [[ "${SMOKE_RESTART:-}" == 1 ]]; then
  start_server
  wait_ready
  pass "restart: GET /ready -> 200 after ${READY_MS} ms"
  say "time to first 200 on restart: ${READY_MS} ms"
  expect_workspace "after a restart"
  request POST /api/workspaces auth '{"name":"smoke-before-kill"}'
  if [[ "$STATUS" == 201 || "$STATUS" == 200 ]]; then pass "POST /api/workspaces (then kill -9) -> $STATUS"; else fail "POST /api/workspaces -> $STATUS: $(short)"; fi
  kill -KILL -- "-$SERVER_PID" 2>/dev/null || kill -KILL "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
  start_server
  wait_ready
  pass "after kill -9: GET /ready -> 200 after ${READY_MS} ms"
  expect_workspace "after kill -9"
  request GET /api/workspaces auth
  if [[ "$STATUS" == 200 && "$BODY" == *smoke-before-kill* ]]; then
    pass "after kill -9: the write acknowledged just before it is there"
  else
    fail "after kill -9: GET /api/workspaces -> $STATUS without smoke-before-kill: $(short)"
  fi
  stop_graceful
fi

if [[ -n "$(ls -A "$DATA_DIR" 2>/dev/null)" ]]; then
  pass "data dir holds the embedded database ($(du -sh "$DATA_DIR" 2>/dev/null | cut -f1))"
else
  fail "data dir $DATA_DIR is empty after a write"
fi

(( failed == 0 )) || show_log
summary
(( failed == 0 ))
