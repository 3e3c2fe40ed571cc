#!/usr/bin/env bash
# bench/blockwise_memory.sh [BUILD_DIR]
#
# Peak resident memory of block-wise downloads (RFC 7959) on each side, for payloads of 64 KiB,
# 1 MiB and 4 MiB, zcoap next to libcoap in one run:
#   - zcoap: firmware-download (the client; it reports its own peak RSS with -v) fetching
#     /large?size=N from zcoap-server (the server's peak, VmHWM, read from /proc after each);
#     every image is checked against `zcoap-server --print-large N` by SHA-256;
#   - libcoap: coap-client-notls -b 1024 fetching the same bytes from coap-server-notls -d
#     (uploaded first with a PUT); its peak through /usr/bin/time when installed (Debian's
#     `time`), the server's from /proc.
# zcoap's figures must not grow with the payload: neither side holds the representation. RSS is
# noisy by a hundred KiB or so (shared libraries, page faults); where Valgrind is installed, the
# client's peak heap (massif) is measured too, which is exact.
# BUILD_DIR defaults to build/release (./scripts/demo builds it). Loopback only; each transfer
# is bounded by the tools' own timeouts and this script's `timeout 120`.
set -euo pipefail

build=${1:-build/release}
server_bin=$build/examples/zcoap-server
fw_bin=$build/examples/firmware-download
sizes=(65536 1048576 4194304)
for bin in "$server_bin" "$fw_bin"; do
    [[ -x $bin ]] || { echo "blockwise_memory: $bin missing (build $build first)" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

hwm_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"; }
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"; }

# zcoap-server on a port of the kernel's choice.
: >"$work/zs.log"
"$server_bin" -A 127.0.0.1 -p 0 -t 300 >"$work/zs.log" 2>&1 &
zs_pid=$!
pids+=("$zs_pid")
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/^zcoap-server: listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/zs.log")
    [[ -n $port ]] && break
    sleep 0.05
done
[[ -n $port ]] || { echo "blockwise_memory: zcoap-server did not start" >&2; cat "$work/zs.log"; exit 1; }

printf '%-10s %-28s %14s %14s %16s\n' "payload" "side" "peak RSS KiB" "server KiB" "client heap B"
echo "zcoap-server idle: VmRSS $(rss_kib "$zs_pid") KiB, VmHWM $(hwm_kib "$zs_pid") KiB"
for size in "${sizes[@]}"; do
    expected=$("$server_bin" --print-large "$size" | sha256sum | cut -d' ' -f1)
    timeout 120 "$fw_bin" -v "coap://127.0.0.1:$port/large?size=$size" >"$work/fw.out" 2>"$work/fw.err"
    got=$(cut -d' ' -f3 "$work/fw.out")
    [[ $got == "$expected" ]] || { echo "blockwise_memory: SHA-256 mismatch at $size" >&2; exit 1; }
    client=$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' "$work/fw.err")
    heap="n/a"
    if command -v valgrind >/dev/null; then
        timeout 300 valgrind -q --tool=massif --massif-out-file="$work/massif" "$fw_bin" \
            "coap://127.0.0.1:$port/large?size=$size" >/dev/null 2>&1
        heap=$(sed -n 's/^mem_heap_B=//p' "$work/massif" | sort -n | tail -1)
    fi
    printf '%-10s %-28s %14s %14s %16s\n' "$size" "zcoap (firmware-download)" "$client" \
        "$(hwm_kib "$zs_pid")" "$heap"
done

if ! command -v coap-server-notls >/dev/null || ! command -v coap-client-notls >/dev/null; then
    echo "(libcoap's tools are not installed: no comparison)"
    exit 0
fi
lport=$((port + 1))
while grep -qs "$(printf ':%04X ' "$lport")" /proc/net/udp /proc/net/udp6; do lport=$((lport + 1)); done
coap-server-notls -A 127.0.0.1 -p "$lport" -d 8 >"$work/ls.log" 2>&1 &
ls_pid=$!
pids+=("$ls_pid")
sleep 0.3
for size in "${sizes[@]}"; do
    "$server_bin" --print-large "$size" >"$work/img"
    timeout 120 coap-client-notls -m put -b 1024 -f "$work/img" "coap://127.0.0.1:$lport/img$size" >/dev/null
    if [[ -x /usr/bin/time ]]; then
        client=$( { /usr/bin/time -f '%M' timeout 120 coap-client-notls -b 1024 -o "$work/got" \
            "coap://127.0.0.1:$lport/img$size" >/dev/null; } 2>&1 | tail -1)
    else
        timeout 120 coap-client-notls -b 1024 -o "$work/got" "coap://127.0.0.1:$lport/img$size" >/dev/null
        client="n/a"
    fi
    cmp -s "$work/img" "$work/got" || { echo "blockwise_memory: libcoap copy differs at $size" >&2; exit 1; }
    heap="n/a"
    if command -v valgrind >/dev/null; then
        timeout 300 valgrind -q --tool=massif --massif-out-file="$work/massif" coap-client-notls \
            -b 1024 -o "$work/got" "coap://127.0.0.1:$lport/img$size" >/dev/null 2>&1
        heap=$(sed -n 's/^mem_heap_B=//p' "$work/massif" | sort -n | tail -1)
    fi
    printf '%-10s %-28s %14s %14s %16s\n' "$size" "libcoap (coap-client-notls)" "$client" \
        "$(hwm_kib "$ls_pid")" "$heap"
done

# Uploads (Block1) of the same images to coap-server-notls: zcoap-client reads its -f file block
# by block (pread through the transfer's read callback); coap-client-notls reads it whole.
client_bin=$build/examples/zcoap-client
[[ -x $client_bin ]] || exit 0
printf '\n%-10s %-28s %14s %16s\n' "payload" "uploader" "peak RSS KiB" "heap B"
for size in "${sizes[@]}"; do
    "$server_bin" --print-large "$size" >"$work/img"
    for tool in zcoap libcoap; do
        if [[ $tool == zcoap ]]; then
            cmd=("$client_bin" -m put -f "$work/img" "coap://127.0.0.1:$lport/up-$tool-$size")
        else
            cmd=(coap-client-notls -m put -b 1024 -f "$work/img" "coap://127.0.0.1:$lport/up-$tool-$size")
        fi
        rss="n/a"
        if [[ -x /usr/bin/time ]]; then
            rss=$( { /usr/bin/time -f '%M' timeout 120 "${cmd[@]}" >/dev/null; } 2>&1 | tail -1)
        else
            timeout 120 "${cmd[@]}" >/dev/null
        fi
        heap="n/a"
        if command -v valgrind >/dev/null; then
            timeout 300 valgrind -q --tool=massif --massif-out-file="$work/massif" "${cmd[@]}" \
                >/dev/null 2>&1
            heap=$(sed -n 's/^mem_heap_B=//p' "$work/massif" | sort -n | tail -1)
        fi
        printf '%-10s %-28s %14s %16s\n' "$size" "$tool" "$rss" "$heap"
    done
done
