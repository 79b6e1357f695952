#!/usr/bin/env bash
# Run a command with a throwaway Redis server and KESU_REDIS_URL pointing at it.
#
#   scripts/with-redis.sh CMD...        e.g. scripts/with-redis.sh .venv/bin/pytest kesu/comms
#
# 1. Installs Debian's `redis-server` package if no redis-server is found (apt-get update
#    first; needs root or sudo).
# 2. Starts it on a free port on 127.0.0.1 only, with no persistence (no RDB, no AOF), its
#    working directory a fresh temp directory.
# 3. Exports KESU_REDIS_URL=redis://127.0.0.1:PORT/0 and runs CMD.
# 4. Always stops the server and deletes the temp directory; exits with CMD's exit code.
#
# Quiet unless something fails; then the server's log goes to stderr.
set -euo pipefail

LIB_NAME=with-redis
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pid=""

# shellcheck disable=SC2317  # called by lib_cleanup
stop_server() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}

find_server() {
    command -v redis-server 2>/dev/null || { [[ -x /usr/bin/redis-server ]] && echo /usr/bin/redis-server; } || true
}

lib_start kesu-redis "$@"

server=$(find_server)
if [[ -z "$server" ]]; then
    apt_install redis-server
    server=$(find_server)
    if [[ -z "$server" ]]; then
        log "redis-server is installed but not on PATH"
        exit 1
    fi
fi

ping() {  # ping PORT: true once the server answers PONG
    python3 - "$1" <<'PY'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

# Another process may take the port between asking and listening: try a few times.
started=0
for _ in 1 2 3; do
    port=$(free_port)
    # The service the package installs (if any) is left alone; this is a private instance.
    "$server" --bind 127.0.0.1 --port "$port" --dir "$tmp" --save '' --appendonly no \
        --daemonize no --protected-mode yes --logfile "$tmp/redis.log" &
    pid=$!
    for _ in $(seq 100); do
        if ping "$port"; then
            started=1
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    [[ $started -eq 1 ]] && break
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
done
if [[ $started -ne 1 ]]; then
    log "could not start redis-server:"
    dump "$tmp/redis.log"
    exit 1
fi

export KESU_REDIS_URL="redis://127.0.0.1:$port/0"
lib_run "$@"
