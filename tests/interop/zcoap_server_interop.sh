#!/usr/bin/env bash
# coap-client-notls (libcoap) against the zcoap-server example (the libuv adapter's server):
# every resource, CON and NON, several methods, separate response, /.well-known/core with a
# filter, 4.04 and 4.05. Usage: zcoap_server_interop.sh ZCOAP_SERVER ADDRESS
set -euo pipefail
server_bin=$1
address=$2
if [[ $address == *:* ]] && ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
    echo "no ::1 on this machine: skipped"
    exit 77
fi
command -v coap-client-notls >/dev/null || { echo "coap-client-notls missing"; exit 1; }

log=$(mktemp)
"$server_bin" -A "$address" -p 0 -t 60 >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 50); do # the server prints its port once bound (at most 5 s)
    port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$log")
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || { echo "server did not start:"; cat "$log"; exit 1; }
host=$address
[[ $address == *:* ]] && host="[$address]"
base="coap://$host:$port"
failures=0

# check NAME EXPECTED-SUBSTRING coap-client-args...
check() {
    local name=$1 want=$2
    shift 2
    local got
    got=$(timeout 20 coap-client-notls "$@" 2>&1 || true)
    if [[ $got == *"$want"* ]]; then
        echo "ok   $name"
    else
        echo "FAIL $name: expected '$want', got:"
        echo "$got" | sed 's/^/     /'
        failures=$((failures + 1))
    fi
}

check "GET /hello (CON)" "Hello World!" "$base/hello"
check "GET /hello (NON)" "Hello World!" -N "$base/hello"
check "GET /hello with a query" "Hello World!" "$base/hello?a=1&b=2"
check "POST /echo" "posted" -m post -e posted "$base/echo"
check "PUT /echo" "put it" -m put -e "put it" "$base/echo"
check "FETCH /echo" "fetched" -m fetch -e fetched "$base/echo"
check "PATCH /echo" "patched" -m patch -e patched "$base/echo"
check "iPATCH /echo" "ipatched" -m ipatch -e ipatched "$base/echo"
check "POST /echo (NON)" "non post" -N -m post -e "non post" "$base/echo"
check "GET /time" "Z" "$base/time"
check "GET /separate (empty ACK, then CON 2.05)" "That took a while." "$base/separate"
check "GET /separate shows the empty ACK" "t:ACK c:0.00" -v 7 "$base/separate"
check "GET /.well-known/core" '</hello>;rt="hello";ct=0;title="Hello World",</echo>' \
    "$base/.well-known/core"
check "GET /.well-known/core?rt=clock" '</time>;rt="clock";ct=0' "$base/.well-known/core?rt=clock"
check "GET /nothing: 4.04" "4.04" "$base/nothing"
check "DELETE /hello: 4.05" "4.05" -m delete "$base/hello"
check "GET /seg/seg/seg: 4.04" "4.04" "$base/a/b/c"

# A pool of one peer: the first client's peer stays for its de-duplication window, so a second
# client (another source port) is answered 5.03 with Max-Age instead of taking its state.
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
"$server_bin" -A "$address" -p 0 -n 1 -t 60 >"$log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 50); do
    port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$log")
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || { echo "server did not start:"; cat "$log"; exit 1; }
base="coap://$host:$port"
check "pool of 1: first client served" "Hello World!" "$base/hello"
check "pool of 1: second client gets 5.03 with Max-Age" "Max-Age:10" -v 7 "$base/hello"

if ((failures > 0)); then
    echo "$failures case(s) failed; server log:"
    cat "$log"
    exit 1
fi
echo "all cases passed"
