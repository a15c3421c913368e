#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: unix socket only, a free port, a temporary directory.
#
#   eval "$(scripts/pg-throwaway.sh start)"   # exports VERTAC_TEST_DATABASE_URL and VERTAC_PG_DIR
#   scripts/pg-throwaway.sh stop "$VERTAC_PG_DIR"
#
# initdb refuses to run as root, so as root the cluster belongs to the postgres user.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg-throwaway: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    local port
    for port in $(seq 54329 54429); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$port" ]; then
            echo "$port"; return 0
        fi
    done
    echo "pg-throwaway: no free port in 54329-54429" >&2
    return 1
}

case "${1:-}" in
start)
    dir=$(mktemp -d /tmp/vertac-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    port=$(free_port)
    as_owner "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses='' -c fsync=off -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bindir/createdb" -h "$dir" -p "$port" -U postgres vertac_test
    echo "export VERTAC_PG_DIR='$dir'"
    echo "export VERTAC_TEST_DATABASE_URL='postgresql://postgres@/vertac_test?host=$dir&port=$port'"
    echo "pg-throwaway: PostgreSQL on $dir port $port" >&2
    ;;
stop)
    dir=${2:?usage: pg-throwaway.sh stop DIR}
    if [ -d "$dir/data" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    case "$dir" in /tmp/vertac-pg.*) rm -rf "$dir" ;; esac
    ;;
*)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
