#!/usr/bin/env bash
# Start a throwaway PostgreSQL (>= 14) for tests.
#
#   scripts/ci/pg-start.sh [STATE_FILE]
#
# - listens on 127.0.0.1 only, on a free port, trust auth;
# - data directory, socket and log in a fresh temp directory owned by an
#   unprivileged OS user (initdb refuses to run as root);
# - creates the superuser role and database "trellis" (override with
#   PG_TEST_USER / PG_TEST_DB);
# - prints exactly one line on stdout: postgres://USER@127.0.0.1:PORT/DB
#   (everything else goes to stderr);
# - writes what scripts/ci/pg-stop.sh needs into STATE_FILE ($1, else
#   $PG_STATE_FILE, else <tempdir>/state, whose path is printed on stderr).
#
# Installs Debian's `postgresql` package when no server binaries are found.
set -euo pipefail

FREE_PORT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/free-port.sh"

log() { printf 'pg-start: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

STATE_FILE="${1:-${PG_STATE_FILE:-}}"
DB_USER="${PG_TEST_USER:-trellis}"
DB_NAME="${PG_TEST_DB:-trellis}"

# --- server binaries --------------------------------------------------------
find_bindir() {
  local p d
  if p="$(command -v initdb 2>/dev/null)" && command -v pg_ctl >/dev/null 2>&1; then
    # resolve symlinks (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb)
    d="$(dirname "$(readlink -f "$p")")"
    if [[ -x "$d/pg_ctl" && -x "$d/postgres" ]]; then echo "$d"; return 0; fi
    d="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
    if [[ -x "$d/initdb" && -x "$d/postgres" ]]; then echo "$d"; return 0; fi
  fi
  # newest version under /usr/lib/postgresql
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5nr); do
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then echo "$d"; return 0; fi
  done
  return 1
}

if ! BINDIR="$(find_bindir)"; then
  log "no PostgreSQL server binaries found: installing Debian's postgresql package"
  [[ "$(id -u)" == 0 ]] || die "not root: cannot apt-get install postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
  BINDIR="$(find_bindir)" || die "postgresql installed but initdb/pg_ctl still not found"
fi

VERSION_LINE="$("$BINDIR/postgres" --version)"
MAJOR="$(sed -E 's/^[^0-9]*([0-9]+).*/\1/' <<<"$VERSION_LINE")"
[[ "$MAJOR" =~ ^[0-9]+$ && "$MAJOR" -ge 14 ]] || die "need PostgreSQL >= 14, found: $VERSION_LINE"

PSQL=""
for c in "$BINDIR/psql" "$(command -v psql 2>/dev/null || true)"; do
  if [[ -n "$c" && -x "$c" ]]; then PSQL="$c"; break; fi
done

# --- unprivileged OS user ---------------------------------------------------
if [[ "$(id -u)" == 0 ]]; then
  if [[ -n "${PG_OS_USER:-}" ]]; then
    OS_USER="$PG_OS_USER"
  elif id -u postgres >/dev/null 2>&1; then
    OS_USER=postgres
  else
    OS_USER=trellis-pg
  fi
  if ! id -u "$OS_USER" >/dev/null 2>&1; then
    log "creating system user $OS_USER"
    # a concurrent run may have created it in the meantime: check again on failure
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$OS_USER" >&2 \
      || id -u "$OS_USER" >/dev/null 2>&1 || die "could not create user $OS_USER"
  fi
  # runuser lives in /usr/sbin, which a minimal PATH may lack; setpriv as a fallback
  RUNUSER="$(PATH="$PATH:/usr/sbin:/sbin" command -v runuser || true)"
  if [[ -n "$RUNUSER" ]]; then
    as_pg() { "$RUNUSER" -u "$OS_USER" -- "$@"; }
  else
    as_pg() { setpriv --reuid="$OS_USER" --regid="$(id -g "$OS_USER")" --init-groups -- "$@"; }
  fi
else
  OS_USER="$(id -un)"
  as_pg() { "$@"; }
fi

# --- temp directory ---------------------------------------------------------
BASE="$(mktemp -d "${TMPDIR:-/tmp}/trellis-pg.XXXXXX")"
chmod 0755 "$BASE"
PGDATA_DIR="$BASE/data"
LOG_FILE="$BASE/postgres.log"
mkdir -m 0700 "$PGDATA_DIR"
[[ "$(id -u)" == 0 ]] && chown -R "$OS_USER" "$BASE"
[[ -n "$STATE_FILE" ]] || STATE_FILE="$BASE/state"

cleanup_on_error() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    [[ -f "$LOG_FILE" ]] && { log "server log:"; tail -n 40 "$LOG_FILE" >&2 || true; }
    (cd "$BASE" && as_pg "$BINDIR/pg_ctl" -D "$PGDATA_DIR" stop -m immediate >/dev/null 2>&1) || true
    rm -rf "$BASE"
  fi
}
trap cleanup_on_error EXIT

# Run every server command from inside BASE: the OS user may not be able to
# read the caller's working directory.
cd "$BASE"

log "using $VERSION_LINE from $BINDIR as OS user $OS_USER in $BASE"
as_pg "$BINDIR/initdb" -D "$PGDATA_DIR" -U "$DB_USER" --auth=trust -E UTF8 \
  --locale=C --no-sync >"$BASE/initdb.log" 2>&1 \
  || { cat "$BASE/initdb.log" >&2; die "initdb failed"; }

cat >>"$PGDATA_DIR/postgresql.conf" <<CONF

# --- throwaway test server (scripts/ci/pg-start.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$BASE'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF

# --- a free port (retried: another process may take it before postgres binds)

PORT=""
for attempt in 1 2 3 4 5; do
  p="$(bash "$FREE_PORT")" || die "could not find a free port"
  if as_pg "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_FILE" -w -t 60 \
       -o "-p $p" start >/dev/null 2>&1; then
    PORT="$p"; break
  fi
  log "start on port $p failed (attempt $attempt), retrying"
  tail -n 5 "$LOG_FILE" >&2 || true
  as_pg "$BINDIR/pg_ctl" -D "$PGDATA_DIR" stop -m immediate >/dev/null 2>&1 || true
done
[[ -n "$PORT" ]] || die "PostgreSQL did not start"

# --- ready? -----------------------------------------------------------------
ready=0
for _ in $(seq 1 120); do
  if [[ -x "$BINDIR/pg_isready" ]]; then
    "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d postgres && { ready=1; break; }
  elif [[ -n "$PSQL" ]]; then
    "$PSQL" -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d postgres -qAtc 'select 1' >/dev/null 2>&1 && { ready=1; break; }
  else
    ready=1; break  # pg_ctl -w already waited
  fi
  sleep 0.5
done
[[ $ready == 1 ]] || die "server on port $PORT not ready after 60 s"

# --- database ---------------------------------------------------------------
if [[ "$DB_NAME" != postgres ]]; then
  if [[ -n "$PSQL" ]]; then
    "$PSQL" -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d postgres -v ON_ERROR_STOP=1 -qAt \
      -c "CREATE DATABASE \"$DB_NAME\"" >&2
  elif [[ -x "$BINDIR/createdb" ]]; then
    "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U "$DB_USER" "$DB_NAME" >&2
  else
    die "neither psql nor createdb found to create database $DB_NAME"
  fi
fi

# --- state for pg-stop.sh ---------------------------------------------------
PID="$(head -n 1 "$PGDATA_DIR/postmaster.pid")"
{
  printf 'PG_BINDIR=%q\n' "$BINDIR"
  printf 'PG_BASE=%q\n' "$BASE"
  printf 'PG_DATA=%q\n' "$PGDATA_DIR"
  printf 'PG_OS_USER=%q\n' "$OS_USER"
  printf 'PG_PORT=%q\n' "$PORT"
  printf 'PG_PID=%q\n' "$PID"
  printf 'PG_URL=%q\n' "postgres://$DB_USER@127.0.0.1:$PORT/$DB_NAME"
} >"$STATE_FILE"

trap - EXIT
log "PostgreSQL $MAJOR ready on 127.0.0.1:$PORT (pid $PID); stop with: scripts/ci/pg-stop.sh $STATE_FILE"
echo "postgres://$DB_USER@127.0.0.1:$PORT/$DB_NAME"
