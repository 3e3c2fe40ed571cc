#!/usr/bin/env bash
# coap-client-notls (libcoap) against zcoap-server's block-wise transfers (RFC 7959): /large
# downloaded in Block2 blocks and /echo's uploads in Block1 blocks, echoed back block-wise, each
# compared byte for byte (-o) with what it must be (zcoap-server --print-large, the uploaded
# file), and the wire checked: coap-client -v 7 prints each message on one line,
#     v:1 t:ACK c:2.05 i:5c4b {01} [ ETag:0x4c002000, ..., Block2:0/M/1024, Size2:8192 ] :: ...
#
# Cases (one or more per run; each ctest test names its own):
#   TD_COAP_BLOCK_01  early negotiation: GET /large with Block2 SZX 64 in the first request;
#                     FETCH the same way
#   TD_COAP_BLOCK_02  late negotiation: GET /large, then /large?size=300000
#   TD_COAP_BLOCK_03  PUT of a 100 KiB file in 1024-byte Block1 blocks to /echo
#   TD_COAP_BLOCK_04  POST of a 100 KiB file in 64-byte Block1 blocks to /echo
#   TD_COAP_BLOCK_05  POST of 3000 bytes: Block1 up, the answer Block2 down (RFC 7959 §3.2)
#   TD_COAP_BLOCK_06  16-byte blocks both ways
#   errors            /large?size= out of range or not a number (4.00), a block past the end
#                     (4.02)
#
# Usage: block_server_interop.sh ZCOAP_SERVER ADDRESS CASE...   (ADDRESS 127.0.0.1 or ::1)
# Exit 0 when every case passed, 1 when one failed, 77 (skipped) without libcoap3-bin or ::1.
set -euo pipefail
server_bin=$1
address=$2
shift 2
cases=("$@")
if [[ $address == *:* ]] && ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
    echo "no ::1 on this machine: skipped"
    exit 77
fi
if ! command -v coap-client-notls >/dev/null; then
    echo "coap-client-notls missing (Debian package libcoap3-bin): skipped"
    exit 77
fi

CLIENT_TIMEOUT_S=30  # per coap-client run
SERVER_LIFETIME_S=90 # the server stops by itself even if this script dies

work=$(mktemp -d)
log=$work/server.log
server_pid=""
stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

host=$address
[[ $address == *:* ]] && host="[$address]"

# Start zcoap-server on ADDRESS and a port the kernel picks (-p 0); wait (at most 5 s) for it to
# print that port. The log exists before the server runs: the shell that opens it for the server
# may come after the first look.
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

failures=0
fail() {
    echo "FAIL $1"
    shift
    printf '%s\n' "$@" | sed 's/^/     /'
    failures=$((failures + 1))
}

# check NAME [-w REGEX]... [-n REGEX]... [-e EXPECTED_FILE] -- COAP-CLIENT-ARGS...
# Runs coap-client-notls -v 7 -o OUT with the arguments; every -w must match a line of its
# output (grep -E), no -n may match any, and OUT must be EXPECTED_FILE byte for byte.
check() {
    local name=$1
    shift
    local -a want=() reject=()
    local expected=""
    while [[ $1 != -- ]]; do
        case $1 in
        -w) want+=("$2") ;;
        -n) reject+=("$2") ;;
        -e) expected=$2 ;;
        *) echo "check: bad argument $1" >&2; exit 2 ;;
        esac
        shift 2
    done
    shift
    local out=$work/out got re missing=()
    rm -f "$out"
    got=$(timeout "$CLIENT_TIMEOUT_S" coap-client-notls -v 7 -o "$out" "$@" 2>&1 || true)
    for re in "${want[@]}"; do
        grep -Eq -- "$re" <<<"$got" || missing+=("expected: $re")
    done
    for re in "${reject[@]}"; do
        grep -Eq -- "$re" <<<"$got" && missing+=("unexpected: $re")
    done
    if [[ -n $expected ]] && ! cmp -s "$out" "$expected"; then
        missing+=("received data differs from $expected ($(stat -c %s "$out" 2>/dev/null || echo no) bytes, expected $(stat -c %s "$expected"))")
    fi
    if ((${#missing[@]} == 0)); then
        echo "ok   $name"
    else
        fail "$name" "${missing[@]}" "got (first and last lines):" \
            "$(grep -E 'v:1 |^[^A-Z]' <<<"$got" | sed -n '1,8p;$p' | cut -c1-200 || true)"
    fi
}

# msg TYPE CODE: the regex of a message line's start, e.g. msg ACK 2.05
msg() {
    printf 't:%s c:%s i:[0-9a-f]+ \\{[0-9a-f]*\\}' "$1" "${2//./\\.}"
}

# expect_large SIZE: the file /large?size=SIZE must be.
expect_large() {
    local file=$work/large-$1
    [[ -f $file ]] || "$server_bin" --print-large "$1" >"$file"
    printf '%s' "$file"
}

# make_file SIZE NAME: a file of SIZE bytes that is not text, the same in every run: a pattern of
# 251 byte values (a prime, so that a block at the wrong offset never matches) repeated.
make_file() {
    local file=$work/$2 pattern=$work/pattern i format=""
    if [[ ! -f $pattern ]]; then
        for ((i = 0; i < 251; i++)); do
            format+=$(printf '\\x%02x' $(((i * 97 + 13) % 256)))
        done
        # shellcheck disable=SC2059 # the format is the bytes
        printf "$format" >"$pattern"
    fi
    cp "$pattern" "$file"
    while (($(stat -c %s "$file") < $1)); do
        cat "$file" "$file" >"$file.2"
        mv "$file.2" "$file"
    done
    truncate -s "$1" "$file"
    printf '%s' "$file"
}

case_TD_COAP_BLOCK_01() {
    check "TD_COAP_BLOCK_01: GET /large, 64-byte blocks asked from the first request" \
        -w "$(msg CON GET) \[.*Uri-Path:large, Block2:0/_/64 \]" \
        -w "$(msg ACK 2.05) \[ ETag:0x4c002000, Content-Format:text/plain, Block2:0/M/64, Size2:8192 \]" \
        -w "$(msg ACK 2.05) \[ ETag:0x4c002000, Content-Format:text/plain, Block2:64/M/64 \]" \
        -w "$(msg ACK 2.05) \[ ETag:0x4c002000, Content-Format:text/plain, Block2:127/_/64 \]" \
        -n "Block2:[0-9]+/./1024" \
        -e "$(expect_large 8192)" -- -b 64 "$base/large"
    check "TD_COAP_BLOCK_01: FETCH /large?size=5000 in 256-byte blocks" \
        -w "$(msg CON FETCH) \[.*Block2:0/_/256 \]" \
        -w "$(msg ACK 2.05) \[.*Block2:19/_/256 \]" \
        -e "$(expect_large 5000)" -- -m fetch -b 256 "$base/large?size=5000"
}

case_TD_COAP_BLOCK_02() {
    check "TD_COAP_BLOCK_02: GET /large, the server's 1024-byte blocks" \
        -w "$(msg CON GET) \[[^]]*Uri-Path:large \]$" \
        -w "$(msg ACK 2.05) \[ ETag:0x4c002000, Content-Format:text/plain, Block2:0/M/1024, Size2:8192 \]" \
        -w "$(msg ACK 2.05) \[ ETag:0x4c002000, Content-Format:text/plain, Block2:7/_/1024 \]" \
        -e "$(expect_large 8192)" -- "$base/large"
    check "TD_COAP_BLOCK_02: GET /large?size=300000 (293 blocks)" \
        -w "$(msg ACK 2.05) \[ ETag:0x4c0493e0, .*Block2:0/M/1024, Size2:300000 \]" \
        -w "$(msg ACK 2.05) \[ ETag:0x4c0493e0, .*Block2:292/_/1024 \]" \
        -e "$(expect_large 300000)" -- "$base/large?size=300000"
}

case_TD_COAP_BLOCK_03() {
    local file
    file=$(make_file 102400 put.bin)
    check "TD_COAP_BLOCK_03: PUT 100 KiB in 1024-byte blocks to /echo, echoed block-wise" \
        -w "$(msg CON PUT) \[.*Block1:0/M/1024, Size1:102400.*" \
        -w "$(msg ACK 2.31) \[ Block1:0/M/1024 \]$" \
        -w "$(msg ACK 2.31) \[ Block1:98/M/1024 \]$" \
        -w "$(msg ACK 2.04) \[ Block2:0/M/1024, Block1:99/_/1024, Size2:102400 \]" \
        -w "$(msg ACK 2.04) \[ Block2:99/_/1024 \]" \
        -e "$file" -- -m put -b 1024 -f "$file" "$base/echo"
}

case_TD_COAP_BLOCK_04() {
    local file
    file=$(make_file 102400 post.bin)
    check "TD_COAP_BLOCK_04: POST 100 KiB in 64-byte blocks to /echo, echoed block-wise" \
        -w "$(msg CON POST) \[.*Block1:0/M/64, Size1:102400.*" \
        -w "$(msg ACK 2.31) \[ Block1:0/M/64 \]$" \
        -w "$(msg ACK 2.31) \[ Block1:1598/M/64 \]$" \
        -w "$(msg ACK 2.04) \[ Block2:0/M/[0-9]+, Block1:1599/_/64, Size2:102400 \]" \
        -e "$file" -- -m post -b 64 -f "$file" "$base/echo"
}

case_TD_COAP_BLOCK_05() {
    local file
    file=$(make_file 3000 combined.bin)
    check "TD_COAP_BLOCK_05: POST 3000 bytes, Block1 up and the answer Block2 down" \
        -w "$(msg ACK 2.31) \[ Block1:0/M/1024 \]$" \
        -w "$(msg ACK 2.31) \[ Block1:1/M/1024 \]$" \
        -w "$(msg ACK 2.04) \[ Block2:0/M/1024, Block1:2/_/1024, Size2:3000 \]" \
        -w "$(msg CON POST) \[.*Block2:1/_/1024.*\]$" \
        -w "$(msg ACK 2.04) \[ Block2:1/M/1024 \]" \
        -w "$(msg ACK 2.04) \[ Block2:2/_/1024 \] :: " \
        -e "$file" -- -m post -b 1024 -f "$file" "$base/echo"
}

case_TD_COAP_BLOCK_06() {
    check "TD_COAP_BLOCK_06: GET /large?size=1000 in 16-byte blocks" \
        -w "$(msg ACK 2.05) \[.*Block2:0/M/16, Size2:1000 \]" \
        -w "$(msg ACK 2.05) \[.*Block2:62/_/16 \] :: 'resource'$" \
        -e "$(expect_large 1000)" -- -b 16 "$base/large?size=1000"
    local file
    file=$(make_file 200 small.bin)
    check "TD_COAP_BLOCK_06: PUT 200 bytes in 16-byte blocks to /echo" \
        -w "$(msg ACK 2.31) \[ Block1:0/M/16 \]$" \
        -w "$(msg ACK 2.04) \[ Block2:0/M/[0-9]+, Block1:12/_/16, Size2:200 \]|$(msg ACK 2.04) \[ Block1:12/_/16 \]" \
        -e "$file" -- -m put -b 16 -f "$file" "$base/echo"
}

case_errors() {
    check "GET /large?size=4194305: 4.00, too large" \
        -w "$(msg ACK 4.00) \[ Content-Format:text/plain \] :: 'size must be a number from 0 to 4194304'" \
        -- "$base/large?size=4194305"
    check "GET /large?size=12ab: 4.00, not a number" \
        -w "$(msg ACK 4.00) " -- "$base/large?size=12ab"
    check "GET /large block 8 of 1024 bytes (past the end of 8192): 4.02" \
        -w "$(msg CON GET) \[.*Block2:8/_/1024 \]" \
        -w "$(msg ACK 4.02) \[ \] :: 'no such block'" -- -b 8,1024 "$base/large"
    check "GET /large?size=0: 2.05 without payload nor Block2" \
        -w "$(msg ACK 2.05) \[ ETag:0x4c000000, Content-Format:text/plain \]$" \
        -- "$base/large?size=0"
}

for c in "${cases[@]}"; do
    echo "=== $c"
    "case_$c"
done

kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
if ((status != 0)); then
    fail "server exit status $status" "$(cat "$log")"
fi
sed -n 's/^zcoap-server: /     server: /p' "$log"

if ((failures > 0)); then
    echo "$failures case(s) failed"
    exit 1
fi
echo "all cases passed"
