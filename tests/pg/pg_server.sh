#!/bin/sh
# tests/pg/pg_server.sh: a throwaway PostgreSQL server for the tests.
#
#   pg_server.sh start DIR [CONNINFO_FILE]
#   pg_server.sh stop DIR
#
# start: stops and removes what an earlier start left in DIR, then creates a
# fresh cluster in DIR/data (trust authentication, superuser postgres),
# listening only on a unix socket in DIR/sock (port 5432 names the socket
# file; no TCP port is taken), creates the database rollsafe_test and the
# role rs_pw, the only one that must give a password (rs-pw-secret), and
# writes the conninfo of user postgres to DIR/conninfo, and to CONNINFO_FILE
# when given.
# stop: a fast shutdown, then removes DIR. Both are safe to call when
# nothing runs. DIR must be an absolute path the postgres user can reach
# (e.g. /tmp/rollsafe-pg-XXXX): PostgreSQL refuses to run as root, so as
# root the server runs as postgres (runuser) and DIR is handed to it.
#
# PG_BIN overrides where the server binaries are
# (default /usr/lib/postgresql/15/bin).
set -eu

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=5432
# The password of the one role that needs one (tests of password sources).
PW_ROLE_PASSWORD=rs-pw-secret
MARKER=.rollsafe-pg-server

die() {
  echo "pg_server.sh: $*" >&2
  exit 1
}

usage() {
  die "usage: pg_server.sh start DIR [CONNINFO_FILE] | stop DIR"
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
conninfo_file=${3:-}
case $dir in
/*) ;;
*) die "DIR must be an absolute path: $dir" ;;
esac
dir=${dir%/}
[ -n "$dir" ] || die "refusing DIR /"

# As root, every server command runs as postgres.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user"
  as_server() { runuser -u postgres -- "$@"; }
  as_root=1
else
  as_server() { "$@"; }
  as_root=0
fi

stop() {
  [ -e "$dir" ] || return 0
  # Only a directory this script made is removed.
  [ -f "$dir/$MARKER" ] || die "$dir was not made by pg_server.sh; not touching it"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_server "$PG_BIN/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

start() {
  for tool in initdb pg_ctl postgres psql; do
    [ -x "$PG_BIN/$tool" ] || die "PostgreSQL is not installed: no $PG_BIN/$tool"
  done
  stop
  mkdir -p "$dir"
  touch "$dir/$MARKER"
  chmod 700 "$dir"
  mkdir "$dir/sock"
  if [ "$as_root" = 1 ]; then
    chown -R postgres "$dir"
    as_server test -w "$dir" ||
      die "user postgres cannot reach $dir: use a directory under /tmp"
  fi
  as_server "$PG_BIN/initdb" -D "$dir/data" --auth=trust -U postgres \
    -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # Trust for everyone but rs_pw, whose password the tests must give.
  { printf 'local all rs_pw scram-sha-256\n'; cat "$dir/data/pg_hba.conf"; } \
    >"$dir/pg_hba.conf.new"
  cat "$dir/pg_hba.conf.new" >"$dir/data/pg_hba.conf"
  rm -f "$dir/pg_hba.conf.new"
  # Only the socket; fsync off: the data is thrown away afterwards.
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir/sock'
port = $PORT
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  as_server "$PG_BIN/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w \
    -t 60 >/dev/null 2>&1 ||
    { tail -n 20 "$dir/server.log" >&2 2>/dev/null; die "the server did not start"; }
  as_server "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$PORT" \
    -U postgres -d postgres -c "CREATE DATABASE rollsafe_test" \
    -c "CREATE ROLE rs_pw LOGIN PASSWORD '$PW_ROLE_PASSWORD'" ||
    die "cannot create the database rollsafe_test and the role rs_pw"
  conninfo="host=$dir/sock port=$PORT dbname=rollsafe_test user=postgres"
  printf '%s\n' "$conninfo" >"$dir/conninfo"
  if [ -n "$conninfo_file" ]; then
    printf '%s\n' "$conninfo" >"$conninfo_file"
  fi
  echo "pg_server.sh: $conninfo"
}

case $cmd in
start) start ;;
stop)
  stop
  [ $# -lt 3 ] || rm -f "$3"
  ;;
*) usage ;;
esac
