#!/usr/bin/env bash
# coap_get_interop.sh COAP_GET ADDRESS
#
# Runs the coap_get example (the endpoint's outgoing path) against libcoap's coap-server-notls on
# ADDRESS (127.0.0.1 or ::1): GET / must answer 2.05 with libcoap's banner piggybacked, GET /time
# 2.05 with a clock time, GET /time as NON a NON 2.05, GET /async?1 an empty ACK and then a
# separate CON 2.05 "done" that coap_get acknowledges (RFC 7252 §5.2.2), GET /missing 4.04 and
# exit code 1. Exit 77 (skipped) when ADDRESS is ::1 and there is no IPv6 loopback.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 COAP_GET ADDRESS" >&2
    exit 2
fi
export COAP_GET=$1
export ADDRESS=$2
with_server=${WITH_COAP_SERVER:-$(dirname "$0")/../../scripts/with-coap-server}

# shellcheck disable=SC2016 # the inner shell expands these
exec "$with_server" "$ADDRESS" bash -c '
set -euo pipefail
host=$ADDRESS
[[ $host == *:* ]] && host="[$host]"
base="coap://$host:$COAP_PORT"
failures=0

# check [-N] PATH EXPECTED_EXIT PATTERN... : run coap_get on $base$PATH (bounded), check its exit
# code and that every extended regex matches its output.
check() {
    local opts=()
    if [[ $1 == -N ]]; then
        opts=(-N)
        shift
    fi
    local path=$1 want_rc=$2
    shift 2
    local out rc=0
    out=$(timeout 30 "$COAP_GET" "$base$path" "${opts[@]}" 2>&1) || rc=$?
    printf "%s\n" "--- coap_get $base$path${opts[*]:+ ${opts[*]}} (exit $rc)" "$out"
    if [[ $rc -ne $want_rc ]]; then
        echo "FAIL: $path: exit code $rc, expected $want_rc"
        failures=$((failures + 1))
    fi
    for pattern in "$@"; do
        if ! grep -Eq -- "$pattern" <<<"$out"; then
            echo "FAIL: $path: output lacks /$pattern/"
            failures=$((failures + 1))
        fi
    done
}

check / 0 "<- v:1 t:ACK c:2\.05" "libcoap" "\[OUT_RESPONSE\]" "^response: 2\.05 Content"
check /time 0 "c:2\.05" "[0-9]{2}:[0-9]{2}:[0-9]{2}"
check -N /time 0 "-> v:1 t:NON c:GET" "<- v:1 t:NON c:2\.05" "[0-9]{2}:[0-9]{2}:[0-9]{2}"
check "/async?1" 0 "<- v:1 t:ACK c:0\.00" "\[OUT_EMPTY_ACK\]" "<- v:1 t:CON c:2\.05 .*done" \
    "-> v:1 t:ACK c:0\.00" "^done$"
check /missing 1 "c:4\.04" "^response: 4\.04 Not Found"

if [[ $failures -ne 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "interop against coap-server-notls on $base: all checks passed"
'
