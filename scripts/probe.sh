#!/usr/bin/env bash
# The security review's abuse probes against a real vertac-serve process: absurd timestamps and
# values, NUL bytes, WebSocket frame limits, token and scope refusals on sockets, a ping flood, a
# review socket that never reads, oversize bodies and headers, tokens in query strings,
# protocol-relative redirects, security headers, file modes, corrupt model files and 1,100
# half-sent requests. Each probe expects a clean 4xx JSON error (or the documented behaviour), a
# live server that still answers /api/health, and unchanged data. (A full disk is tested in
# Swift, not here: see tests/probe/probe.py.)
#
#   scripts/probe.sh                         # builds release when needed, runs every probe
#   scripts/probe.sh --only p4,p6.security_headers
#
# Prints `PASS name` / `FAIL name: reason` per probe and `N passed, M failed`; exits 1 on any
# failure. Details go to stderr. Traffic goes to 127.0.0.1 only.
#
# Environment: PROBE_SKIP_BUILD=1 uses the existing .build/release/vertac-serve as it is;
# PROBE_KEEP=1 keeps the work directory (server log, data); PROBE_SERVER_NOFILE (default 1024) is
# the server's soft fd limit; PROBE_HEADER_TIMEOUT_WAIT (default 40) how long to wait for the
# server to close half-sent requests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=${CI:-true}
# Files the server creates get the usual umask, so that their modes are the server's doing.
umask 022
# 1,100 held connections need more than the usual 1,024 descriptors on our side.
ulimit -n 4096 2> /dev/null || ulimit -n "$(ulimit -Hn)" 2> /dev/null || true
command -v swift > /dev/null || export PATH=/opt/swift/usr/bin:$PATH

if ! command -v python3 > /dev/null; then
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq python3 > /dev/null
fi

bin=.build/release/vertac-serve
if [ "${PROBE_SKIP_BUILD:-0}" != 1 ]; then
    scripts/install-deps.sh
    # Never two SwiftPM builds at once on this machine: wait for any other to finish.
    waited=0
    while command -v pgrep > /dev/null && pgrep -f swift-build > /dev/null; do
        [ $waited = 0 ] && echo "== waiting for another swift build to finish" >&2
        waited=$((waited + 5))
        [ $waited -gt 3600 ] && { echo "another swift build has run for an hour; giving up" >&2; exit 2; }
        sleep 5
    done
    echo "== building (release)" >&2
    log=$(mktemp)
    if ! swift build -c release --static-swift-stdlib > "$log" 2>&1; then
        tail -n 40 "$log" >&2; rm -f "$log"
        echo "release build failed" >&2
        exit 2
    fi
    tail -n 1 "$log" >&2; rm -f "$log"
fi
[ -x "$bin" ] || { echo "no $bin (build failed?)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vertac-probe.XXXXXX")
cleanup() {
    # probe.py stops the server; this is for when it was killed itself.
    if [ -f "$work/server.pid" ]; then
        pid=$(cat "$work/server.pid")
        if kill -0 "$pid" 2> /dev/null; then
            kill -TERM "$pid" 2> /dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2> /dev/null || true
        fi
    fi
    if [ "${PROBE_KEEP:-0}" = 1 ]; then echo "== kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 tests/probe/probe.py --bin "$bin" --model models/pump-default.h5 --work "$work" "$@"
