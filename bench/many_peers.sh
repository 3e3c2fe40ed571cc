#!/usr/bin/env bash
# bench/many_peers.sh: a CoAP server holding 1,000 / 10,000 / 100,000 live peers (zcoap-server
# on the libuv adapter, and libcoap's coap-server-notls beside it): time to create the peers,
# server RSS per peer, and one client's req/s and latency at W=16 with none and with all of them
# live; then callgrind instruction counts of the zcoap server per request, to show what its
# per-peer timers (one uv_timer_t each, in libuv's heap) cost. See bench/README.md.
#
#   bench/many_peers.sh [--quick] [--build DIR] [--out DIR] [--sizes "1000 10000 100000"]
#                       [--libcoap-sizes "1000 10000"] [--callgrind-sizes "10000 100000"]
#                       [--seconds S] [--reps R]
#
# --quick: 2,000 peers against zcoap-server only, one short run per phase, no callgrind; exits
# non-zero if any request went unanswered (a smoke test of the harness; it asserts no speed).
# An empty list ("") skips that part. Every server is started and stopped here by its PID; the
# whole default run takes about 3 minutes on 2 cores.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build/release
out=""
sizes="1000 10000 100000"
libcoap_sizes="1000 10000"
callgrind_sizes="10000 100000"
seconds=2
reps=3
quick=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) quick=1 ;;
    --build) build=$(realpath -m "$2"); shift ;;
    --out) out=$(realpath -m "$2"); shift ;;
    --sizes) sizes=$2; shift ;;
    --libcoap-sizes) libcoap_sizes=$2; shift ;;
    --callgrind-sizes) callgrind_sizes=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --reps) reps=$2; shift ;;
    -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "many_peers.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [[ $quick == 1 ]]; then
    sizes=2000 libcoap_sizes="" callgrind_sizes="" seconds=1 reps=1
fi
out=${out:-$build/many_peers}

# ---- build (Release) ------------------------------------------------------------------------
if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target zcoap_many_peers zcoap_peer_size zcoap-server \
    >/dev/null
load=$build/bench/zcoap_many_peers
zserver=$build/examples/zcoap-server
mkdir -p "$out"
csv=$out/results.csv
summary=$out/summary.md
rm -f "$csv" "$out"/callgrind.* "$out"/*.log

# ---- servers --------------------------------------------------------------------------------
server_pid=""
stop_server() { # by PID, bounded: SIGTERM, then SIGKILL after 30 s (valgrind writes its dump)
    local pid=$server_pid
    server_pid=""
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

# Start zcoap-server (optionally under valgrind: $1 = wrapper or "") with a pool of $2 on port 0
# and wait (bounded) for the port it prints. Sets server_pid and server_port.
start_zcoap() {
    local wrapper=$1 pool=$2 log=$3
    # shellcheck disable=SC2086 # the wrapper is a word list
    $wrapper "$zserver" -A 127.0.0.1 -p 0 -n "$pool" -t 600 >"$log" 2>&1 &
    server_pid=$!
    server_port=""
    for _ in $(seq 600); do # up to 60 s (valgrind starts slowly)
        server_port=$(sed -n 's/^zcoap-server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
        [[ -n $server_port ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "many_peers.sh: zcoap-server did not start:" >&2
    cat "$log" >&2
    exit 1
}

port_in_use() { grep -qs -- "$(printf ':%04X ' "$1")" /proc/net/udp /proc/net/udp6; }

# libcoap's server takes no port 0: pick a free one in 61000-65499 (above the ephemeral range,
# below nothing the load generator binds), retry a few times.
start_libcoap() {
    local log=$1
    for _ in 1 2 3 4 5; do
        server_port=$((61000 + RANDOM % 4500))
        port_in_use "$server_port" && continue
        coap-server-notls -A 127.0.0.1 -p "$server_port" >"$log" 2>&1 &
        server_pid=$!
        for _ in $(seq 50); do
            port_in_use "$server_port" && return 0
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop_server
    done
    echo "many_peers.sh: coap-server-notls did not start" >&2
    exit 1
}

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }

# The receive buffer in effect on the server's socket (ss's skmem "rb", what SO_RCVBUF reports:
# twice the size set, the kernel's bookkeeping), or "?".
recv_buffer_of() {
    local rb
    rb=$(ss -uamn "sport = :$1" 2>/dev/null | sed -n 's/.*skmem:(.*,rb\([0-9]*\),.*/\1/p' | head -1)
    echo "${rb:-?}"
}

status=0
run_load() { # label peers path ref_rss_kb [extra args...]
    local label=$1 peers=$2 path=$3 ref=$4
    shift 4
    echo
    "$load" --server "127.0.0.1:$server_port" --pid "$server_pid" --peers "$peers" \
        --path "$path" --label "$label" --seconds "$seconds" --reps "$reps" \
        --ref-rss-kb "$ref" --csv "$csv" "$@" || status=$?
}

echo "# many peers: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r)"
echo "# zcoap $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(git -C "$repo" status --porcelain -- src include uv_adapter examples 2>/dev/null |
        grep -q . && echo '(with uncommitted changes)')"
echo "# limits: RLIMIT_NOFILE $(ulimit -Hn) (hard), fs.nr_open $(cat /proc/sys/fs/nr_open)," \
    "net.core.rmem_default $(cat /proc/sys/net/core/rmem_default)," \
    "net.core.rmem_max $(cat /proc/sys/net/core/rmem_max)"
"$build/bench/zcoap_peer_size" 100000 | sed 's/^/# /'

# The RSS of zcoap-server with a pool of 1: what a server costs before any peer.
start_zcoap "" 1 "$out/zcoap-ref.log"
zcoap_ref=$(rss_kb "$server_pid")
echo "# zcoap-server's socket receive buffer in effect: $(recv_buffer_of "$server_port") bytes" \
    "(SO_RCVBUF as reported; zcoap asks for 4 MiB)"
stop_server

for p in $sizes; do
    start_zcoap "" $((p + 1024)) "$out/zcoap-$p.log"
    run_load zcoap "$p" hello "$zcoap_ref"
    stop_server
    sed -n 's/^zcoap-server: \(.*datagrams.*\)/  server counters: \1/p' "$out/zcoap-$p.log"
done

if [[ -n $libcoap_sizes ]] && ! command -v coap-server-notls >/dev/null; then
    echo "many_peers.sh: coap-server-notls not found (Debian's libcoap3-bin): libcoap skipped"
    libcoap_sizes=""
fi
for p in $libcoap_sizes; do
    start_libcoap "$out/libcoap-$p.log"
    sleep 0.2
    echo "# coap-server-notls socket receive buffer: $(recv_buffer_of "$server_port") bytes"
    run_load libcoap "$p" "" "$(rss_kb "$server_pid")" --setup-limit 240
    stop_server
done

# ---- callgrind: instructions per request of zcoap-server, and what its timers take ----------
# One dump per throughput phase (zeroed at its start): with 0 peers, then with P live peers.
if [[ -n $callgrind_sizes ]] && ! command -v valgrind >/dev/null; then
    echo "many_peers.sh: valgrind not found: callgrind part skipped"
    callgrind_sizes=""
fi
cg_table=$out/callgrind.md
: >"$cg_table"
for p in $callgrind_sizes; do
    start_zcoap "valgrind --tool=callgrind --callgrind-out-file=$out/callgrind.$p.%p" \
        $((p + 1024)) "$out/callgrind-$p.log"
    hook=$out/callgrind-hook.sh
    cat >"$hook" <<EOF
#!/bin/sh
case "\$1" in
*-start) exec callgrind_control -z $server_pid >/dev/null 2>&1 ;;
*-end) exec callgrind_control -d "\$1" $server_pid >/dev/null 2>&1 ;;
esac
EOF
    chmod +x "$hook"
    cg_csv=$out/callgrind-$p.csv
    rm -f "$cg_csv"
    echo
    "$load" --server "127.0.0.1:$server_port" --pid "$server_pid" --peers "$p" --path hello \
        --label zcoap-callgrind --seconds 2 --reps 1 --settle 0 --setup-window 32 \
        --setup-limit 240 --csv "$cg_csv" --hook "$hook" | grep -E '^  (peers|throughput)' ||
        status=$?
    pid=$server_pid
    stop_server
    # Columns of the CSV row: base_answered and live_answered.
    read -r base_n live_n < <(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
        NR == 2 { print $c["base_answered"], $c["live_answered"] }' "$cg_csv")
    for part in 1 2; do
        f=$out/callgrind.$p.$pid.$part
        [[ -f $f ]] || continue
        n=$([[ $part == 1 ]] && echo "$base_n" || echo "$live_n")
        peers=$([[ $part == 1 ]] && echo 0 || echo "$p")
        callgrind_annotate --inclusive=yes "$f" 2>/dev/null | awk -v n="$n" -v peers="$peers" '
            function num(s) { gsub(",", "", s); return s + 0 }
            /PROGRAM TOTALS/ { total = num($1) }
            / \?\?\?:zcoap__uv_arm_timer / { arm = num($1) }
            / \?\?\?:uv_timer_start / { start = num($1) }
            / \?\?\?:uv_timer_stop / { stop = num($1) }
            / \?\?\?:zcoap_ep_receive / { recv = num($1) }
            END {
                if (n == 0) exit
                printf "| %d | %d | %.0f | %.0f | %.0f | %.0f | %.1f%% |\n", peers, n,
                    total / n, arm / n, start / n, stop / n, 100 * arm / total
            }' >>"$cg_table"
    done
done

# ---- summary --------------------------------------------------------------------------------
{
    echo "| server | peers | create peers s (/s) | failed / not sent | RSS start / with peers MiB | RSS per peer B (delta / total) | req/s W=16, 0 peers | req/s, P peers | ratio | p50 / p99 us, 0 peers | p50 / p99 us, P peers | server us/req 0 / P |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { printf "| %s | %d | %.2f (%.0f) | %d / %d | %.1f / %.1f | %d / %d | %d (%d-%d) | %d (%d-%d) | %.2f | %d / %d | %d / %d | %.2f / %.2f |\n",
            $c["server"], $c["peers"], $c["setup_s"], $c["setup_per_s"], $c["lost"] + $c["other"], $c["unsent"],
            $c["rss_start_kb"] / 1024, $c["rss_setup_kb"] / 1024, $c["rss_delta_per_peer_b"],
            $c["rss_total_per_peer_b"], $c["base_rps"], $c["base_rps_min"], $c["base_rps_max"],
            $c["live_rps"], $c["live_rps_min"], $c["live_rps_max"], $c["live_over_base"],
            $c["base_p50_us"], $c["base_p99_us"], $c["live_p50_us"], $c["live_p99_us"],
            $c["base_srv_us_req"], $c["live_srv_us_req"] }' "$csv"
    if [[ -s $cg_table ]]; then
        echo
        echo "zcoap-server under callgrind, instructions (Ir) per answered request:"
        echo
        echo "| live peers | requests | Ir/req | zcoap__uv_arm_timer | uv_timer_start | uv_timer_stop | timer share |"
        echo "|---|---|---|---|---|---|---|"
        cat "$cg_table"
    fi
} >"$summary"
echo
cat "$summary"
echo
echo "many_peers.sh: CSV in $csv, this table in $summary"
exit "$status"
