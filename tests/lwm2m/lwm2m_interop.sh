#!/usr/bin/env bash
# lwm2m_interop.sh rd LWM2M_CLIENT
# lwm2m_interop.sh lifecycle LWM2M_CLIENT SCRIPTED_SERVER
#
# examples/lwm2m's lwm2m-client end to end on 127.0.0.1, each process stopped by its PID.
#
# rd: against libcoap's resource directory (coap-rd-notls 4.3.1, Debian libcoap3-bin), with
# lifetime 4 s (the Update is due after 2 s) for 6 s, serving /3/0 on a port of its own (-S):
#   - Register -> 2.01 with Location-Path: the client prints "registered at /rd/ID", the RD's
#     /.well-known/core lists </rd/ID> and GET /rd/ID returns the client's links;
#   - the Update path ran: this RD answers POST /rd/ID with 4.05 (it has no Update), so the
#     client registers again (a newer RD answering 2.04 passes too);
#   - coap-client-notls reads /3/0/0, /3/0/1, /3/0/13, /3/0 and observes /3/0/13 for 3 s: at
#     least 2 notifications besides the registration's answer;
#   - the De-register is sent at the end and the client exits 0 within its bound, whatever the
#     RD does (4.3.1 aborts on DELETE /rd/ID with a double free: recorded, not asserted).
# lifecycle: against scripted_lwm2m_server (this folder), which answers Update 2.04 and
# De-register 2.02, and reads and observes /3/0 over the registration's own 5-tuple:
#   register 2.01, two Updates 2.04 each within the lifetime, De-register 2.02; the server's
#   own checks pass (its exit status).
# Exit 77 (skipped) when libcoap's tools are missing (rd only).
set -euo pipefail

mode=${1:-}
case $mode in
rd) [[ $# -eq 2 ]] || mode="" ;;
lifecycle) [[ $# -eq 3 ]] || mode="" ;;
*) mode="" ;;
esac
if [[ -z $mode ]]; then
    echo "usage: $0 rd LWM2M_CLIENT | $0 lifecycle LWM2M_CLIENT SCRIPTED_SERVER" >&2
    exit 2
fi
client_bin=$2

LIFETIME_S=4
DURATION_S=6
DEREGISTER_WAIT_MS=2000
EXIT_BOUND_S=5 # after -d: the De-register's wait (2 s) plus slack for a loaded machine

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
ok() {
    echo "ok   $*"
}
# check OK_TEXT FAIL_TEXT COMMAND...: ok or fail as COMMAND succeeds.
check() {
    local good=$1 bad=$2
    shift 2
    if "$@"; then ok "$good"; else fail "$bad"; fi
}

# True if some socket is bound to UDP port $1 (ports are hex in /proc/net/udp{,6}).
port_in_use() {
    grep -qs -- "$(printf ':%04X ' "$1")" /proc/net/udp /proc/net/udp6
}
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" || break
    done
    echo "$port"
}

# wait_for FILE REGEX: until a line of FILE matches (5 s at most).
wait_for() {
    for _ in $(seq 100); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# count REGEX FILE: lines of FILE matching.
count() {
    grep -Ec -- "$1" "$2" || true
}

# wait_exit PID SECONDS: wait for PID at most SECONDS; its status in $status (124: still runs).
wait_exit() {
    local pid=$1 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        status=124
        return
    fi
    status=0
    wait "$pid" || status=$?
}

run_rd() {
    if ! command -v coap-rd-notls >/dev/null || ! command -v coap-client-notls >/dev/null; then
        echo "coap-rd-notls or coap-client-notls missing (Debian package libcoap3-bin): skipped"
        exit 77
    fi
    # The RD on a free port; another process may take the port in between: retry.
    local rd_port="" rd_pid=""
    for _attempt in 1 2 3 4 5; do
        rd_port=$(free_port)
        coap-rd-notls -A 127.0.0.1 -p "$rd_port" >"$work/rd.log" 2>&1 &
        rd_pid=$!
        for _ in $(seq 100); do
            port_in_use "$rd_port" && break 2
            kill -0 "$rd_pid" 2>/dev/null || break
            sleep 0.05
        done
        kill "$rd_pid" 2>/dev/null || true
        wait "$rd_pid" 2>/dev/null || true
        rd_pid=""
    done
    [[ -n $rd_pid ]] || {
        echo "could not start coap-rd-notls:"
        cat "$work/rd.log"
        exit 1
    }
    pids+=("$rd_pid")
    local rd="coap://127.0.0.1:$rd_port"

    local out=$work/client.out
    "$client_bin" -s "$rd" -e "zcoap-rd-test-$$" -l "$LIFETIME_S" -d "$DURATION_S" \
        -w "$DEREGISTER_WAIT_MS" -S 127.0.0.1:0 -v >"$out" 2>&1 &
    local client_pid=$!
    pids+=("$client_pid")
    local started=$SECONDS
    wait_for "$out" '^registered at /rd/' || {
        cat "$out"
        fail "no registration within 5 s"
        return
    }
    local location serve_port
    location=$(sed -n 's|^registered at \(/rd/[^ ]*\) (2\.01).*|\1|p' "$out" | head -n 1)
    serve_port=$(sed -n 's/^serving \/3\/0 on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    local id=${location#/rd/}
    if grep -Eq "^<- v:1 t:ACK c:2\.01 .*\[ Location-Path:rd, Location-Path:$id \]" "$out"; then
        ok "registered: 2.01 with Location-Path rd/$id on the wire"
    else
        fail "no 2.01 with Location-Path rd/$id on the wire"
    fi

    # The RD's view of the registration.
    local listing links
    listing=$(timeout 10 coap-client-notls -B 3 "$rd/.well-known/core" 2>&1 || true)
    if grep -qF "<$location>" <<<"$listing"; then
        ok "the RD lists <$location>"
    else
        fail "the RD's /.well-known/core lacks <$location>: $listing"
    fi
    links=$(timeout 10 coap-client-notls -B 3 "$rd$location" 2>&1 || true)
    if [[ $links == "</1/0>,</3/0>" ]]; then
        ok "GET $location: $links"
    else
        fail "GET $location returned '$links', expected '</1/0>,</3/0>'"
    fi

    # The Device object, from a local CoAP client.
    local dev="coap://127.0.0.1:$serve_port" got now
    got=$(timeout 10 coap-client-notls -B 3 "$dev/3/0/0" 2>&1 || true)
    check "GET /3/0/0: $got" "GET /3/0/0 returned '$got'" test "$got" = zcoap
    got=$(timeout 10 coap-client-notls -B 3 "$dev/3/0/1" 2>&1 || true)
    check "GET /3/0/1: $got" "GET /3/0/1 returned '$got'" grep -q LwM2M <<<"$got"
    got=$(timeout 10 coap-client-notls -B 3 "$dev/3/0" 2>&1 || true)
    check "GET /3/0: $got" "GET /3/0 returned '$got'" grep -qF "</3/0/13>" <<<"$got"
    now=$(date +%s)
    got=$(timeout 10 coap-client-notls -B 3 "$dev/3/0/13" 2>&1 || true)
    if [[ $got =~ ^[0-9]+$ ]] && ((got >= now - 5 && got <= now + 5)); then
        ok "GET /3/0/13: $got (now $now)"
    else
        fail "GET /3/0/13 returned '$got', expected about $now"
    fi
    timeout 15 coap-client-notls -v 7 -s 3 "$dev/3/0/13" >"$work/observe.out" 2>&1 || true
    local answers
    answers=$(count "c:2\.05 .*Observe:[0-9]+.* :: '[0-9]+'" "$work/observe.out")
    # The notifications carry later seconds each; the first may repeat the registration's
    # answer (a loaded machine can delay the tick into the second the registration came in).
    local values notifications
    values=$(sed -n "s/.*c:2\.05 .*Observe:[0-9]*.* :: '\([0-9]*\)'$/\1/p" "$work/observe.out")
    notifications=$(tail -n +2 <<<"$values")
    if ((answers < 3)); then
        fail "Observe /3/0/13: $answers answers with Observe, expected at least 3"
        grep 'v:1 ' "$work/observe.out" || true
    elif ! sort -n -C <<<"$values" || ! sort -n -u -C <<<"$notifications"; then
        fail "Observe /3/0/13: the times do not increase: $(tr '\n' ' ' <<<"$values")"
    else
        ok "Observe /3/0/13 for 3 s: the registration's answer and $((answers - 1))" \
            "notifications, times increasing: $(tr '\n' ' ' <<<"$values")"
    fi

    # The end: the De-register, and a prompt exit whatever the RD does.
    wait_exit "$client_pid" $((DURATION_S + EXIT_BOUND_S - (SECONDS - started)))
    echo "--- lwm2m-client output (-v: the registration socket's datagrams)"
    cat "$out"
    echo "---"
    if ((status == 0)); then
        ok "the client exited 0 within ${DURATION_S}+${EXIT_BOUND_S} s"
    else
        fail "the client's exit status is $status (124: still running after the bound)"
    fi
    if (($(count '^update: 2\.04$' "$out") >= 1)); then
        ok "the Update was answered 2.04"
    elif (($(count '^update refused 4\.05 .*: registering again$' "$out") >= 1)) &&
        (($(count '^registered at /rd/' "$out") >= 2)); then
        ok "the Update was answered 4.05 (coap-rd-notls has none) and the client registered again"
    else
        fail "no Update answered 2.04, nor a registration again after a refused one"
    fi
    # The De-register went on the wire, to the last location the client got.
    location=$(sed -n 's|^registered at \(/rd/[^ ]*\) (2\.01).*|\1|p' "$out" | tail -n 1)
    if grep -Eq "^-> v:1 t:CON c:DELETE .*\[ Uri-Path:rd, Uri-Path:${location#/rd/} \]" "$out"; then
        ok "DELETE $location was sent; then: $(grep -E '^deregister' "$out")"
    else
        fail "no DELETE $location on the wire"
    fi

    # What the RD did (not asserted: 4.3.1 aborts on DELETE /rd/ID).
    sleep 0.2
    if kill -0 "$rd_pid" 2>/dev/null; then
        echo "note: coap-rd-notls is still running after the De-register"
    else
        local rd_status=0
        wait "$rd_pid" 2>/dev/null || rd_status=$?
        echo "note: coap-rd-notls ended with status $rd_status after the De-register:" \
            "$(tr '\n' ' ' <"$work/rd.log")"
    fi
}

run_lifecycle() {
    local server_bin=$3
    local server_port client_port
    server_port=$(free_port)
    client_port=$(free_port)
    while [[ $client_port == "$server_port" ]]; do client_port=$(free_port); done
    local log=$work/server.out out=$work/client.out
    "$server_bin" "127.0.0.1:$server_port" "127.0.0.1:$client_port" 15 >"$log" 2>&1 &
    local server_pid=$!
    pids+=("$server_pid")
    wait_for "$log" '^listening on ' || {
        cat "$log"
        fail "the scripted server did not start"
        return
    }
    local client_status=0
    timeout 20 "$client_bin" -s "coap://127.0.0.1:$server_port" -b "127.0.0.1:$client_port" \
        -e lifecycle-test -l "$LIFETIME_S" -d "$DURATION_S" -w "$DEREGISTER_WAIT_MS" >"$out" 2>&1 ||
        client_status=$?
    wait_exit "$server_pid" 5
    echo "--- scripted server"
    cat "$log"
    echo "--- lwm2m-client"
    cat "$out"
    echo "---"
    check "the scripted server's checks passed" "the scripted server exited $status" \
        test "$status" -eq 0
    check "the client exited 0" "the client exited $client_status" test "$client_status" -eq 0
    check "registered at /rd/ep-1 (2.01)" "no 'registered at /rd/ep-1 (2.01)'" \
        grep -q '^registered at /rd/ep-1 (2\.01)' "$out"
    local updates
    updates=$(count '^update: 2\.04$' "$out")
    check "$updates Updates answered 2.04" \
        "$updates Updates answered 2.04, expected 2 or more (after 2 s, 4 s...)" \
        test "$updates" -ge 2
    check "registered once" "registered more than once" \
        test "$(count '^registered at ' "$out")" -eq 1
    check "deregistered: 2.02" "no 'deregistered: 2.02'" grep -q '^deregistered: 2\.02' "$out"
    local answered notified
    answered=$(sed -n 's/^summary: .* \([0-9]*\) request(s) of the server answered.*/\1/p' "$out")
    notified=$(sed -n 's/^summary: .* \([0-9]*\) notification(s)$/\1/p' "$out")
    if ((${answered:-0} >= 4 && ${notified:-0} >= 2)); then
        ok "the client answered $answered requests of the server and sent $notified notifications"
    else
        fail "the client answered ${answered:-no} requests (4 expected: 3 reads and the" \
            "observation) and sent ${notified:-no} notifications (2 or more expected)"
    fi
}

if [[ $mode == rd ]]; then
    run_rd
else
    run_lifecycle "$@"
fi
if ((failures > 0)); then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
