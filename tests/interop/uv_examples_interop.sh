#!/usr/bin/env bash
# uv_examples_interop.sh PING SIMPLE_GET GET_SEPARATE_RESPONSE ADDRESS [lossy]
#
# Runs the libuv examples (zcoap_uv_client) against libcoap's coap-server-notls on ADDRESS
# (127.0.0.1 or ::1) and a free port (scripts/with-coap-server):
#   ping                    -> the server's RST to our Empty CON: OUT_PONG, exit 0
#   simple_get /time        -> two CON GETs, each answered 2.05 piggybacked with a clock time
#   simple_get /missing     -> 4.04, exit 1
#   get_separate_response /async?1
#                           -> an Empty ACK, then a separate CON 2.05 "done" about 1 s later,
#                              which the client acknowledges (RFC 7252 §5.2.2): 2 datagrams out
# With "lossy", the server runs with libcoap's loss switch (-l 25%, see lossy_coap_server.sh) and
# the point is to show that retransmission (§4.2) gets the exchanges through a lossy foreign
# stack. Exit 77 (skipped) when ADDRESS is ::1 and there is no IPv6 loopback.
#
# Why the lossy checks look the way they do. libcoap drops only what the server sends; our
# requests always arrive. The examples use the RFC's default timing (ACK_TIMEOUT 2 s, factor 1.5,
# MAX_RETRANSMIT 4), so one exchange fails only when the server's answer is lost five times in a
# row: 0.25^5, about 1 in 1000 (the separate response is a CON that libcoap itself retransmits
# four times, with the same odds). That is too often for a single-shot CI check, and shrinking
# ACK_TIMEOUT would not change the odds, only the time. So every example runs several times and
# most runs must succeed: for ping and get_separate_response 2 of 3 runs (the check fails with
# probability about 3e-6); simple_get runs until one of its runs has needed a retransmission and
# at least 3 runs are done (at most 20), and at most one run may fail. Without a retransmission
# the test would not prove anything, and 40 answers all getting through has odds 0.75^40, about
# 1e-5. A run that fails takes MAX_TRANSMIT_WAIT (93 s) at worst; each run is bounded by timeout.
set -euo pipefail

if [[ $# -lt 4 || $# -gt 5 || ($# -eq 5 && $5 != lossy) ]]; then
    echo "usage: $0 PING SIMPLE_GET GET_SEPARATE_RESPONSE ADDRESS [lossy]" >&2
    exit 2
fi
export PING=$1 SIMPLE_GET=$2 GET_SEPARATE=$3 ADDRESS=$4 LOSSY=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
with_server=${WITH_COAP_SERVER:-$here/../../scripts/with-coap-server}
if [[ -n $LOSSY ]]; then
    export COAP_SERVER_BIN=${COAP_SERVER:-coap-server-notls}
    export COAP_SERVER=$here/lossy_coap_server.sh
fi

# shellcheck disable=SC2016 # the inner shell expands these
exec "$with_server" "$ADDRESS" bash -c '
set -euo pipefail
host=$ADDRESS
[[ $host == *:* ]] && host="[$host]"
base="coap://$host:$COAP_PORT"
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run NAME PROGRAM URI: run an example (bounded by MAX_TRANSMIT_WAIT and a margin), print its
# output; leaves the exit code in $rc and the output in $out.
run() {
    local name=$1 program=$2 uri=$3
    rc=0
    out=$(timeout 100 "$program" "$uri" 2>&1) || rc=$?
    printf "%s\n" "--- $name $uri (exit $rc)" "$out"
}

# matches TEXT PATTERN...: true when every extended regex matches somewhere in TEXT.
matches() {
    local text=$1
    shift
    for pattern in "$@"; do
        grep -Eq -- "$pattern" <<<"$text" || return 1
    done
}

# check NAME PROGRAM PATH EXPECTED_EXIT PATTERN...: one run that must succeed as described.
check() {
    local name=$1 program=$2 path=$3 want_rc=$4
    shift 4
    run "$name" "$program" "$base$path"
    [[ $rc -eq $want_rc ]] || fail "$name $path: exit code $rc, expected $want_rc"
    for pattern in "$@"; do
        grep -Eq -- "$pattern" <<<"$out" || fail "$name $path: output lacks /$pattern/"
    done
}

# most NAME PROGRAM PATH PATTERN...: 3 runs, at least 2 exit 0 with every pattern matching.
most() {
    local name=$1 program=$2 path=$3 good=0
    shift 3
    for _run in 1 2 3; do
        run "$name" "$program" "$base$path"
        if [[ $rc -eq 0 ]] && matches "$out" "$@"; then
            good=$((good + 1))
        fi
    done
    echo "--- $name ${path:-/}: $good of 3 runs succeeded"
    [[ $good -ge 2 ]] || fail "$name ${path:-/}: only $good of 3 runs succeeded"
}

time_re="[0-9]{2}:[0-9]{2}:[0-9]{2}"
if [[ -z $LOSSY ]]; then
    check ping "$PING" "" 0 "^-> ping \(Empty CON\)$" "\[OUT_PONG\]" "^pong: "
    check simple_get "$SIMPLE_GET" /time 0 "request 2 of 2" "<- v:1 t:ACK c:2\.05 .*$time_re" \
        "stats: 2 request\(s\), 2 datagram\(s\) out \(0 retransmission\(s\)\), 2 in"
    if [[ $(grep -Ec "^response: 2\.05 Content, piggybacked" <<<"$out") -ne 2 ]]; then
        fail "simple_get /time: not two piggybacked 2.05 responses"
    fi
    check simple_get "$SIMPLE_GET" /missing 1 "^response: 4\.04 Not Found"
    check get_separate_response "$GET_SEPARATE" "/async?1" 0 "\[OUT_EMPTY_ACK\]" \
        "<- v:1 t:CON c:2\.05 .*done" "^response: 2\.05 Content, separate" "^done$" \
        "stats: 2 datagram\(s\) out, 2 in"
    ack_line=$(grep -n -m1 "\[OUT_EMPTY_ACK\]" <<<"$out" | cut -d: -f1) || true
    resp_line=$(grep -n -m1 "\[OUT_RESPONSE\]" <<<"$out" | cut -d: -f1) || true
    if [[ -n $ack_line && -n $resp_line && $ack_line -gt $resp_line ]]; then
        fail "get_separate_response: the empty ACK came after the separate response"
    fi
else
    most ping "$PING" "" "\[OUT_PONG\]"
    runs=0 bad=0 retransmitted=0
    while [[ $runs -lt 20 && ($runs -lt 3 || $retransmitted -eq 0) ]]; do
        runs=$((runs + 1))
        run simple_get "$SIMPLE_GET" "$base/time"
        if [[ $rc -ne 0 ]] || ! matches "$out" "request 2 of 2" "c:2\.05 .*$time_re"; then
            bad=$((bad + 1))
        elif grep -Eq "\(([1-9][0-9]*) retransmission\(s\)\)" <<<"$out"; then
            retransmitted=$((retransmitted + 1))
        fi
    done
    echo "--- simple_get /time: $runs run(s), $bad failed, $retransmitted needed retransmissions"
    [[ $bad -le 1 ]] || fail "simple_get /time: $bad of $runs runs failed"
    [[ $retransmitted -gt 0 ]] || fail "simple_get /time: no run needed a retransmission"
    # The Empty ACK may be the datagram lost: then the CON response alone ends the exchange.
    most get_separate_response "$GET_SEPARATE" "/async?1" "<- v:1 t:CON c:2\.05 .*done" \
        "^response: 2\.05 Content, separate"
fi

if [[ $failures -ne 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "libuv examples against coap-server-notls${LOSSY:+ (25% loss)} on $base: all checks passed"
'
