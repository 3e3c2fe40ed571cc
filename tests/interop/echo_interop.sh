#!/usr/bin/env bash
# The amplification limit of zcoap-server (RFC 7252 §11.3, RFC 9175 §2.4 item 3; on by default):
# a new address asking for more than 3 times its request gets 4.01 Unauthorized with an Echo
# option first, and a client that repeats the request with that Echo (RFC 9175 §2.3) gets the
# answer and every later block at once.
#
#   libcoap  coap-client-notls GET /large?size=8000: the 4.01 with an 8-byte Echo to the first
#            request, the GET repeated with that Echo, then 8 blocks; the file byte-exact
#            against zcoap-server --print-large 8000. Also /.well-known/core (one message).
#   zcoap    zcoap-client GET /large?size=8000 (its block-wise transfer repeats the request
#            with the Echo, transfer.h): byte-exact; the server's summary counts 9 datagrams
#            each way (8 blocks and the 4.01), so the Echo round trip happened once.
#
# Usage: echo_interop.sh ZCOAP_SERVER ZCOAP_CLIENT ADDRESS   (ADDRESS 127.0.0.1 or ::1)
# Exit 0 when every case passed, 1 when one failed, 77 (skipped) without libcoap3-bin or ::1.
set -euo pipefail
server_bin=$1
client_bin=$2
address=$3
if [[ $address == *:* ]] && ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
    echo "no ::1 on this machine: skipped"
    exit 77
fi
if ! command -v coap-client-notls >/dev/null; then
    echo "coap-client-notls missing (Debian package libcoap3-bin): skipped"
    exit 77
fi

CLIENT_TIMEOUT_S=30  # per client run
SERVER_LIFETIME_S=90 # the server stops by itself even if this script dies
SIZE=8000            # /large?size=8000: 7 blocks of 1024 bytes and one of 832

work=$(mktemp -d)
log=$work/server.log
server_pid=""
stop_server() {
    if [[ -n $server_pid ]]; then
        kill -INT "$server_pid" 2>/dev/null || true # SIGINT: the server prints its summary
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

host=$address
[[ $address == *:* ]] && host="[$address]"

# Start zcoap-server (defaults: the limit on) on ADDRESS and a free port; wait at most 5 s.
start_server() {
    : >"$log"
    "$server_bin" -A "$address" -p 0 -t "$SERVER_LIFETIME_S" >"$log" 2>&1 &
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
    base="coap://$host:$port"
}

failures=0
fail() {
    echo "FAIL $1"
    shift
    printf '%s\n' "$@" | sed 's/^/     /'
    failures=$((failures + 1))
}

expected=$work/expected
"$server_bin" --print-large "$SIZE" >"$expected"

# ---- libcoap's coap-client ----------------------------------------------------------------------
start_server
echo_re='Echo:0x[0-9a-f]{16}'
out=$work/libcoap.out
got=$(timeout "$CLIENT_TIMEOUT_S" coap-client-notls -v 7 -o "$out" "$base/large?size=$SIZE" 2>&1 || true)
missing=()
for re in \
    "t:ACK c:4\.01 i:[0-9a-f]+ \{[0-9a-f]*\} \[ $echo_re \]$" \
    "t:CON c:GET i:[0-9a-f]+ \{[0-9a-f]*\} \[ .*Uri-Query:size=$SIZE, $echo_re \]$" \
    "t:ACK c:2\.05 .*Block2:0/M/1024, Size2:$SIZE \]" \
    "t:ACK c:2\.05 .*Block2:7/_/1024 \]"; do
    grep -Eq -- "$re" <<<"$got" || missing+=("expected: $re")
done
n_401=$(grep -Ec 't:ACK c:4\.01' <<<"$got" || true)
((n_401 == 1)) || missing+=("4.01 answers: $n_401, expected 1 (later blocks go to a verified address)")
cmp -s "$out" "$expected" ||
    missing+=("received data differs from zcoap-server --print-large $SIZE ($(stat -c %s "$out" 2>/dev/null || echo no) bytes)")
if ((${#missing[@]} == 0)); then
    echo "ok   coap-client-notls GET /large?size=$SIZE: 4.01 Echo, repeated with Echo, byte-exact"
else
    fail "coap-client-notls GET /large?size=$SIZE" "${missing[@]}" "got:" \
        "$(grep -E 'v:1 ' <<<"$got" | cut -c1-200 || true)"
fi

got=$(timeout "$CLIENT_TIMEOUT_S" coap-client-notls -v 7 "$base/.well-known/core" 2>&1 || true)
if grep -Eq "t:ACK c:4\.01 .*\[ $echo_re \]$" <<<"$got" &&
    grep -Eq "t:ACK c:2\.05 .*Content-Format:application/link-format \] :: '</hello>" <<<"$got"; then
    echo "ok   coap-client-notls GET /.well-known/core: 4.01 Echo, then the listing"
else
    fail "coap-client-notls GET /.well-known/core" "got:" "$(grep -E 'v:1 ' <<<"$got" || true)"
fi
stop_server

# ---- zcoap-client ---------------------------------------------------------------------------------
start_server
out=$work/zcoap.out
if ! timeout "$CLIENT_TIMEOUT_S" "$client_bin" -o "$out" "$base/large?size=$SIZE" >"$work/client.log" 2>&1; then
    fail "zcoap-client GET /large?size=$SIZE: exit status" "$(cat "$work/client.log")"
elif ! cmp -s "$out" "$expected"; then
    fail "zcoap-client GET /large?size=$SIZE: received data differs" "$(cat "$work/client.log")"
else
    echo "ok   zcoap-client GET /large?size=$SIZE: byte-exact"
fi
stop_server
# 8 blocks, and the first request answered 4.01 then repeated: 9 datagrams each way.
if grep -q '^zcoap-server: 9 datagrams in, 9 out, 1 peers served' "$log"; then
    echo "ok   zcoap-server saw one Echo round trip (9 datagrams each way)"
else
    fail "zcoap-server datagram counts" "$(cat "$log")"
fi

if ((failures > 0)); then
    echo "$failures case(s) failed"
    exit 1
fi
echo "all cases passed"
