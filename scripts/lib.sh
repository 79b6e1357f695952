# shellcheck shell=bash
# Shared by scripts/with-postgres.sh and scripts/with-redis.sh: a throwaway server in a temp
# directory on a free port, always cleaned up. Source it after `set -euo pipefail`:
#
#   LIB_NAME=with-foo                 # prefix of log lines
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   stop_server() { ...; }            # optional: called once on exit, before the temp dir goes
#   lib_start "kesu-foo"              # checks usage ("$@" must be non-empty), traps, $tmp
#   ...start the server...
#   lib_run "$@"                      # runs CMD, exits with its exit code (cleanup runs)

tmp=""

log() { echo "${LIB_NAME:-lib}: $*" >&2; }

dump() {  # dump FILE: show a log after a failure
    if [[ -s "$1" ]]; then
        sed 's/^/    /' "$1" >&2
    fi
}

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

apt_install() {  # apt_install PACKAGE: install a Debian package, or log apt's output and exit 1
    if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
           && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                  "$1"; } >"$tmp/apt.log" 2>&1; then
        log "installing $1 with apt failed:"
        dump "$tmp/apt.log"
        exit 1
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# shellcheck disable=SC2317  # called by the EXIT trap
lib_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if declare -F stop_server >/dev/null; then
        stop_server || true
    fi
    if [[ -n "$tmp" && -d "$tmp" ]]; then
        rm -rf -- "$tmp"
    fi
    exit "$rc"
}

lib_start() {  # lib_start PREFIX "$@": usage check, traps, a fresh temp directory in $tmp
    local prefix=$1
    shift
    if [[ $# -eq 0 ]]; then
        echo "usage: $0 CMD..." >&2
        exit 2
    fi
    trap lib_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # When the caller is killed, our stderr is often a dead pipe (`... | tail`): bash's own
    # "Terminated" notice would then kill this script with SIGPIPE before it cleans up. Ignore
    # SIGPIPE here and give CMD the default back (see `lib_run`).
    trap '' PIPE
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
}

lib_run() {  # lib_run CMD...: run CMD with SIGPIPE at its default; exit with its exit code
    local rc
    set +e
    if env --default-signal=PIPE true 2>/dev/null; then
        env --default-signal=PIPE "$@"
    else
        "$@"
    fi
    rc=$?
    set -e
    if declare -F after_run >/dev/null; then
        after_run "$rc" || true
    fi
    exit "$rc"
}
