#!/usr/bin/env bash
# docs/porting.md's example (examples/porting_poll.c, the core driven from a plain poll() loop)
# against libcoap's coap-server-notls on ADDRESS: GET /time answered 2.05 with the time (exit
# 0), GET of an unknown path answered 4.04 (exit 1), GET / answered with libcoap's banner; then
# against a port where nothing listens: the ICMP port unreachable, seen as ECONNREFUSED on the
# connected socket, must end the request at once (exit 2, "port unreachable") rather than after
# MAX_TRANSMIT_WAIT (93 s; the timeout here allows 10).
#
# Usage: porting_poll_interop.sh PORTING_POLL ADDRESS   (ADDRESS 127.0.0.1 or ::1)
# Needs WITH_COAP_SERVER (scripts/with-coap-server). Exit 0 when every case passed, 1 when one
# failed, 77 (skipped) without libcoap3-bin or ::1.
set -euo pipefail
if [[ $1 != --cases ]]; then
    example_bin=$1
    address=$2
    if ! command -v coap-server-notls >/dev/null; then
        echo "coap-server-notls missing (Debian package libcoap3-bin): skipped"
        exit 77
    fi
    if [[ $address == *:* ]] && ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
        echo "no ::1 on this machine: skipped"
        exit 77
    fi
    # Run again with --cases, under a coap-server-notls on a free port ($COAP_PORT).
    exec "$WITH_COAP_SERVER" "$address" "$0" --cases "$example_bin" "$address"
fi
example_bin=$2
address=$3

failures=0
# run NAME EXPECTED_STATUS EXPECTED_FIRST_LINE_REGEX ARGS...
run() {
    local name=$1 want_status=$2 want_line=$3 out status=0
    shift 3
    out=$(timeout 10 "$example_bin" "$@" 2>&1) || status=$?
    if [[ $status -eq $want_status && ${out%%$'\n'*} =~ $want_line ]]; then
        echo "ok   $name"
    else
        echo "FAIL $name: exit $status (expected $want_status), output:"
        echo "$out"
        failures=$((failures + 1))
    fi
}
run "GET /time" 0 '^2\.05 [A-Z][a-z][a-z] [0-9]+ [0-9]{2}:[0-9]{2}:[0-9]{2}$' \
    "$address" "$COAP_PORT" /time
run "GET /nope" 1 '^4\.04' "$address" "$COAP_PORT" /nope
run "GET /" 0 '^2\.05 This is a test server made with libcoap' "$address" "$COAP_PORT"

# A port nobody is bound to (ports are hex in /proc/net/udp{,6}).
closed=""
for _attempt in $(seq 20); do
    candidate=$((20000 + RANDOM % 40000))
    if ! grep -qs -- "$(printf ':%04X ' "$candidate")" /proc/net/udp /proc/net/udp6; then
        closed=$candidate
        break
    fi
done
run "GET to a closed port" 2 '^no response: port unreachable$' "$address" "$closed" /time
run "usage" 3 '^usage: porting_poll' "$address"
[[ $failures -eq 0 ]]
