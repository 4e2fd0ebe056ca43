#!/usr/bin/env bash
# Stop a server started by scripts/ci/pg-start.sh and remove its temp directory.
#
#   scripts/ci/pg-stop.sh STATE_FILE      (or PG_STATE_FILE=... scripts/ci/pg-stop.sh)
#
# Safe to call twice, or with a state file that was never written.
set -uo pipefail

log() { printf 'pg-stop: %s\n' "$*" >&2; }

STATE_FILE="${1:-${PG_STATE_FILE:-}}"
if [[ -z "$STATE_FILE" ]]; then log "usage: pg-stop.sh STATE_FILE"; exit 2; fi
if [[ ! -s "$STATE_FILE" ]]; then log "no state in $STATE_FILE: nothing to stop"; exit 0; fi

PG_BINDIR="" PG_BASE="" PG_DATA="" PG_OS_USER="" PG_PID=""
# shellcheck disable=SC1090
source "$STATE_FILE"

case "$PG_BASE" in
  */trellis-pg.*) ;;
  *) log "refusing to touch unexpected directory '$PG_BASE'"; exit 1 ;;
esac

if [[ "$(id -u)" == 0 && -n "$PG_OS_USER" && "$PG_OS_USER" != root ]]; then
  RUNUSER="$(PATH="$PATH:/usr/sbin:/sbin" command -v runuser || true)"
  if [[ -n "$RUNUSER" ]]; then
    as_pg() { "$RUNUSER" -u "$PG_OS_USER" -- "$@"; }
  else
    as_pg() { setpriv --reuid="$PG_OS_USER" --regid="$(id -g "$PG_OS_USER")" --init-groups -- "$@"; }
  fi
else
  as_pg() { "$@"; }
fi

rc=0
if [[ -f "$PG_DATA/postmaster.pid" ]]; then
  if ! (cd "$PG_BASE" && as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DATA" stop -m fast -w -t 30 >/dev/null 2>&1); then
    log "pg_ctl stop failed; killing pid $PG_PID"
    [[ -n "$PG_PID" ]] && kill -9 "$PG_PID" 2>/dev/null
    sleep 1
    rc=1
  fi
fi
# pg_ctl returns once postmaster.pid is gone, a moment before the process has
# exited: wait for it (a zombie left to an init that does not reap counts as gone).
alive() {
  [[ -n "$PG_PID" && -r "/proc/$PG_PID/stat" ]] || return 1
  local st; st="$(cat "/proc/$PG_PID/stat" 2>/dev/null)" || return 1
  [[ "$st" == *"(postgres)"* ]] || return 1   # pid reused by something else
  st="${st##*) }"; [[ "${st%% *}" != Z ]]
}
for _ in $(seq 1 50); do alive || break; sleep 0.1; done
if alive; then
  log "postmaster $PG_PID still running after stop; killing it"
  kill -9 "$PG_PID" 2>/dev/null; rc=1
fi

rm -rf "$PG_BASE"
case "$STATE_FILE" in "$PG_BASE"/*) ;; *) rm -f "$STATE_FILE" ;; esac
log "stopped (pid $PG_PID) and removed $PG_BASE"
exit $rc
