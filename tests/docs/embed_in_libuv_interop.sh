#!/usr/bin/env bash
# The README's embed example (examples/embed_in_libuv.c) as a daemon would run it: started on a
# free port, queried with libcoap's coap-client-notls (GET /hello answered by its handler, an
# unknown path 4.04, /.well-known/core listing /hello), then stopped with SIGINT (Ctrl-C), which
# must close the server and the daemon's own signal handle so that uv_run() returns and the
# loop closes cleanly: exit status 0.
#
# Usage: embed_in_libuv_interop.sh EMBED_IN_LIBUV
# Exit 0 when every check passed, 1 when one failed, 77 (skipped) without libcoap3-bin.
set -euo pipefail
example_bin=$1
if ! command -v coap-client-notls >/dev/null; then
    echo "coap-client-notls missing (Debian package libcoap3-bin): skipped"
    exit 77
fi

log=$(mktemp)
pid=""
cleanup() {
    if [[ -n $pid ]]; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$log"
}
trap cleanup EXIT

# True if some socket is bound to UDP port $1 (ports are hex in /proc/net/udp).
port_in_use() {
    grep -qs -- "$(printf ':%04X ' "$1")" /proc/net/udp
}

# Start the example on a random free port; another process may take the port in between (the
# example then exits 1 at once), so retry a few times. Wait (at most 5 s) until it is bound.
port=""
for _attempt in 1 2 3 4 5; do
    candidate=$((20000 + RANDOM % 40000))
    port_in_use "$candidate" && continue
    "$example_bin" "$candidate" >"$log" 2>&1 &
    pid=$!
    for _tick in $(seq 50); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || true
            pid=""
            break
        fi
        if port_in_use "$candidate"; then
            port=$candidate
            break 2
        fi
        sleep 0.1
    done
done
if [[ -z $port ]]; then
    echo "embed_in_libuv did not start:"
    cat "$log"
    exit 1
fi
base="coap://127.0.0.1:$port"

failures=0
# expect NAME EXPECTED_OUTPUT URI: coap-client's stdout and stderr together must be EXPECTED.
expect() {
    local name=$1 expected=$2 uri=$3 got
    got=$(timeout 20 coap-client-notls -B 5 "$uri" 2>&1) || true
    if [[ $got == "$expected" ]]; then
        echo "ok   $name"
    else
        echo "FAIL $name: expected '$expected', got '$got'"
        failures=$((failures + 1))
    fi
}
expect "GET /hello" "Hello from the daemon" "$base/hello"
expect "GET /nope" "4.04" "$base/nope"
expect "GET /.well-known/core" "</hello>" "$base/.well-known/core"

# Ctrl-C: the daemon's signal handler closes everything; the loop must end by itself.
kill -INT "$pid"
status=0
if ! timeout 10 tail --pid="$pid" -f /dev/null; then
    echo "FAIL: still running 10 s after SIGINT"
    exit 1
fi
wait "$pid" || status=$?
pid=""
if [[ $status -ne 0 ]]; then
    echo "FAIL exit status $status after SIGINT (uv_loop_close found handles still open?)"
    failures=$((failures + 1))
else
    echo "ok   SIGINT: exit status 0"
fi
if ! grep -q "^coap://127.0.0.1:$port/hello, Ctrl-C to stop$" "$log"; then
    echo "FAIL the example did not print its URI:"
    cat "$log"
    failures=$((failures + 1))
fi
[[ $failures -eq 0 ]]
