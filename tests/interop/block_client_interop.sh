#!/usr/bin/env bash
# block_client_interop.sh ZCOAP_CLIENT FIRMWARE_DOWNLOAD ADDRESS CASE
#
# The client side of Block-wise transfers (RFC 7959) against libcoap's coap-server-notls, started
# with dynamic resources (-d 10: a PUT or POST creates a resource) on ADDRESS and a free port by
# scripts/with-coap-server; one server per run, so that cases do not share resources. CASE:
#   download      coap-client-notls -m put -b 1024 uploads a 1 MiB file (deterministic bytes: NUL,
#                 0xff, every block different); zcoap-client downloads it to -o FILE, with -b 64,
#                 and to stdout: SHA-256 and bytes the same
#   lossy         the same download with the server dropping 20% of the datagrams it sends
#                 (libcoap's -l 20%), and a 1 MiB upload by zcoap-client through that loss;
#                 ACK_TIMEOUT 20 ms (-D 20, loopback) and MAX_RETRANSMIT 10 keep it to seconds.
#                 libcoap's loss switch drops UDP only, so the file is put (and read back) over
#                 coap+tcp: coap-client-notls cannot shorten its own 2 s ACK_TIMEOUT, and 1024
#                 blocks with 20% of them waiting 2-3 s would take minutes
#   upload        zcoap-client uploads 1 MiB with PUT -f (Block1, 1024-byte blocks by default),
#                 with -b 64, and from stdin (-f -); coap-client-notls -o reads each back
#   firmware      the firmware-download example prints the SHA-256 and size that sha256sum
#                 gives (with -v: its peak RSS), writes -o FILE byte-exact with -b 64, and
#                 exits 1 on a 4.04
#   random_access -b 3,64 prints bytes 192..255 exactly, from one request; -b 1023,1024 the last
#                 KiB; a block past the end gets libcoap's 4.00 (exit 1)
#   TD_COAP_BLOCK_01 .. _06   the ETSI CoAP plugtest descriptions (td-coap4 block.html),
#                 client side, checked on the wire with -v: 01 GET with early negotiation (-b 256:
#                 Block2 0/256 in the first request, every answer in 256-byte blocks); 02 GET with
#                 late negotiation (no Block2 in the first request, the server's 1024-byte blocks
#                 after it); 03 PUT with Block1 (2.31 Continue per block, 2.01 at the end); 04 POST
#                 with Block1 (libcoap's -d resources take POST like PUT: 2.01, then 2.04 when it
#                 exists); 05 POST whose answer comes in blocks too (RFC 7959 §3.2, the server
#                 started with -e echoes the body): Block1 up, then POSTs with Block2 and no body
#                 down, the echo byte-exact; 06 GET and PUT with 16-byte blocks (-b 16) on a
#                 1000-byte file
#
# Exit 77 (skipped) without libcoap's tools (Debian package libcoap3-bin) or without ::1.
#
# The script plays three roles, chosen by BLOCK_CLIENT_INTEROP_ROLE: by default it starts the
# server through with-coap-server, which runs this script again as the server (role "server")
# and then as the checks (role "checks").
set -euo pipefail

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
role=${BLOCK_CLIENT_INTEROP_ROLE:-main}

if [[ $role == server ]]; then
    # -d 10: PUT/POST create resources. -e (TD_COAP_BLOCK_05): the answer carries the body.
    # shellcheck disable=SC2086 # COAP_SERVER_EXTRA holds separate words on purpose
    exec "${COAP_SERVER_BIN:-coap-server-notls}" -d 10 ${COAP_LOSS:+-l "$COAP_LOSS"} \
        ${COAP_SERVER_EXTRA:-} "$@"
fi

if [[ $role == main ]]; then
    if [[ $# -ne 4 ]]; then
        echo "usage: $0 ZCOAP_CLIENT FIRMWARE_DOWNLOAD ADDRESS CASE" >&2
        exit 2
    fi
    for tool in "${COAP_SERVER_BIN:-coap-server-notls}" coap-client-notls sha256sum perl; do
        if ! command -v "$tool" >/dev/null; then
            echo "SKIP: $tool not found (Debian packages libcoap3-bin, coreutils, perl-base)"
            exit 77
        fi
    done
    with_server=${WITH_COAP_SERVER:-$(dirname "$self")/../../scripts/with-coap-server}
    export CLIENT=$1 FIRMWARE=$2 ADDRESS=$3 CASE=$4
    case $CASE in
    lossy) export COAP_LOSS=20% ;;
    TD_COAP_BLOCK_05) export COAP_SERVER_EXTRA=-e ;;
    esac
    exec env BLOCK_CLIENT_INTEROP_ROLE=server COAP_SERVER="$self" \
        "$with_server" "$ADDRESS" env BLOCK_CLIENT_INTEROP_ROLE=checks "$self"
fi

# ---- role "checks": COAP_PORT is the server's port ----------------------------------------------
host=$ADDRESS
[[ $host == *:* ]] && host="[$host]"
base="coap://$host:$COAP_PORT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
run_limit=60 # seconds per client run

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

ok() {
    checks=$((checks + 1))
    echo "ok   $*"
}

# make_file FILE BYTES: deterministic bytes, every 4-byte word different (Knuth's multiplicative
# hash of its index), so NUL and 0xff occur and no two blocks are alike.
make_file() {
    local words=$((($2 + 3) / 4))
    perl -e 'print pack("N*", map { ($_ * 2654435761) % 4294967296 } 0..($ARGV[0] - 1))' \
        "$words" | head -c "$2" >"$1"
}

# run PROGRAM ARGS...: one bounded run; stdout in $tmp/out, stderr in $tmp/err, exit code in $rc.
# Standard input from $tmp/in when it exists.
run() {
    rc=0
    local input=/dev/null
    [[ -e $tmp/in ]] && input=$tmp/in
    timeout "$run_limit" "$@" <"$input" >"$tmp/out" 2>"$tmp/err" || rc=$?
}

# zc NAME WANT_RC ARGS...: zcoap-client ARGS, asserting its exit code.
zc() {
    local name=$1 want=$2
    shift 2
    run "$CLIENT" "$@"
    if [[ $rc -eq $want ]]; then
        ok "$name: exit $rc"
    else
        fail "$name: exit $rc, expected $want; zcoap-client $*"
        head -c 2000 "$tmp/err"
    fi
}

# put_libcoap NAME FILE URI [ARGS...]: coap-client-notls -m put -f FILE URI; exit 0 expected.
put_libcoap() {
    local name=$1 file=$2 uri=$3
    shift 3
    run coap-client-notls -m put "$@" -f "$file" "$uri"
    if [[ $rc -eq 0 ]]; then
        ok "$name: coap-client-notls -m put $* -f FILE: exit 0"
    else
        fail "$name: coap-client-notls exit $rc"
        cat "$tmp/err"
    fi
}

# get_libcoap NAME URI OUT: coap-client-notls -o OUT URI (block-wise by itself).
get_libcoap() {
    run coap-client-notls -o "$3" "$2"
    [[ $rc -eq 0 ]] || fail "$1: coap-client-notls -o exit $rc"
}

# same NAME FILE EXPECTED: byte-exact, and the same SHA-256.
same() {
    local got want
    got=$(sha256sum <"$2" | cut -d' ' -f1)
    want=$(sha256sum <"$3" | cut -d' ' -f1)
    if [[ $got == "$want" ]] && cmp -s "$2" "$3"; then
        ok "$1: $(stat -c %s "$2") bytes, sha256 $got"
    else
        fail "$1: sha256 $got ($(stat -c %s "$2" 2>/dev/null || echo no) bytes), expected $want"
        cmp "$2" "$3" | head -1 || true
    fi
}

# wire NAME ERE [COUNT]: the -v lines of the last run (stderr) match ERE, COUNT times if given.
wire() {
    local n
    n=$(grep -Ec -- "$2" "$tmp/err") || true
    if [[ -z ${3:-} && $n -gt 0 ]] || [[ -n ${3:-} && $n -eq ${3:-} ]]; then
        ok "$1 ($n line(s))"
    else
        fail "$1: /$2/ on $n line(s)${3:+, expected $3}"
        grep -E '^(->|<-)' "$tmp/err" | head -5 | cut -c1-200
    fi
}

# retransmissions: the count in -v's last line.
retransmissions() {
    sed -En 's/^stats: .*\(([0-9]+) retransmission\(s\)\).*/\1/p' "$tmp/err" | tail -1
}

mib=$((1024 * 1024))
case $CASE in
download)
    make_file "$tmp/fw" "$mib"
    put_libcoap "upload 1 MiB" "$tmp/fw" "$base/fw" -b 1024
    zc "GET -o FILE" 0 -o "$tmp/got" "$base/fw"
    same "GET -o FILE" "$tmp/got" "$tmp/fw"
    zc "GET -b 64 -o FILE" 0 -b 64 -o "$tmp/got64" "$base/fw"
    same "GET -b 64 -o FILE" "$tmp/got64" "$tmp/fw"
    zc "GET to stdout" 0 "$base/fw"
    same "GET to stdout" "$tmp/out" "$tmp/fw"
    ;;
lossy)
    run_limit=120
    make_file "$tmp/fw" "$mib"
    put_libcoap "upload 1 MiB over coap+tcp (no loss there)" "$tmp/fw" \
        "coap+tcp://$host:$COAP_PORT/fw"
    start=$SECONDS
    zc "GET -o FILE through 20% loss" 0 -v -D 20 -x 10 -o "$tmp/got" "$base/fw"
    echo "     download: $((SECONDS - start)) s, $(retransmissions) retransmission(s)"
    same "GET through 20% loss" "$tmp/got" "$tmp/fw"
    if [[ $(retransmissions) -gt 0 ]]; then ok "the download met losses"; else
        fail "no retransmission in the lossy download"
    fi
    start=$SECONDS
    zc "PUT 1 MiB through 20% loss" 0 -v -D 20 -x 10 -m put -f "$tmp/fw" "$base/up"
    echo "     upload: $((SECONDS - start)) s, $(retransmissions) retransmission(s)"
    if [[ $(retransmissions) -gt 0 ]]; then ok "the upload met losses"; else
        fail "no retransmission in the lossy upload"
    fi
    get_libcoap "read back" "coap+tcp://$host:$COAP_PORT/up" "$tmp/back"
    # libcoap 4.3.1 runs the handler again for a retransmitted request (RFC 7252 §4.5 lets it
    # for an idempotent PUT) and keeps no answer for a finished Block1 body: when its answer
    # to the last block is lost, our retransmission of that block (same message ID) is taken as
    # a new one-block PUT and replaces the body with the last 1,024 bytes (seen in its -v 7
    # log: 2.01 dropped, then 2.04 to the copy). That is the server's doing; any other result
    # must be the file byte for byte.
    tail -c 1024 "$tmp/fw" >"$tmp/last_block"
    if [[ $(stat -c %s "$tmp/back") -eq 1024 ]] && cmp -s "$tmp/back" "$tmp/last_block"; then
        ok "PUT through 20% loss: libcoap's answer to the last block was lost and it re-ran the retransmitted block as a new PUT (its known behaviour; every block was sent)"
    else
        same "PUT through 20% loss, read back over coap+tcp" "$tmp/back" "$tmp/fw"
    fi
    ;;
upload)
    make_file "$tmp/fw" "$mib"
    zc "PUT -f FILE (1 MiB)" 0 -m put -f "$tmp/fw" "$base/up"
    get_libcoap "read back" "$base/up" "$tmp/back"
    same "PUT -f FILE, read back by coap-client-notls" "$tmp/back" "$tmp/fw"
    zc "PUT -b 64 -f FILE (1 MiB)" 0 -m put -b 64 -f "$tmp/fw" "$base/up64"
    get_libcoap "read back" "$base/up64" "$tmp/back64"
    same "PUT -b 64 -f FILE, read back" "$tmp/back64" "$tmp/fw"
    cp "$tmp/fw" "$tmp/in"
    zc "PUT -f - (1 MiB on stdin)" 0 -m put -f - "$base/upin"
    rm -f "$tmp/in"
    get_libcoap "read back" "$base/upin" "$tmp/backin"
    same "PUT -f -, read back" "$tmp/backin" "$tmp/fw"
    ;;
firmware)
    make_file "$tmp/fw" "$mib"
    put_libcoap "upload 1 MiB" "$tmp/fw" "$base/fw" -b 1024
    want="sha256  $(sha256sum <"$tmp/fw" | cut -d' ' -f1)  $mib"
    run "$FIRMWARE" -v "$base/fw"
    if [[ $rc -eq 0 && $(cat "$tmp/out") == "$want" ]]; then
        ok "firmware-download: '$want'"
    else
        fail "firmware-download: exit $rc, '$(cat "$tmp/out")', expected '$want'"
        cat "$tmp/err"
    fi
    if grep -Eq 'peak RSS [0-9]+ KiB' "$tmp/err"; then
        ok "firmware-download -v: $(grep -Eo '[0-9]+ datagram.*' "$tmp/err")"
    else
        fail "firmware-download -v: no peak RSS"
    fi
    run "$FIRMWARE" -b 64 -o "$tmp/got" "$base/fw"
    if [[ $rc -eq 0 && $(cat "$tmp/out") == "$want" ]]; then ok "firmware-download -b 64 -o FILE"
    else fail "firmware-download -b 64: exit $rc, '$(cat "$tmp/out")'"; fi
    same "firmware-download -o FILE" "$tmp/got" "$tmp/fw"
    run "$FIRMWARE" "$base/missing"
    if [[ $rc -eq 1 ]] && grep -q '4\.04' "$tmp/err"; then
        ok "firmware-download of nothing: 4.04, exit 1"
    else fail "firmware-download of nothing: exit $rc, $(cat "$tmp/err")"; fi
    ;;
random_access)
    make_file "$tmp/fw" "$mib"
    put_libcoap "upload 1 MiB" "$tmp/fw" "$base/fw" -b 1024
    zc "-b 3,64" 0 -v -b 3,64 "$base/fw"
    head -c 256 "$tmp/fw" | tail -c 64 >"$tmp/want"
    same "-b 3,64: bytes 192..255" "$tmp/out" "$tmp/want"
    wire "-b 3,64: one request, for block 3 of 64" '^-> .* c:GET .*Block2:3/_/64 \]' 1
    wire "-b 3,64: nothing else sent" '^-> ' 1
    zc "-b 1023,1024: the last KiB" 0 -b 1023,1024 -o "$tmp/last" "$base/fw"
    tail -c 1024 "$tmp/fw" >"$tmp/want"
    same "-b 1023,1024 -o FILE" "$tmp/last" "$tmp/want"
    zc "-b 1024,1024: past the end" 1 -b 1024,1024 "$base/fw"
    if grep -q '^4\.00' "$tmp/err"; then ok "past the end: libcoap's 4.00"; else
        fail "past the end: $(cat "$tmp/err")"
    fi
    ;;
TD_COAP_BLOCK_01)
    make_file "$tmp/large" 5000
    put_libcoap "upload /large" "$tmp/large" "$base/large"
    zc "GET -b 256 (early negotiation)" 0 -v -b 256 "$base/large"
    same "TD_COAP_BLOCK_01: no gaps, right order" "$tmp/out" "$tmp/large"
    wire "the first GET asks for Block2 0/256" '^-> .* c:GET .*\[ Uri-Path:large, Block2:0/_/256 \]$' 1
    wire "20 GETs for blocks of 256" '^-> .* c:GET .*Block2:[0-9]+/_/256 \]$' 20
    wire "19 answers with more" '^<- .* c:2\.05 .*Block2:[0-9]+/M/256' 19
    wire "the last answer without" '^<- .* c:2\.05 .*Block2:19/_/256' 1
    ;;
TD_COAP_BLOCK_02)
    make_file "$tmp/large" 5000
    put_libcoap "upload /large" "$tmp/large" "$base/large"
    zc "GET (late negotiation)" 0 -v "$base/large"
    same "TD_COAP_BLOCK_02: no gaps, right order" "$tmp/out" "$tmp/large"
    wire "the first GET has no Block2" '^-> .* c:GET .*\[ Uri-Path:large \]$' 1
    wire "the server starts Block2 in 1024s" '^<- .* c:2\.05 .*Block2:0/M/1024' 1
    wire "the client follows with its blocks" '^-> .* c:GET .*Block2:[1-4]/_/1024 \]$' 4
    wire "the last answer" '^<- .* c:2\.05 .*Block2:4/_/1024' 1
    ;;
TD_COAP_BLOCK_03)
    make_file "$tmp/large" 5000
    zc "PUT -b 256 -f FILE (Block1)" 0 -v -m put -b 256 -f "$tmp/large" "$base/large-update"
    wire "the first block with Size1" '^-> .* c:PUT .*Block1:0/M/256, Size1:5000 \]' 1
    wire "2.31 Continue for each block but the last" '^<- .* c:2\.31 .*Block1:[0-9]+/M/256' 19
    wire "the last block" '^-> .* c:PUT .*Block1:19/_/256' 1
    wire "2.01 Created at the end" '^<- .* c:2\.01 ' 1
    get_libcoap "read back" "$base/large-update" "$tmp/back"
    same "TD_COAP_BLOCK_03: the resource holds the body" "$tmp/back" "$tmp/large"
    ;;
TD_COAP_BLOCK_04)
    make_file "$tmp/large" 5000
    zc "POST -b 256 -f FILE (Block1)" 0 -v -m post -b 256 -f "$tmp/large" "$base/large-create"
    wire "POST blocks, 2.31 each but the last" '^<- .* c:2\.31 .*Block1:[0-9]+/M/256' 19
    wire "2.01 Created at the end" '^<- .* c:2\.01 ' 1
    get_libcoap "read back" "$base/large-create" "$tmp/back"
    same "TD_COAP_BLOCK_04: the resource holds the body" "$tmp/back" "$tmp/large"
    make_file "$tmp/large2" 3000
    zc "POST again (the resource exists)" 0 -v -m post -b 256 -f "$tmp/large2" \
        "$base/large-create"
    wire "2.04 Changed at the end" '^<- .* c:2\.04 ' 1
    get_libcoap "read back" "$base/large-create" "$tmp/back2"
    same "TD_COAP_BLOCK_04: the second body replaced the first" "$tmp/back2" "$tmp/large2"
    ;;
TD_COAP_BLOCK_05)
    make_file "$tmp/large" 5000
    zc "POST -b 256 -f FILE, the answer block-wise too" 0 -v -m post -b 256 -f "$tmp/large" \
        "$base/large-post"
    same "TD_COAP_BLOCK_05: the echo, no gaps, right order" "$tmp/out" "$tmp/large"
    wire "Block1 blocks answered 2.31" '^<- .* c:2\.31 .*Block1:[0-9]+/M/256' 19
    wire "the last block's answer starts the echo" '^<- .* c:2\.0[14] .*Block2:0/M/256' 1
    wire "the echo's follow-ups: POST with Block2, no body" \
        '^-> .* c:POST .*\[ Uri-Path:large-post, Block2:([1-9]|1[0-9])/_/256 \]$' 19
    wire "the echo's last block" '^<- .* c:2\.0[14] .*Block2:19/_/256' 1
    ;;
TD_COAP_BLOCK_06)
    make_file "$tmp/small" 1000
    zc "PUT -b 16 -f FILE" 0 -v -m put -b 16 -f "$tmp/small" "$base/small"
    wire "63 PUTs of 16-byte blocks" '^-> .* c:PUT .*Block1:[0-9]+/[_M]/16' 63
    zc "GET -b 16" 0 -v -b 16 "$base/small"
    same "TD_COAP_BLOCK_06: GET in 16-byte blocks" "$tmp/out" "$tmp/small"
    wire "63 GETs of 16-byte blocks" '^-> .* c:GET .*Block2:[0-9]+/_/16 \]$' 63
    wire "the last answer: 8 bytes" '^<- .* c:2\.05 .*Block2:62/_/16' 1
    ;;
*)
    echo "unknown case '$CASE'" >&2
    exit 2
    ;;
esac

if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s) in $checks check(s)"
    exit 1
fi
echo "$CASE against coap-server-notls${COAP_LOSS:+ (-l $COAP_LOSS)} on $base: $checks checks passed"
