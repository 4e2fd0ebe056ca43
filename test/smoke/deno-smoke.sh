#!/usr/bin/env bash
# Deno smoke test of the real server: `deno task start` (deno.json) on the
# embedded database, checked over HTTP with curl, then stopped with SIGTERM.
#
#   bash test/smoke/deno-smoke.sh
#
# Environment (all optional):
#   DENO                  a deno 2.x binary (default: the one `npx deno@$DENO_VERSION` installs)
#   DENO_VERSION          default 2.9.6
#   SMOKE_ROOT            project directory to run in (default: this repository)
#   SMOKE_DIRECT=1        run `deno run -A src/main.ts serve` instead of `deno task start`
#   SMOKE_READY_TIMEOUT   seconds to wait for GET /ready (default 120)
#   SMOKE_STOP_TIMEOUT    seconds allowed between SIGTERM and exit (default 15)
#   SMOKE_OK_EXIT_CODES   exit statuses accepted after SIGTERM (default "0 130 143":
#                         Effect's NodeRuntime.runMain exits 130 when interrupted by a signal)
#
# Prints `deno smoke: N passed, M failed` last; exits non-zero on any failure.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
ROOT="${SMOKE_ROOT:-$REPO_ROOT}"
DENO_VERSION="${DENO_VERSION:-2.9.6}"
READY_TIMEOUT="${SMOKE_READY_TIMEOUT:-120}"
STOP_TIMEOUT="${SMOKE_STOP_TIMEOUT:-15}"
OK_EXIT_CODES="${SMOKE_OK_EXIT_CODES:-0 130 143}"
ADMIN_TOKEN="smoke-admin-token"

passed=0
failed=0
SERVER_PID=""
WORK="$(mktemp -d "${TMPDIR:-/tmp}/trellis-deno-smoke.XXXXXX")"
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
  say "deno smoke: $passed passed, $failed failed"
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
trap 'say "deno smoke: interrupted"; exit 130' INT TERM

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

if [[ -z "${DENO:-}" ]]; then
  say "resolving deno@$DENO_VERSION through npx"
  DENO="$(cd "$ROOT" && npx --yes "deno@$DENO_VERSION" eval 'console.log(Deno.execPath())' 2>"$WORK/npx.err" | tail -n 1)"
  if [[ -z "$DENO" || ! -x "$DENO" ]]; then
    cat "$WORK/npx.err"
    abort "could not get deno@$DENO_VERSION from npx"
  fi
fi
say "deno: $("$DENO" --version | head -n 1) ($DENO)"

PORT="$(bash "$REPO_ROOT/scripts/ci/free-port.sh")" || abort "no free port"
BASE="http://127.0.0.1:$PORT"

# --- start -------------------------------------------------------------------
if [[ "${SMOKE_DIRECT:-}" == 1 ]]; then
  CMD=("$DENO" run -A src/main.ts serve)
else
  CMD=("$DENO" task start)
fi
SETSID=()
command -v setsid >/dev/null 2>&1 && SETSID=(setsid)

say "starting: ${CMD[*]} (port $PORT, data dir $DATA_DIR, log $LOG)"
started_at=$SECONDS
(
  cd "$ROOT" || exit 1
  exec env -u DATABASE_URL -u TRELLIS_DATABASE_URL -u TRELLIS_TEST_DATABASE_URL \
    DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 NO_COLOR=1 \
    TRELLIS_PORT="$PORT" TRELLIS_HOST=127.0.0.1 TRELLIS_DATA_DIR="$DATA_DIR" \
    TRELLIS_ADMIN_TOKEN="$ADMIN_TOKEN" TRELLIS_PLUGINS=./examples/hello-plugin/mod.ts \
    "${SETSID[@]}" "${CMD[@]}"
) </dev/null >"$LOG" 2>&1 &
SERVER_PID=$!

ready=0
while (( SECONDS - started_at < READY_TIMEOUT )); do
  if ! alive; then
    wait "$SERVER_PID" 2>/dev/null; rc=$?
    SERVER_PID=""
    abort "server exited with status $rc before GET /ready answered 200"
  fi
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/ready" 2>/dev/null)"
  if [[ "$code" == 200 ]]; then ready=1; break; fi
  sleep 0.5
done
(( ready )) || abort "GET /ready did not answer 200 within ${READY_TIMEOUT}s (last status: ${code:-none})"
pass "GET /ready -> 200 after $((SECONDS - started_at))s"

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

request GET /api/hello/greetings noauth
expect_problem "GET /api/hello/greetings without auth" 401

# --- graceful stop -------------------------------------------------------------
if ! alive; then
  SERVER_PID=""
  abort "server died during the checks"
fi
kill -TERM "$SERVER_PID"
stop_at=$SECONDS
while alive && (( SECONDS - stop_at < STOP_TIMEOUT )); do sleep 0.1; done
if alive; then
  fail "server still running ${STOP_TIMEOUT}s after SIGTERM"
  show_log
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

if [[ -n "$(ls -A "$DATA_DIR" 2>/dev/null)" ]]; then
  pass "data dir holds the embedded database ($(du -sh "$DATA_DIR" 2>/dev/null | cut -f1))"
else
  fail "data dir $DATA_DIR is empty after a write"
fi

(( failed == 0 )) || show_log
summary
(( failed == 0 ))
