#!/usr/bin/env bash
# coap-client-notls (libcoap) against the zcoap-server example (the libuv adapter's server).
#
# Every resource (/hello, /echo with POST, PUT, FETCH, PATCH and iPATCH, /separate, /time,
# /sensors/temp, /.well-known/core), as CON and as NON, with a one-byte and with an empty token,
# checked on the wire: coap-client -v 7 prints each message it sends and receives on one line,
#     v:1 t:ACK c:2.05 i:8d3a {01} [ Content-Format:text/plain ] :: 'Hello World!'
# so each case names the request's method, the answer's type, code, token and payload. Then
# several Uri-Path and Uri-Query options (link-format filters of /.well-known/core, queries that
# /echo and /hello ignore), 4.04 and 4.05, CoAP ping with zcoap's `ping` example and as a raw
# Empty CON that must get its RST, and a pool of one peer answering 5.03 with Max-Age.
#
# It all runs twice: against one server loop, then against `-T 2` (two loops in two threads that
# share the port through SO_REUSEPORT); the second run also checks that both threads served
# peers (each coap-client run is a new peer: a new source port).
#
# Usage: zcoap_server_interop.sh ZCOAP_SERVER ADDRESS   (ADDRESS 127.0.0.1 or ::1)
# The `ping` example is taken from ZCOAP_SERVER's directory, or from $PING_BIN.
# Exit 0 when every case passed, 1 when one failed, 77 (skipped) without libcoap3-bin or ::1.
set -euo pipefail
server_bin=$1
address=$2
ping_bin=${PING_BIN:-$(dirname "$server_bin")/ping}
if [[ $address == *:* ]] && ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
    echo "no ::1 on this machine: skipped"
    exit 77
fi
if ! command -v coap-client-notls >/dev/null; then
    echo "coap-client-notls missing (Debian package libcoap3-bin): skipped"
    exit 77
fi

# coap-client 4.3.1 has no switch for an empty token, but it seeds its token counter with -T
# (up to 8 bytes, big-endian) and sends counter + 1 in as few bytes as it takes: seeded with
# 2^64 - 1 the counter wraps to 0, which takes zero bytes.
EMPTY_TOKEN=$'\xff\xff\xff\xff\xff\xff\xff\xff'
CLIENT_TIMEOUT_S=20 # per coap-client or ping run
SERVER_LIFETIME_S=90 # the server stops by itself even if this script dies

log=$(mktemp)
server_pid=""
stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -f "$log"' EXIT

host=$address
[[ $address == *:* ]] && host="[$address]"
port=""
base=""

# start_server ARGS...: start zcoap-server on ADDRESS and a port the kernel picks (-p 0), and
# wait (at most 5 s) for it to print that port.
start_server() {
    "$server_bin" -A "$address" -p 0 -t "$SERVER_LIFETIME_S" "$@" >"$log" 2>&1 &
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

# finish_server: stop the server with SIGTERM as Ctrl-C would; it must exit 0 and print its
# summary.
finish_server() {
    local status=0
    kill -TERM "$server_pid"
    wait "$server_pid" || status=$?
    server_pid=""
    if ((status != 0)); then
        echo "FAIL server exit status $status"
        failures=$((failures + 1))
    fi
    sed -n 's/^zcoap-server: /     server: /p' "$log"
}

failures=0
fail() {
    echo "FAIL $1"
    shift
    printf '%s\n' "$@" | sed 's/^/     /'
    failures=$((failures + 1))
}

# check NAME [-w REGEX]... [-n REGEX]... -- COAP-CLIENT-ARGS...
# Runs coap-client-notls -v 7 with the arguments; every -w must match a line of its output
# (grep -E), no -n may match any.
check() {
    local name=$1
    shift
    local -a want=() reject=()
    while [[ $1 != -- ]]; do
        case $1 in
        -w) want+=("$2") ;;
        -n) reject+=("$2") ;;
        *) echo "check: bad argument $1" >&2; exit 2 ;;
        esac
        shift 2
    done
    shift
    local got re missing=()
    got=$(timeout "$CLIENT_TIMEOUT_S" coap-client-notls -v 7 "$@" 2>&1 || true)
    for re in "${want[@]}"; do
        grep -Eq -- "$re" <<<"$got" || missing+=("expected: $re")
    done
    for re in "${reject[@]}"; do
        grep -Eq -- "$re" <<<"$got" && missing+=("unexpected: $re")
    done
    if ((${#missing[@]} == 0)); then
        echo "ok   $name"
    else
        fail "$name" "${missing[@]}" "got:" "$(grep -E 'v:1 |^[^A-Z]' <<<"$got" || true)"
    fi
}

# msg TYPE CODE TOKEN: the regex of a message line, e.g. msg ACK 2.05 01 (TOKEN in hex, "" for
# an empty token).
msg() {
    printf 't:%s c:%s i:[0-9a-f]+ \\{%s\\}' "$1" "${2//./\\.}" "$3"
}

# The resources, as CON or NON (TYPE), with the token options TOKEN_ARGS giving token TK.
resource_cases() {
    local type=$1 tk=$2
    shift 2
    local -a args=("$@")
    local label="$type, token {$tk}"
    local -a non=()
    local answer=ACK
    if [[ $type == NON ]]; then
        non=(-N)
        answer=NON
    fi
    check "GET /hello ($label)" \
        -w "$(msg "$type" GET "$tk") \[.*Uri-Path:hello \]" \
        -w "$(msg $answer 2.05 "$tk") \[ Content-Format:text/plain \] :: 'Hello World!'$" \
        -- "${non[@]}" "${args[@]}" "$base/hello"
    local method code payload
    for method in POST PUT FETCH PATCH iPATCH; do
        code=2.04
        [[ $method == FETCH ]] && code=2.05
        payload="$method-me-$type" # no regex metacharacters
        check "$method /echo ($label): $code, payload echoed" \
            -w "$(msg "$type" "$method" "$tk") .* :: '$payload'$" \
            -w "$(msg $answer $code "$tk") .* :: '$payload'$" \
            -- "${non[@]}" "${args[@]}" -m "${method,,}" -e "$payload" "$base/echo"
    done
    if [[ $type == CON ]]; then
        check "GET /separate ($label): empty ACK, then CON 2.05" \
            -w "$(msg ACK 0.00 '') \[ \]$" \
            -w "$(msg CON 2.05 "$tk") .* :: 'That took a while.'$" \
            -- "${args[@]}" "$base/separate"
    else
        check "GET /separate ($label): NON 2.05 later" \
            -w "$(msg NON 2.05 "$tk") .* :: 'That took a while.'$" \
            -n "t:ACK" \
            -- "${non[@]}" "${args[@]}" "$base/separate"
    fi
    check "GET /time ($label)" \
        -w "$(msg $answer 2.05 "$tk") .* :: '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'$" \
        -- "${non[@]}" "${args[@]}" "$base/time"
    check "GET /sensors/temp ($label): two Uri-Path options" \
        -w "$(msg "$type" GET "$tk") \[.*Uri-Path:sensors, Uri-Path:temp \]" \
        -w "$(msg $answer 2.05 "$tk") .* :: '21\.5'$" \
        -- "${non[@]}" "${args[@]}" "$base/sensors/temp"
    # The listing is over 3 times the request: a new (unverified) address first gets 4.01 with
    # Echo (RFC 9175 §2.4 item 3); coap-client repeats the GET with it (new token) and gets it.
    check "GET /.well-known/core ($label): 4.01 Echo, then the listing" \
        -w "$(msg $answer 4.01 "$tk") \[ Echo:0x[0-9a-f]{16} \]$" \
        -w "$(msg "$type" GET '[0-9a-f]*') \[.*Uri-Path:core, Echo:0x[0-9a-f]{16} \]$" \
        -w "$(msg $answer 2.05 '[0-9a-f]*') \[ Content-Format:application/link-format \] :: '</hello>;rt=\"hello\";ct=0;title=\"Hello World\",</echo>;rt=\"echo\",.*</sensors/temp>" \
        -- "${non[@]}" "${args[@]}" "$base/.well-known/core"
}

# Options and errors, with the default token.
option_cases() {
    check "GET /hello?a=1&b=2: queries ignored" \
        -w "\[.*Uri-Path:hello, Uri-Query:a=1, Uri-Query:b=2 \]" \
        -w "$(msg ACK 2.05 01) .* :: 'Hello World!'$" \
        -- "$base/hello?a=1&b=2"
    check "POST /echo?a=1&b=2: queries ignored" \
        -w "\[.*Uri-Path:echo, Uri-Query:a=1, Uri-Query:b=2 \] :: 'q'$" \
        -w "$(msg ACK 2.04 01) .* :: 'q'$" \
        -- -m post -e q "$base/echo?a=1&b=2"
    check "GET /.well-known/core?rt=clock" \
        -w ":: '</time>;rt=\"clock\";ct=0'$" \
        -- "$base/.well-known/core?rt=clock"
    check "GET /.well-known/core?rt=temperature-c&if=sensor: both must match" \
        -w "Uri-Query:rt=temperature-c, Uri-Query:if=sensor \]" \
        -w ":: '</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=0'$" \
        -- "$base/.well-known/core?rt=temperature-c&if=sensor"
    check "GET /.well-known/core?rt=clock&if=sensor: nothing matches both" \
        -w "$(msg ACK 2.05 01) \[ Content-Format:application/link-format \]$" \
        -n "</" \
        -- "$base/.well-known/core?rt=clock&if=sensor"
    check "GET /.well-known/core?href=/sensors/*" \
        -w ":: '</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=0'$" \
        -- "$base/.well-known/core?href=/sensors/*"
    check "GET /.well-known/core?if=sensor (NON)" \
        -w "$(msg NON 2.05 01) .* :: '</sensors/temp>;[^,]*'$" \
        -- -N "$base/.well-known/core?if=sensor"
    check "GET /nothing: 4.04" -w "$(msg ACK 4.04 01)" -- "$base/nothing"
    check "GET /a/b/c: 4.04" -w "$(msg ACK 4.04 01)" -- "$base/a/b/c"
    check "GET /sensors: 4.04" -w "$(msg ACK 4.04 01)" -- "$base/sensors"
    check "GET /sensors/temp/x: 4.04" -w "$(msg ACK 4.04 01)" -- "$base/sensors/temp/x"
    check "GET /nothing (NON): NON 4.04" -w "$(msg NON 4.04 01)" -- -N "$base/nothing"
    check "DELETE /hello: 4.05" -w "$(msg ACK 4.05 01)" -- -m delete "$base/hello"
    check "GET /echo: 4.05" -w "$(msg ACK 4.05 01)" -- "$base/echo"
    check "POST /.well-known/core: 4.05" -w "$(msg ACK 4.05 01)" -- -m post -e x \
        "$base/.well-known/core"
}

# raw_ping MID: send an Empty CON (4 bytes: 0x40 0x00 MID) from a new UDP socket (bash's
# /dev/udp) and print the answer's bytes in hex, or nothing after 5 s.
raw_ping() {
    local mid=$1 fd answer
    exec {fd}<>"/dev/udp/$address/$port"
    printf '%b' "\\x40\\x00\\x${mid:0:2}\\x${mid:2:2}" >&"$fd"
    answer=$(timeout 5 head -c 4 <&"$fd" | od -An -tx1 | tr -d ' \n' || true)
    exec {fd}>&-
    echo "$answer"
}

ping_cases() {
    local got
    if got=$(timeout "$CLIENT_TIMEOUT_S" "$ping_bin" "$base" 2>&1) && [[ $got == *pong* ]]; then
        echo "ok   ping example: RST to its Empty CON"
    else
        fail "ping example: RST to its Empty CON" "$got"
    fi
    local mid answer
    for mid in 1234 5678 9abc def0; do # four source ports: with -T 2 both threads are likely asked
        answer=$(raw_ping $mid)
        if [[ $answer == "7000$mid" ]]; then
            echo "ok   raw Empty CON MID 0x$mid: RST 70 00 ${mid:0:2} ${mid:2:2}"
        else
            fail "raw Empty CON MID 0x$mid: RST expected" "got: '${answer}'"
        fi
    done
}

all_cases() {
    resource_cases CON 01
    resource_cases NON 01
    resource_cases CON "" -T "$EMPTY_TOKEN"
    resource_cases NON "" -T "$EMPTY_TOKEN"
    option_cases
    ping_cases
}

echo "=== one loop"
start_server
all_cases
finish_server

echo "=== -T 2: two loops in two threads, one port (SO_REUSEPORT)"
start_server -T 2
all_cases
finish_server
for thread in 0 1; do
    peers=$(sed -n "s/^zcoap-server: thread $thread: \\([0-9]*\\) peers served.*/\\1/p" "$log")
    # Some 60 peers, each one thread's by a fair hash: the chance of none is 2^-60 or so.
    if [[ -n $peers ]] && ((peers > 0)); then
        echo "ok   thread $thread served $peers peers"
    else
        fail "thread $thread served no peer" "$(cat "$log")"
    fi
done

# A pool of one peer: the first client's peer stays for its de-duplication window, so a second
# client (another source port) is answered 5.03 with Max-Age instead of taking its state.
echo "=== a pool of one peer"
start_server -n 1
check "pool of 1: first client served" -w "$(msg ACK 2.05 01) .* :: 'Hello World!'$" \
    -- "$base/hello"
check "pool of 1: second client gets 5.03 with Max-Age" -w "$(msg ACK 5.03 01) \[ Max-Age:10 \]" \
    -- "$base/hello"
finish_server

if ((failures > 0)); then
    echo "$failures case(s) failed"
    exit 1
fi
echo "all cases passed"
