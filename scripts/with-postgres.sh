#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster.
#
#   scripts/with-postgres.sh CMD...        e.g. scripts/with-postgres.sh .venv/bin/pytest
#
# 1. Installs Debian's `postgresql` package if no initdb is found (needs root or sudo).
# 2. Creates a cluster in a fresh temp directory (as the `postgres` user when run as root:
#    initdb refuses to run as root) with fsync off, listening only on 127.0.0.1 on a free port,
#    its socket inside the temp directory.
# 3. Creates a role (LOGIN CREATEDB: Django's test runner creates test_<db> itself) and a
#    database, exports KESU_DATABASE_URL and runs CMD.
# 4. Always stops the cluster and deletes the temp directory; exits with CMD's exit code.
#
# Quiet unless something fails; then the relevant log goes to stderr.
set -euo pipefail

LIB_NAME=with-postgres
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_USER=kesu
PG_DB=kesu

pg_ctl_bin=""
run_pg=()  # prefix that runs a server-side command as the cluster's owner
started=0

# shellcheck disable=SC2317  # called by lib_cleanup
stop_server() {
    if [[ $started -eq 1 ]]; then
        # The data is thrown away, so an immediate shutdown is fine and fast.
        (cd "$tmp" && "${run_pg[@]}" "$pg_ctl_bin" -D "$tmp/data" -m immediate -w stop) \
            >/dev/null 2>&1 || log "warning: could not stop the cluster in $tmp"
        started=0
    fi
}

find_bindir() {  # the newest /usr/lib/postgresql/*/bin holding initdb, or nothing
    local candidate newest=""
    for candidate in /usr/lib/postgresql/*/bin/initdb; do
        [[ -x "$candidate" ]] && newest=$(printf '%s\n%s\n' "$newest" "$candidate" | sort -V | tail -n 1)
    done
    if [[ -n "$newest" ]]; then
        dirname "$newest"
    fi
}

lib_start kesu-pg "$@"

bindir=$(find_bindir)
if [[ -z "$bindir" ]]; then
    apt_install postgresql
    bindir=$(find_bindir)
    if [[ -z "$bindir" ]]; then
        log "postgresql is installed but no initdb under /usr/lib/postgresql/*/bin"
        exit 1
    fi
fi
pg_ctl_bin="$bindir/pg_ctl"

if [[ $EUID -eq 0 ]]; then
    if ! id -u postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            postgres
    fi
    chown postgres: "$tmp"
    run_pg=(runuser -u postgres --)
else
    run_pg=(env)
fi

# Only the owner can reach the socket directory, so local connections may use trust; TCP
# connections need the role's password.
locale=C.UTF-8
if ! locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
    locale=C
fi
if ! (cd "$tmp" && "${run_pg[@]}" "$bindir/initdb" -D "$tmp/data" -E UTF8 --locale="$locale" \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync) >"$tmp/initdb.log" 2>&1; then
    log "initdb failed:"
    dump "$tmp/initdb.log"
    exit 1
fi
"${run_pg[@]}" mkdir "$tmp/sock"

# Another process may take the port between asking and listening: try a few times.
for _ in 1 2 3; do
    port=$(free_port)
    if (cd "$tmp" && "${run_pg[@]}" "$pg_ctl_bin" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp/sock -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off" start) \
            >"$tmp/pg_ctl.log" 2>&1; then
        started=1
        break
    fi
    # pg_ctl may have given up waiting on a server that is still starting: make sure it is gone.
    (cd "$tmp" && "${run_pg[@]}" "$pg_ctl_bin" -D "$tmp/data" -m immediate -w stop) \
        >/dev/null 2>&1 || true
done
if [[ $started -ne 1 ]]; then
    log "could not start PostgreSQL:"
    dump "$tmp/pg_ctl.log"
    dump "$tmp/server.log"
    exit 1
fi

password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
psql=("${run_pg[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp/sock" -p "$port" -d postgres)
if ! (cd "$tmp" && "${psql[@]}" \
        -c "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$password'" \
        -c "CREATE DATABASE $PG_DB OWNER $PG_USER ENCODING 'UTF8' TEMPLATE template0") \
        >"$tmp/psql.log" 2>&1; then
    log "creating the role and database failed:"
    dump "$tmp/psql.log"
    exit 1
fi

export KESU_DATABASE_URL="postgres://$PG_USER:$password@127.0.0.1:$port/$PG_DB"

# shellcheck disable=SC2317  # called by lib_run
after_run() {  # after_run RC: on failure, what the server logged
    if [[ $1 -ne 0 && -s "$tmp/server.log" ]] && grep -qE 'FATAL|PANIC' "$tmp/server.log"; then
        log "the server logged errors:"
        grep -E 'FATAL|PANIC' "$tmp/server.log" | tail -n 20 | sed 's/^/    /' >&2
    fi
}

lib_run "$@"
