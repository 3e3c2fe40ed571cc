#!/usr/bin/env bash
# The gateway example (examples/gateway) with 200 simulated devices, checked from outside with
# libcoap's coap-client-notls:
#   - GET /devices lists every device's temp and led (200 simulated + 1 external);
#   - GET /devices/dev-007/temp: 2.05, a number (the device's last notification, relayed);
#   - PUT "on" to /devices/dev-007/led: 2.04 relayed; GET it through the gateway says "on", and
#     so does the device itself, asked on its own port; PUT "blue": the device's 4.00, relayed
#     with its code;
#   - Observe (coap-client -s 4) /devices/dev-007/temp: the registration's 2.05 with Observe and
#     at least 2 notifications, each a number; the gateway counts them relayed;
#   - PUT "on" to a slow device (dev-009, answering after 1.5 s): the gateway's empty ACK first,
#     then its separate CON 2.04, which coap-client acknowledges (RFC 7252 §5.2.2); the device
#     says "on";
#   - an external device at a closed port: /devices/offline/temp answers 5.03 with Max-Age and
#     a diagnostic saying "offline"; a PUT to its led too;
#   - an external device that never answers (coap-server-notls -l 100%: it receives but loses
#     every datagram it sends): marked offline once the registration times out (7-10.5 s),
#     then /devices/silent/temp answers 5.03 "silent offline: no answer";
#   - SIGTERM: the gateway stops, exit status 0, its summary counting the relays.
# The gateway picks its port (-p 0) and prints it; it and the silent server are stopped by their
# PIDs. About 12 s.
#
# Usage: gateway_interop.sh GATEWAY
# Exit 0 when every check passed, 1 when one failed, 77 (skipped) without libcoap3-bin.
set -euo pipefail
gateway_bin=$1
if ! command -v coap-client-notls >/dev/null; then
    echo "coap-client-notls missing (Debian package libcoap3-bin): skipped"
    exit 77
fi

GATEWAY_LIFETIME_S=60 # the gateway stops by itself even if this script dies
CLIENT_TIMEOUT_S=15   # bound on each coap-client run

log=$(mktemp)
got=$(mktemp)
silent_log=$(mktemp)
gateway_pid=""
silent_pid=""
stop_pid() {
    if [[ -n $1 ]]; then
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
trap 'stop_pid "$gateway_pid"; stop_pid "$silent_pid"; rm -f "$log" "$got" "$silent_log"' EXIT

failures=0
fail() {
    echo "FAIL $1"
    shift
    printf '%s\n' "$@" | sed 's/^/     /'
    failures=$((failures + 1))
}
ok() {
    echo "ok   $1"
}
# expect PATTERN TEXT GOOD BAD: ok GOOD when TEXT matches the extended regex PATTERN, else fail
# BAD (showing TEXT).
expect() {
    if grep -Eq -- "$1" <<<"$2"; then
        ok "$3"
    else
        fail "$4" "$2"
    fi
}

# A UDP port nobody listens on, for the offline device (ports are hex in /proc/net/udp{,6}).
port_in_use() {
    grep -qs -- "$(printf ':%04X ' "$1")" /proc/net/udp /proc/net/udp6
}
free_port() {
    local candidate
    for _ in $(seq 20); do
        candidate=$((20000 + RANDOM % 40000))
        if ! port_in_use "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}
closed_port=$(free_port)

# The silent device: libcoap's server losing every datagram it sends. Wait (at most 5 s) until
# it has bound its port; another process may take the port in between: try a few.
silent_port=""
for _ in 1 2 3; do
    candidate=$(free_port)
    timeout "$GATEWAY_LIFETIME_S" coap-server-notls -A 127.0.0.1 -p "$candidate" -l 100% \
        >"$silent_log" 2>&1 &
    silent_pid=$!
    for _ in $(seq 50); do
        port_in_use "$candidate" && break
        kill -0 "$silent_pid" 2>/dev/null || break
        sleep 0.1
    done
    if port_in_use "$candidate" && kill -0 "$silent_pid" 2>/dev/null; then
        silent_port=$candidate
        break
    fi
    stop_pid "$silent_pid"
    silent_pid=""
done
if [[ -z $silent_port ]]; then
    echo "coap-server-notls did not start:"
    cat "$silent_log"
    exit 1
fi

"$gateway_bin" -n 200 -p 0 -d "$GATEWAY_LIFETIME_S" -v --status 1 \
    -e "offline=coap://127.0.0.1:$closed_port" -e "silent=coap://127.0.0.1:$silent_port" \
    >"$log" 2>&1 &
gateway_pid=$!

# Wait (at most 10 s) for its port and for every simulated device to be online.
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/^gateway: listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")
    [[ -n $port ]] && grep -q 'all 200 simulated devices online' "$log" && break
    if ! kill -0 "$gateway_pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [[ -z $port ]] || ! grep -q 'all 200 simulated devices online' "$log"; then
    echo "the gateway did not start:"
    cat "$log"
    exit 1
fi
ok "gateway on port $port, 200 simulated devices online"
gw="coap://127.0.0.1:$port"

# The port a device listens on, from the gateway's -v list.
device_port() {
    sed -n "s|^gateway: device $1 at coap://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p" "$log"
}

# client ARGS...: coap-client -v 7 (one line per message, "v:1 ..."), output to $got.
client() {
    local status=0
    timeout "$CLIENT_TIMEOUT_S" coap-client-notls -v 7 "$@" >"$got" 2>&1 || status=$?
    ((status == 0)) || echo "     (coap-client $* exit status $status)"
}
# The payload of the last 2.xx-5.xx response in $got (coap-client prints it as :: 'TEXT').
last_answer() {
    grep -E 'v:1 t:(ACK|CON|NON) c:[2-5]\.' "$got" | tail -n 1
}

# 1. /devices: 202 temp and 202 led links. It takes 23 blocks (RFC 7959): without -v,
# coap-client prints the body once, reassembled.
timeout "$CLIENT_TIMEOUT_S" coap-client-notls "$gw/devices" >"$got" 2>&1 || true
listing=$(tr ',' '\n' <"$got")
temps=$(grep -c '^</devices/[a-z0-9-]*/temp>;rt="temperature-c";if="sensor";ct=0;obs$' <<<"$listing" || true)
leds=$(grep -c '^</devices/[a-z0-9-]*/led>;rt="light";if="actuator";ct=0$' <<<"$listing" || true)
sims=$(grep -c '^</devices/dev-[0-9]\{3\}/temp>' <<<"$listing" || true)
if ((temps == 202 && leds == 202 && sims == 200)); then
    ok "/devices lists 202 devices (200 simulated, offline, silent): temp observable, led"
else
    fail "/devices: $temps temp, $leds led, $sims simulated temp links" "$(head -c 600 "$got")"
fi

# 2. GET a device's temperature through the gateway.
client "$gw/devices/dev-007/temp"
answer=$(last_answer)
if grep -Eq "c:2\.05 .*Content-Format:text/plain.* :: '[0-9]+\.[0-9]'$" <<<"$answer"; then
    ok "GET /devices/dev-007/temp: ${answer##*:: }"
else
    fail "GET /devices/dev-007/temp" "$answer"
fi

# 3. PUT the led through the gateway, read it back there and on the device itself.
client -m put -e on "$gw/devices/dev-007/led"
answer=$(last_answer)
expect "c:2\.04 .* :: 'on'$" "$answer" "PUT on /devices/dev-007/led: 2.04 relayed" \
    "PUT on /devices/dev-007/led"
client "$gw/devices/dev-007/led"
answer=$(last_answer)
expect "c:2\.05 .* :: 'on'$" "$answer" "GET /devices/dev-007/led: on" \
    "GET /devices/dev-007/led after PUT on"
dev7=$(device_port dev-007)
client "coap://127.0.0.1:$dev7/led"
answer=$(last_answer)
expect "c:2\.05 .* :: 'on'$" "$answer" "dev-007 itself (port $dev7) says on" \
    "GET /led on dev-007 itself (port $dev7)"
client -m put -e blue "$gw/devices/dev-007/led"
answer=$(last_answer)
expect "c:4\.00 " "$answer" "PUT blue: the device's 4.00 relayed" \
    "PUT blue to /devices/dev-007/led: expected the device's 4.00"

# 4. Observe through the gateway: the registration's answer and >= 2 notifications.
client -s 4 "$gw/devices/dev-007/temp"
observed=$(grep -E "c:2\.05 .*Observe:[0-9]+.* :: '[0-9]+\.[0-9]'$" "$got" || true)
n=$(grep -c . <<<"$observed" || true)
if ((n >= 3)); then
    ok "observe /devices/dev-007/temp for 4 s: $n answers with Observe ($((n - 1)) notifications)"
else
    fail "observe /devices/dev-007/temp: $n answers with Observe, expected 3 or more" \
        "$(grep 'v:1' "$got")"
fi

# 5. A slow device: empty ACK from the gateway, then a separate CON 2.04, acknowledged.
if ! grep -q '^gateway: device dev-009 at .*(slow)' "$log"; then
    fail "dev-009 is not listed as slow" "$(grep '^gateway: device dev-00' "$log")"
fi
client -m put -e on "$gw/devices/dev-009/led"
put_mid=$(sed -n 's/.*v:1 t:CON c:PUT i:\([0-9a-f]*\) .*/\1/p' "$got" | head -n 1)
sep_mid=$(sed -n "s/.*v:1 t:CON c:2\.04 i:\([0-9a-f]*\) .* :: 'on'$/\1/p" "$got" | head -n 1)
if [[ -n $put_mid ]] && grep -Eq "v:1 t:ACK c:0\.00 i:$put_mid \{\}" "$got" && [[ -n $sep_mid ]] &&
    grep -Eq "v:1 t:ACK c:0\.00 i:$sep_mid \{\}" "$got"; then
    ok "PUT on /devices/dev-009/led (slow): empty ACK, then separate CON 2.04, acknowledged"
else
    fail "PUT on a slow device: expected an empty ACK and a separate CON 2.04" "$(grep 'v:1' "$got")"
fi
dev9=$(device_port dev-009)
client "coap://127.0.0.1:$dev9/led"
answer=$(last_answer)
expect "c:2\.05 .* :: 'on'$" "$answer" "dev-009 itself says on" \
    "GET /led on dev-009 itself"

# 6. The external device at a closed port is offline: 5.03, Max-Age, a diagnostic.
client "$gw/devices/offline/temp"
answer=$(last_answer)
if grep -Eq "c:5\.03 .*Max-Age:[0-9]+.* :: 'offline offline: port unreachable" <<<"$answer"; then
    ok "GET /devices/offline/temp: ${answer#*c:}"
else
    fail "GET /devices/offline/temp: expected 5.03 with Max-Age and a diagnostic" "$answer"
fi
client -m put -e on "$gw/devices/offline/led"
answer=$(last_answer)
expect "c:5\.03 .* :: 'offline offline" "$answer" "PUT to the offline device: 5.03" \
    "PUT /devices/offline/led: expected 5.03"

# 7. The silent device: offline once its registration timed out (at most 10.5 s after start).
for _ in $(seq 150); do
    grep -q '^\[.*\] silent offline: no answer' "$log" && break
    sleep 0.1
done
client "$gw/devices/silent/temp"
answer=$(last_answer)
if grep -Eq "c:5\.03 .*Max-Age:[0-9]+.* :: 'silent offline: no answer" <<<"$answer"; then
    ok "GET /devices/silent/temp: ${answer#*c:}"
else
    fail "GET /devices/silent/temp: expected 5.03, offline, no answer" "$answer" \
        "$(grep '^\[' "$log" | grep -v 'devices [0-9]')"
fi

# 8. SIGTERM: a clean stop and a summary.
status=0
kill -TERM "$gateway_pid"
wait "$gateway_pid" || status=$?
gateway_pid=""
if ((status == 0)); then
    ok "SIGTERM: exit status 0"
else
    fail "gateway exit status $status" "$(tail "$log")"
fi
relayed=$(sed -n 's/^  relayed: *\([0-9]*\) answered (\([0-9]*\) as separate.*/\1 \2/p' "$log")
read -r answered separate <<<"${relayed:-0 0}"
if ((answered >= 4 && separate >= 1)); then
    ok "summary: $answered relayed, $separate as separate responses"
else
    fail "summary: expected 4+ relayed and 1+ separate" "$(sed -n '/summary/,$p' "$log")"
fi
observers=$(sed -n "s/^  notifications: .*, \([0-9]*\) to the gateway's observers$/\1/p" "$log")
if ((${observers:-0} >= 2)); then
    ok "summary: $observers notifications relayed to observers"
else
    fail "summary: expected 2+ notifications to the gateway's observers" \
        "$(sed -n '/summary/,$p' "$log")"
fi

if ((failures > 0)); then
    echo "$failures check(s) failed; the gateway's log:"
    grep -v '^gateway: device ' "$log" | tail -n 40
    exit 1
fi
echo "all checks passed"
