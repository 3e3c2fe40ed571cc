#!/usr/bin/env bash
# zcoap_client_interop.sh ZCOAP_CLIENT ADDRESS [lossy]
#
# The zcoap-client example against libcoap's coap-server-notls, started with dynamic resources
# (-d 10) on ADDRESS (127.0.0.1 or ::1) and a free port by scripts/with-coap-server. Each check
# asserts the exit code and what stdout/stderr say:
#   GET / (libcoap's banner), GET /time, GET /async?1 (Empty ACK, then a separate CON response
#   we ACK), PUT/GET/POST/PUT/DELETE/GET on a dynamic resource (2.01, byte-exact read back with
#   -e, -f FILE and -f - (stdin), 2.04, 2.02, then 4.04 with exit 1), -t/-A on the wire, NON with
#   -N, -O 15,... (Uri-Query on the wire with -v, and ?ticks answered by the server), -T with an
#   empty and a hex token, Block1 and Block2 (two blocks each way; with -T the first block and a
#   warning), -s 5 on /time (Observe: 3+ notifications printed, then the GET with Observe:1 on
#   the wire and its answer), -s on a resource that is not observable (exit 1) or missing
#   (4.04), ping, -q, exit 2 for a bad URI, exit 5 at once against a closed port (ICMP port
#   unreachable ends the exchange).
# With "lossy" the server drops 25% of what it sends (libcoap's -l, see lossy_coap_server.sh):
# at least 20 GETs, all of which must succeed thanks to retransmission (RFC 7252 §4.2), and the
# run goes on (at most 60 GETs) until one of them has needed a retransmission, so the test proves
# something: 20 GETs without a loss have odds 0.75^20, 0.3%; 60, 3e-8. Only the count of losses
# in a row matters, not the timing: with the default MAX_RETRANSMIT 4 a GET fails when 5 answers
# in a row are lost, 0.25^5 = 1e-3, which would fail 2% of the runs of 20 GETs. So the client
# runs with MAX_RETRANSMIT 10 (-x 10) and ACK_TIMEOUT 100 ms (-D 100, loopback) under -B 120: a
# GET fails only when about 10 answers in a row are lost (1e-6); a typical GET with one loss
# takes 0.1-0.15 s more, and 8 losses in a row (1.5e-5) take about half a minute.
#
# Exit 77 (skipped) without libcoap (Debian package libcoap3-bin) or without an IPv6 loopback.
#
# The script plays three roles, chosen by ZCOAP_CLIENT_INTEROP_ROLE: by default it starts the
# server through with-coap-server, which runs this script again as the server (role "server":
# coap-server-notls with -d 10 and the loss switch) and then as the checks (role "checks").
set -euo pipefail

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
role=${ZCOAP_CLIENT_INTEROP_ROLE:-main}

if [[ $role == server ]]; then
    # -d 10: PUT/POST create resources (at most 10). A loss spec "25%" drops 25% at random.
    exec "${COAP_SERVER_BIN:-coap-server-notls}" -d 10 ${COAP_LOSS:+-l "$COAP_LOSS"} "$@"
fi

if [[ $role == main ]]; then
    if [[ $# -lt 2 || $# -gt 3 || ($# -eq 3 && $3 != lossy) ]]; then
        echo "usage: $0 ZCOAP_CLIENT ADDRESS [lossy]" >&2
        exit 2
    fi
    if ! command -v "${COAP_SERVER_BIN:-coap-server-notls}" >/dev/null; then
        echo "SKIP: coap-server-notls not found (Debian package libcoap3-bin)"
        exit 77
    fi
    with_server=${WITH_COAP_SERVER:-$(dirname "$self")/../../scripts/with-coap-server}
    export CLIENT=$1 ADDRESS=$2 LOSSY=${3:-}
    [[ -n $LOSSY ]] && export COAP_LOSS=${COAP_LOSS:-25%}
    # with-coap-server starts COAP_SERVER -A ADDRESS -p PORT: this script as the server.
    exec env ZCOAP_CLIENT_INTEROP_ROLE=server COAP_SERVER="$self" \
        "$with_server" "$ADDRESS" env ZCOAP_CLIENT_INTEROP_ROLE=checks "$self"
fi

# ---- role "checks": COAP_PORT is the server's port ----------------------------------------------
host=$ADDRESS
[[ $host == *:* ]] && host="[$host]"
base="coap://$host:$COAP_PORT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
run_limit=30 # seconds per client run; a lossy GET may take up to its -B 120
[[ -n $LOSSY ]] && run_limit=130

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run ARGS...: one zcoap-client run (bounded); stdout in $tmp/out and $out, stderr in $tmp/err
# and $err, exit code in $rc. Standard input comes from $tmp/in when it exists.
run() {
    rc=0
    local input=/dev/null
    [[ -e $tmp/in ]] && input=$tmp/in
    timeout "$run_limit" "$CLIENT" "$@" <"$input" >"$tmp/out" 2>"$tmp/err" || rc=$?
    out=$(tr -d '\0' <"$tmp/out") # for messages; byte-exact checks use the file
    err=$(cat "$tmp/err")
}

# check NAME WANT_RC STDOUT_ERE STDERR_ERE ARGS...: run, then assert the exit code and that
# each extended regex ("" for none) matches somewhere in its stream.
check() {
    local name=$1 want_rc=$2 out_re=$3 err_re=$4 before=$failures
    shift 4
    checks=$((checks + 1))
    run "$@"
    [[ $rc -eq $want_rc ]] || fail "$name: exit code $rc, expected $want_rc"
    if [[ -n $out_re ]] && ! grep -Eq -- "$out_re" "$tmp/out"; then
        fail "$name: stdout lacks /$out_re/"
    fi
    if [[ -n $err_re ]] && ! grep -Eq -- "$err_re" "$tmp/err"; then
        fail "$name: stderr lacks /$err_re/"
    fi
    if [[ $failures -eq $before ]]; then
        echo "ok   $name"
    else
        printf '     zcoap-client %s\n     stdout: %s\n     stderr: %s\n' "$*" "$out" "$err"
    fi
}

# same NAME FILE: stdout of the last run equals FILE byte for byte.
same() {
    checks=$((checks + 1))
    if cmp -s "$tmp/out" "$2"; then
        echo "ok   $1"
    else
        fail "$1: stdout differs from $2"
        od -c "$tmp/out" | head -5
    fi
}

# empty NAME TEXT: TEXT (what a stream of the last run said) is empty.
empty() {
    checks=$((checks + 1))
    if [[ -z $2 ]]; then
        echo "ok   $1"
    else
        fail "$1: got '$2'"
    fi
}

# line_of FILE ERE: number of the first line matching, or 0.
line_of() {
    local n
    n=$(grep -En -m1 -- "$2" "$1" | cut -d: -f1) || true
    echo "${n:-0}"
}

libcoap_time="[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}" # "Nov 27 10:16:35"

if [[ -n $LOSSY ]]; then
    runs=0 retransmitted=0
    while [[ $runs -lt 20 || ($retransmitted -eq 0 && $runs -lt 60) ]]; do
        runs=$((runs + 1))
        run -v -x 10 -D 100 -B 120 "$base/time"
        if [[ $rc -ne 0 ]] || ! grep -Eq "^$libcoap_time$" "$tmp/out"; then
            fail "lossy GET /time #$runs: exit code $rc, stdout '$out', stderr:"
            echo "$err"
        elif grep -Eq "\(([1-9][0-9]*) retransmission\(s\)\)" "$tmp/err"; then
            retransmitted=$((retransmitted + 1))
        fi
    done
    checks=$runs
    echo "--- lossy: $runs GET(s), $failures failed, $retransmitted needed retransmissions"
    [[ $retransmitted -gt 0 ]] || fail "lossy: no GET needed a retransmission in $runs"
else
    check "GET / (libcoap's banner)" 0 "^This is a test server made with libcoap" "" "$base/"
    check "GET /time" 0 "^$libcoap_time$" "" "$base/time"

    check "GET /async?1: Empty ACK, then a separate CON 2.05 that we ACK" 0 "^done$" \
        "^<- v:1 t:CON c:2\.05 .*:: 'done'$" -v "$base/async?1"
    ack=$(line_of "$tmp/err" "^<- v:1 t:ACK c:0\.00 i:[0-9a-f]{4} \{\} \[ \]$")
    resp=$(line_of "$tmp/err" "^<- v:1 t:CON c:2\.05")
    our_ack=$(line_of "$tmp/err" "^-> v:1 t:ACK c:0\.00")
    checks=$((checks + 1))
    if [[ $ack -gt 0 && $resp -gt $ack && $our_ack -gt $resp ]]; then
        echo "ok   GET /async?1: Empty ACK in, then the response, then our ACK out"
    else
        fail "GET /async?1: lines of Empty ACK $ack, response $resp, our ACK $our_ack:"
        echo "$err"
    fi

    # A dynamic resource (coap-server-notls -d): create, read back, change, delete.
    dyn="$base/zc-dyn-$$"
    check "PUT -e creates: 2.01" 0 "" "^<- v:1 t:ACK c:2\.01 " -v -m put -e "hello, zcoap" "$dyn"
    check "GET reads it back" 0 "" "" "$dyn"
    printf '%s' "hello, zcoap" >"$tmp/expected"
    same "GET reads it back byte-exact" "$tmp/expected"
    check "POST: 2.04" 0 "" "^<- v:1 t:ACK c:2\.04 " -v -m post -e "posted" "$dyn"
    printf 'line 1\n\0binary\x01\xff\ttab  \n' >"$tmp/payload"
    check "PUT -f FILE -t octet: 2.04, Content-Format on the wire" 0 "" \
        "^-> v:1 t:CON c:PUT .*Content-Format:application/octet-stream.*:: 'line 1" \
        -v -m put -t octet -f "$tmp/payload" "$dyn"
    grep -Eq "^<- v:1 t:ACK c:2\.04 " "$tmp/err" || fail "PUT -f FILE: no 2.04"
    check "GET with -A octet" 0 "" "^-> v:1 t:CON c:GET .*Accept:application/octet-stream" \
        -v -A octet "$dyn"
    same "GET returns the file byte-exact (NUL, 0xff, trailing newline)" "$tmp/payload"
    printf 'from stdin\n' >"$tmp/in"
    check "PUT -f - (stdin)" 0 "" "^<- v:1 t:ACK c:2\.04 " -v -m put -f - "$dyn"
    rm -f "$tmp/in"
    check "GET after -f -" 0 "" "" "$dyn"
    same "GET returns what came on stdin" <(printf 'from stdin\n')
    check "DELETE: 2.02" 0 "" "^<- v:1 t:ACK c:2\.02 " -v -m delete "$dyn"
    check "GET after DELETE: 4.04, exit 1" 1 "" "^4\.04 Not Found$" "$dyn"
    empty "4.04: nothing on stdout" "$out"
    check "-q: 4.04 with nothing on stderr, exit 1" 1 "" "" -q "$dyn"
    empty "-q: nothing on stderr" "$err"

    check "NON GET (-N): NON request, NON response" 0 "^$libcoap_time$" \
        "^<- v:1 t:NON c:2\.05 " -v -N "$base/time"
    grep -Eq "^-> v:1 t:NON c:GET .*Uri-Path:time" "$tmp/err" || fail "-N: no NON GET sent"

    check "-O 15,a=1: Uri-Query on the wire" 0 "^$libcoap_time$" \
        "^-> v:1 t:CON c:GET .*\[ Uri-Path:time, Uri-Query:a=1 \]" -v -O 15,a=1 "$base/time"
    check "-O 15,ticks: the server sees the query (/time?ticks answers a number)" 0 \
        "^[0-9]+$" "" -O 15,ticks "$base/time"
    check "-O 14,60 (uint) and -O 2048,0xcafe (opaque)" 0 "" \
        "^-> v:1 t:CON c:GET .*Max-Age:60, .*2048:\\\\xCA\\\\xFE \]" \
        -v -O 14,60 -O 2048,0xcafe "$base/time"

    check "-T '': an empty token both ways" 0 "^$libcoap_time$" \
        "^<- v:1 t:ACK c:2\.05 i:[0-9a-f]{4} \{\} " -v -T "" "$base/time"
    grep -Eq "^-> v:1 t:CON c:GET i:[0-9a-f]{4} \{\} " "$tmp/err" || fail "-T '': token sent"
    check "-T 0xcafe: that token both ways" 0 "" "^<- v:1 t:ACK c:2\.05 i:[0-9a-f]{4} \{cafe\} " \
        -v -T 0xcafe "$base/time"

    # Block-wise (RFC 7959): 1100 bytes go up in two Block1 blocks and come back in two Block2
    # blocks of 1024; with -T (one request, no block-wise transfer) the first block and a warning.
    big="$base/zc-big-$$"
    head -c 1100 /dev/zero | tr '\0' 'z' >"$tmp/big"
    check "PUT 1100 bytes: Block1, 1024 then 76" 0 "" \
        "^-> v:1 t:CON c:PUT .*\[ Uri-Path:zc-big-[0-9]+, Block1:1/_/1024 \] :: " \
        -v -m put -f "$tmp/big" "$big"
    check "GET of a resource in blocks: both blocks" 0 "" \
        "^-> v:1 t:CON c:GET .*Block2:1/_/1024 \]$" -v "$big"
    same "GET returns all 1100 bytes" "$tmp/big"
    check "-T: one request, its first block, a warning" 0 "" \
        "warning: the response comes in blocks \(Block2 0/M/1024\); only block 0 is printed: -T disables" \
        -T 0x01 "$big"
    same "with -T, the first block is the first 1024 bytes" <(head -c 1024 "$tmp/big")
    check "-T with -b: usage, exit 2" 2 "" "no -b" -T 0x01 -b 64 "$big"

    # -s: Observe (RFC 7641). libcoap's /time is observable and notifies every second: at least
    # 3 different times printed in 5 s, one per line, then the active cancel on the wire (GET
    # with Observe:1 and the registration's token) and its answer, exit 0.
    check "-s 5 /time: registration with Observe:0" 0 "^$libcoap_time$" \
        "^-> v:1 t:CON c:GET i:[0-9a-f]{4} \{[0-9a-f]+\} \[ Observe:0, Uri-Path:time \]$" \
        -v -s 5 "$base/time"
    checks=$((checks + 1))
    times=$(grep -Ec "^$libcoap_time$" "$tmp/out") || true
    distinct=$(sort -u "$tmp/out" | grep -Ec "^$libcoap_time$") || true
    lines=$(wc -l <"$tmp/out")
    if [[ $distinct -ge 3 && $times -eq $lines ]] && sort -c "$tmp/out" 2>/dev/null; then
        echo "ok   -s 5 /time: $times notification line(s), $distinct distinct times, in order"
    else
        fail "-s 5 /time: $times time line(s) of $lines, $distinct distinct, or out of order:"
        cat "$tmp/out"
    fi
    checks=$((checks + 1))
    token=$(sed -En 's/^-> v:1 t:CON c:GET i:[0-9a-f]{4} \{([0-9a-f]+)\} \[ Observe:0, .*/\1/p' \
        "$tmp/err" | head -1)
    cancel=$(line_of "$tmp/err" "^-> v:1 t:CON c:GET i:[0-9a-f]{4} \{$token\} \[ Observe:1, Uri-Path:time \]$")
    answer=$(line_of "$tmp/err" "^<- v:1 t:ACK c:2\.05 i:[0-9a-f]{4} \{$token\} \[ (Max-Age:[0-9]+ )?\]")
    notified=$(grep -Ec "^<- v:1 t:(CON|NON) c:2\.05 .*\{$token\} \[ Observe:[0-9]+" "$tmp/err") || true
    if [[ -n $token && $notified -ge 3 && $cancel -gt 0 && $answer -gt $cancel ]]; then
        echo "ok   -s 5 /time: $notified notifications, then GET Observe:1 {$token}, answered"
    else
        fail "-s 5 /time: token '$token', $notified notification(s), cancel line $cancel, answer line $answer:"
        echo "$err"
    fi
    check "-s on a resource that is not observable: its answer, a warning, exit 1" 1 \
        "^This is a test server made with libcoap" "did not take the observation" -s 5 "$base/"
    check "-s on a missing resource: 4.04, exit 1" 1 "" "^4\.04 Not Found$" -s 5 "$base/zc-none-$$"
    check "-s with -m put: usage, exit 2" 2 "" "-s observes with a GET" -s 5 -m put "$base/time"

    check "ping: pong" 0 "^pong$" "^<- v:1 t:RST c:0\.00 " -v -m ping "$base"
    check "bad URI: exit 2" 2 "" "URI" "coap://$host:$COAP_PORT:1/"

    # A closed port: ICMP port unreachable ends the exchange at once (exit 5, network error),
    # well before -B 30 or the RFC's 93 s.
    closed=0
    for _ in $(seq 20); do
        p=$((20000 + RANDOM % 40000))
        if ! grep -qs -- "$(printf ':%04X ' "$p")" /proc/net/udp /proc/net/udp6; then
            closed=$p
            break
        fi
    done
    started=$SECONDS
    check "a closed port: exit 5" 5 "" "ICMP port unreachable" -B 30 "coap://$host:$closed/"
    if ((SECONDS - started > 10)); then
        echo "FAIL: a closed port took $((SECONDS - started)) s, not at once"
        failures=$((failures + 1))
    fi
fi

if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s) in $checks check(s)"
    exit 1
fi
echo "zcoap-client against coap-server-notls${LOSSY:+ (25% loss)} on $base: $checks checks passed"
