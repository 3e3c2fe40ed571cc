#!/usr/bin/env bash
# coap-client-notls (libcoap) observes /obs of the zcoap-server example (RFC 7641).
#
# zcoap-server's /obs counts up once a second and notifies its observers, NON but every 5th
# notification CON. coap-client -v 7 prints each message it receives on one line, e.g.
#     v:1 t:NON c:2.05 i:2fa9 {01} [ Observe:1, Content-Format:text/plain ] :: '1'
# Two observations, one after the other, against one server:
#   1. `-s 5`: the registration's answer and at least 3 notifications arrive, with strictly
#      increasing Observe numbers and counter values; when its 5 s are over, coap-client cancels
#      (GET with Observe 1) and the server's observer count, printed by its -v log, goes back
#      to 0.
#   2. `-s 8`: long enough for the 5th notification, which is CON: coap-client acknowledges it
#      (an Empty ACK with its message ID) and the observation goes on; cancelled again at the end.
# The server's summary then counts 2 registrations, 2 cancelled, none timed out, none left.
#
# Usage: observe_server_interop.sh ZCOAP_SERVER ADDRESS   (ADDRESS 127.0.0.1 or ::1)
# Exit 0 when every check passed, 1 when one failed, 77 (skipped) without libcoap3-bin or ::1.
set -euo pipefail
server_bin=$1
address=$2
if [[ $address == *:* ]] && ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
    echo "no ::1 on this machine: skipped"
    exit 77
fi
if ! command -v coap-client-notls >/dev/null; then
    echo "coap-client-notls missing (Debian package libcoap3-bin): skipped"
    exit 77
fi

SERVER_LIFETIME_S=60 # the server stops by itself even if this script dies
CLIENT_SLACK_S=15    # how much longer than its -s a coap-client run may take

log=$(mktemp)
got=$(mktemp)
server_pid=""
stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -f "$log" "$got"' EXIT

failures=0
fail() {
    echo "FAIL $1"
    shift
    printf '%s\n' "$@" | sed 's/^/     /'
    failures=$((failures + 1))
}

host=$address
[[ $address == *:* ]] && host="[$address]"

# The server, on a port the kernel picks; wait (at most 5 s) for it to print that port.
"$server_bin" -A "$address" -p 0 -t "$SERVER_LIFETIME_S" -v >"$log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 50); do
    port=$(sed -n 's/^zcoap-server: listening on .*:\([0-9][0-9]*\)$/\1/p' "$log")
    [[ -n $port ]] && break
    sleep 0.1
done
if [[ -z $port ]]; then
    echo "server did not start:"
    cat "$log"
    exit 1
fi
uri="coap://$host:$port/obs"

# The server's last -v line says NUMBER observers; wait for it (at most 5 s).
wait_observers() {
    local want=$1 last=""
    for _ in $(seq 50); do
        last=$(sed -n 's/^zcoap-server: \([0-9][0-9]*\) observers$/\1/p' "$log" | tail -n 1)
        [[ $last == "$want" ]] && return 0
        sleep 0.1
    done
    return 1
}

# observe NAME SECONDS: run coap-client -s SECONDS on /obs; its output goes to $got.
observe() {
    local name=$1 seconds=$2 status=0
    timeout $((seconds + CLIENT_SLACK_S)) coap-client-notls -v 7 -s "$seconds" "$uri" >"$got" 2>&1 ||
        status=$?
    if ((status != 0)); then
        fail "$name: coap-client exit status $status" "$(grep 'v:1 ' "$got" || true)"
        return 1
    fi
}

# check_notifications NAME MIN: at least MIN answers with Observe (the registration's and the
# notifications), each 2.05 text/plain with one token, Observe and value strictly increasing.
check_notifications() {
    local name=$1 min=$2
    local lines
    lines=$(grep -E 'c:2\.05 .*\[ Observe:[0-9]+, Content-Format:text/plain \] :: ' "$got" || true)
    local n
    n=$(grep -c . <<<"$lines" || true)
    if ((n < min)); then
        fail "$name: $n answers with Observe, expected at least $min" "$(grep 'v:1 ' "$got")"
        return
    fi
    local tokens
    tokens=$(sed -n 's/.* {\([0-9a-f]*\)} .*/\1/p' <<<"$lines" | sort -u | wc -l)
    ((tokens == 1)) || fail "$name: $tokens tokens, expected 1" "$lines"
    local prev_seq=-1 prev_value=-1 seq value ok=1
    while read -r seq value; do
        if ((seq <= prev_seq || value <= prev_value)); then
            ok=0
        fi
        prev_seq=$seq
        prev_value=$value
    done < <(sed -n "s/.*Observe:\([0-9]*\),.* :: '\([0-9]*\)'$/\1 \2/p" <<<"$lines")
    if ((ok)); then
        echo "ok   $name: $n answers with Observe, numbers and values increasing"
    else
        fail "$name: Observe numbers or values not strictly increasing" "$lines"
    fi
}

# check_cancelled NAME: coap-client sent GET with Observe 1 and the server's count went to 0.
check_cancelled() {
    local name=$1
    if ! grep -Eq 't:CON c:GET .*\[ Observe:1, ' "$got"; then
        fail "$name: coap-client sent no GET with Observe 1" "$(grep 'v:1 ' "$got")"
    fi
    if wait_observers 0; then
        echo "ok   $name: cancelled, the server has no observer left"
    else
        fail "$name: the server still has observers" "$(cat "$log")"
    fi
}

# 1. -s 5: notifications, then the cancellation.
if observe "observe 5 s" 5; then
    check_notifications "observe 5 s" 4
    check_cancelled "observe 5 s"
fi

# 2. -s 8: the 5th notification is CON, and acknowledged.
if observe "observe 8 s" 8; then
    check_notifications "observe 8 s" 7
    con_mid=$(sed -n 's/.*t:CON c:2\.05 i:\([0-9a-f]*\) .*Observe:.*/\1/p' "$got" | head -n 1)
    if [[ -z $con_mid ]]; then
        fail "observe 8 s: no CON notification" "$(grep 'v:1 ' "$got")"
    elif grep -Eq "t:ACK c:0\.00 i:$con_mid \{\}" "$got"; then
        echo "ok   observe 8 s: CON notification $con_mid acknowledged"
    else
        fail "observe 8 s: CON notification $con_mid not acknowledged" "$(grep 'v:1 ' "$got")"
    fi
    check_cancelled "observe 8 s"
fi

# The server's summary: both registrations cancelled, none timed out, none left.
status=0
kill -TERM "$server_pid"
wait "$server_pid" || status=$?
server_pid=""
((status == 0)) || fail "server exit status $status"
summary=$(grep '^zcoap-server: observe:' "$log" || true)
echo "     server: ${summary#zcoap-server: }"
for want in ' 2 registered' '[1-9][0-9]* CON' ' 2 cancelled' ' 0 reset' ' 0 timed out' \
    '; 0 observers left'; do
    grep -Eq -- "$want" <<<"$summary" || fail "server summary: expected '$want'" "$summary"
done

if ((failures > 0)); then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
