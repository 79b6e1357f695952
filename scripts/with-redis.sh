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

if [[ $# -eq 0 ]]; then
    echo "usage: $0 CMD..." >&2
    exit 2
fi

tmp=""
pid=""

log() { echo "with-redis: $*" >&2; }

dump() {  # dump FILE: show a log after a failure
    [[ -s "$1" ]] && sed 's/^/    /' "$1" >&2 || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [[ -n "$tmp" && -d "$tmp" ]]; then
        rm -rf -- "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# As in with-postgres.sh: survive a dead stderr pipe long enough to clean up.
trap '' PIPE

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        log "need root (or sudo) to run: $*"
        return 1
    fi
}

find_server() {
    command -v redis-server 2>/dev/null || { [[ -x /usr/bin/redis-server ]] && echo /usr/bin/redis-server; } || true
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kesu-redis.XXXXXX")

server=$(find_server)
if [[ -z "$server" ]]; then
    if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
           && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                  redis-server; } >"$tmp/apt.log" 2>&1; then
        log "installing redis-server with apt failed:"
        dump "$tmp/apt.log"
        exit 1
    fi
    server=$(find_server)
    if [[ -z "$server" ]]; then
        log "redis-server is installed but not on PATH"
        exit 1
    fi
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

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
for attempt in 1 2 3; do
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

run_cmd() {
    if env --default-signal=PIPE true 2>/dev/null; then
        env --default-signal=PIPE "$@"
    else
        "$@"
    fi
}

set +e
run_cmd "$@"
rc=$?
set -e
exit "$rc"
