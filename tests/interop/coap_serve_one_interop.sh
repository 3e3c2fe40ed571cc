#!/usr/bin/env bash
# coap_serve_one_interop.sh SERVE_ONE ADDRESS CASE...
#
# Starts the coap_serve_one example on ADDRESS (127.0.0.1 or ::1) and a free port, serving as
# many requests as the CASEs make, and runs libcoap's coap-client-notls against it for each CASE,
# checking what the client got and what the server printed:
#   hello      GET /hello            -> 2.05 "Hello, CoAP!" piggybacked in the ACK
#   echo       POST /echo -e TEXT    -> 2.04 with TEXT
#   slow       GET /slow             -> the endpoint's automatic empty ACK, then the separate
#                                       CON response, acknowledged by the client (RFC 7252 §5.2.2)
#   not_found  GET /nothing          -> 4.04
#   non        GET /hello, NON       -> NON 2.05 "Hello, CoAP!" (§5.2.3)
#   busy       GET /slow, and from a second client GET /hello while /slow is in flight: the
#              server ignores the second client until the first is done, then the second
#              client's retransmission (§4.2) gets its answer
# Each run of coap-client uses a new source port, so several CASEs also check that the server
# moves on to the next peer once the previous one is done. Finally the server must exit by itself
# with status 0 after answering them all. Every wait is bounded. Exit 77 (skipped) when ADDRESS is
# ::1 and there is no IPv6 loopback.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 SERVE_ONE ADDRESS CASE..." >&2
    exit 2
fi
serve_one=$1
address=$2
shift 2
cases=("$@")
client=${COAP_CLIENT:-coap-client-notls}

if ! command -v "$client" >/dev/null; then
    echo "$0: $client not found (Debian package libcoap3-bin)" >&2
    exit 1
fi
if [[ $address == *:* ]] && ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
    echo "$0: SKIP: no IPv6 loopback (::1) on this machine" >&2
    exit 77
fi

workdir=$(mktemp -d)
server_log=$workdir/server.log
: >"$server_log" # exists before the server's redirection opens it: we read it at once
server_pid=""
stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -rf "$workdir"' EXIT
trap 'exit 130' INT TERM

# How many requests a case makes.
case_requests() {
    if [[ $1 == busy ]]; then echo 2; else echo 1; fi
}
requests=0
for name in "${cases[@]}"; do
    requests=$((requests + $(case_requests "$name")))
done

# Port 0: the kernel picks a free port, which the server names on its "listening on" line.
"$serve_one" -A "$address" -p 0 -n "$requests" -s 1500 >"$server_log" 2>&1 &
server_pid=$!
port=""
for _tick in $(seq 100); do # up to 5 s
    port=$(sed -n 's/^coap_serve_one: listening on .*:\([0-9][0-9]*\)$/\1/p' "$server_log")
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
done
if [[ -z $port ]]; then
    echo "FAIL: coap_serve_one did not start; its output:"
    cat "$server_log"
    exit 1
fi
host=$address
[[ $host == *:* ]] && host="[$host]"
base="coap://$host:$port"
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect WHAT TEXT PATTERN...: each extended regex must match somewhere in TEXT.
expect() {
    local what=$1 text=$2
    shift 2
    for pattern in "$@"; do
        grep -Eq -- "$pattern" <<<"$text" || fail "$what lacks /$pattern/"
    done
}

# client ARGS...: run coap-client (bounded: -B for the CoAP wait, timeout for the process) and
# print its output; the output is left in $out.
client() {
    local rc=0
    out=$(timeout 20 "$client" -B 10 "$@" 2>&1) || rc=$?
    printf '%s\n' "--- $client $* (exit $rc)" "$out"
    [[ $rc -eq 0 ]] || fail "$client $*: exit code $rc"
}

case_hello() {
    client "$base/hello"
    expect "client output" "$out" "^Hello, CoAP!$"
}

case_echo() {
    client -m post -e "zcoap-echo-42" "$base/echo"
    expect "client output" "$out" "^zcoap-echo-42$"
}

case_slow() {
    client -v 7 "$base/slow"
    # The empty ACK arrives first, then the separate CON response, which the client ACKs.
    expect "client output" "$out" "t:ACK c:0\.00 i:[0-9a-f]+ \{\} \[ \]" "t:CON c:2\.05" \
        "Sorry, I was slow\."
    local ack_line resp_line
    ack_line=$(grep -En -m1 "t:ACK c:0\.00" <<<"$out" | cut -d: -f1) || true
    resp_line=$(grep -En -m1 "t:CON c:2\.05" <<<"$out" | cut -d: -f1) || true
    if [[ -n $ack_line && -n $resp_line && $ack_line -gt $resp_line ]]; then
        fail "the empty ACK came after the separate response"
    fi
}

case_not_found() {
    client "$base/nothing"
    expect "client output" "$out" "4\.04"
}

case_non() {
    client -N "$base/hello"
    expect "client output" "$out" "^Hello, CoAP!$"
}

case_busy() {
    local slow_out=$workdir/slow.out slow_pid slow_rc=0
    timeout 20 "$client" -B 10 "$base/slow" >"$slow_out" 2>&1 &
    slow_pid=$!
    for _tick in $(seq 100); do # up to 5 s, until the server holds /slow
        grep -q "request GET /slow" "$server_log" && break
        sleep 0.05
    done
    client "$base/hello"
    expect "second client output" "$out" "^Hello, CoAP!$"
    wait "$slow_pid" || slow_rc=$?
    printf '%s\n' "--- $client $base/slow (in the background, exit $slow_rc)" "$(cat "$slow_out")"
    [[ $slow_rc -eq 0 ]] || fail "the first client failed"
    expect "first client output" "$(cat "$slow_out")" "^Sorry, I was slow\.$"
}

# What the server must have printed for each case.
server_patterns() {
    case $1 in
    hello) echo '-> v:1 t:ACK c:2\.05 .*Hello, CoAP!' ;;
    echo) echo '-> v:1 t:ACK c:2\.04 .*zcoap-echo-42' ;;
    slow)
        echo '\[IN_ACK_SENT\]'
        echo '-> v:1 t:ACK c:0\.00'
        echo '\[IN_CON_RESPONSE_SENT\]'
        echo "-> v:1 t:CON c:2\.05 .*Sorry, I was slow\."
        echo '<- v:1 t:ACK c:0\.00'
        ;;
    not_found) echo '-> v:1 t:ACK c:4\.04' ;;
    non)
        echo '<- v:1 t:NON c:GET'
        echo '-> v:1 t:NON c:2\.05 .*Hello, CoAP!'
        ;;
    busy)
        echo '^   ignored [0-9]+ bytes from .*: busy with another peer$'
        echo "-> v:1 t:CON c:2\.05 .*Sorry, I was slow\."
        echo '-> v:1 t:ACK c:2\.05 .*Hello, CoAP!'
        ;;
    esac
}

for name in "${cases[@]}"; do
    if ! declare -F "case_$name" >/dev/null; then
        echo "$0: unknown case $name" >&2
        exit 2
    fi
    "case_$name"
done

# The server exits by itself once it has answered every request and the exchanges are over.
status=""
for _tick in $(seq 100); do # up to 5 s
    if ! kill -0 "$server_pid" 2>/dev/null; then
        status=0
        wait "$server_pid" || status=$?
        server_pid=""
        break
    fi
    sleep 0.05
done
echo "--- coap_serve_one output"
cat "$server_log"
if [[ -z $status ]]; then
    fail "coap_serve_one did not exit after $requests request(s)"
elif [[ $status -ne 0 ]]; then
    fail "coap_serve_one exited with status $status"
fi
server_out=$(cat "$server_log")
expect "server output" "$server_out" "^coap_serve_one: $requests request\(s\) answered, exiting$"
for name in "${cases[@]}"; do
    mapfile -t patterns < <(server_patterns "$name")
    expect "server output ($name)" "$server_out" "${patterns[@]}"
done
if [[ " ${cases[*]} " != *" busy "* ]] && grep -q "ignored" <<<"$server_out"; then
    fail "the server ignored a datagram (peers follow one another here)"
fi

if [[ $failures -ne 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "interop coap-client-notls -> coap_serve_one on $base (${cases[*]}): all checks passed"
