#!/usr/bin/env bash
# bench/recvmmsg.sh: the adapter's server reading its socket with recvmsg (one datagram per system
# call) against recvmmsg (the recvmmsg option: up to 20), side by side in one build: req/s and
# server CPU per request for one client at W=16 and W=64 and for 64 client sockets (each its own
# peer), alternating the two modes run by run; then system calls per request (perf, one more run
# each). See bench/README.md.
#
#   bench/recvmmsg.sh [--build DIR] [--out DIR] [--reps R] [--seconds S]
#                     [--scenarios "1x16 1x64 64x1 64x4"] [--no-syscalls] [--callgrind]
#
# A scenario CxW is C client sockets with W CON GETs outstanding each. Every run starts a fresh
# zcoap_bench_server (port 0) and stops it by its PID. Medians over R runs (default 7) of S
# seconds (default 2); about 2 minutes with the defaults. --callgrind adds the server's
# user-space instructions per request in each mode and scenario (valgrind; +1 minute).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build/release
out=""
reps=7
seconds=2
scenarios="1x16 1x64 64x1 64x4"
syscalls=1
callgrind=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) build=$(realpath -m "$2"); shift ;;
    --out) out=$(realpath -m "$2"); shift ;;
    --reps) reps=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --scenarios) scenarios=$2; shift ;;
    --no-syscalls) syscalls=0 ;;
    --callgrind) callgrind=1 ;;
    -h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "recvmmsg.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
out=${out:-$build/recvmmsg}

if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake -S "$repo" -B "$build" >/dev/null # picks up bench targets added since the last configure
cmake --build "$build" -j"$(nproc)" --target zcoap_many_peers zcoap_bench_server >/dev/null
load=$build/bench/zcoap_many_peers
server=$build/bench/zcoap_bench_server
mkdir -p "$out"
csv=$out/results.csv
summary=$out/summary.md
rm -f "$csv" "$out"/*.log "$out"/syscalls.txt "$out"/callgrind.*

server_pid=""
stop_server() {
    local pid=$server_pid
    server_pid=""
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 600); do # up to 30 s (valgrind writes its dump)
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

start_server() { # mode log [wrapper words...]
    local mode=$1 log=$2
    shift 2
    "$@" "$server" -p 0 "--$mode" >"$log" 2>&1 &
    server_pid=$!
    server_port=""
    for _ in $(seq 600); do # up to 30 s (valgrind starts slowly)
        server_port=$(sed -n 's/^zcoap_bench_server: listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log")
        [[ -n $server_port ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "recvmmsg.sh: zcoap_bench_server did not start:" >&2
    cat "$log" >&2
    exit 1
}

status=0
run_one() { # mode scenario csv [extra load args]
    local mode=$1 scenario=$2 file=$3
    shift 3
    "$load" --server "127.0.0.1:$server_port" --pid "$server_pid" --peers 0 --no-baseline \
        --settle 0 --reps 1 --seconds "$seconds" --clients "${scenario%x*}" \
        --window "${scenario#*x}" --label "$mode/$scenario" --csv "$file" "$@" >/dev/null ||
        status=$?
}

echo "# recvmmsg vs recvmsg: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r)," \
    "zcoap $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(git -C "$repo" status --porcelain -- uv_adapter include 2>/dev/null | grep -q . &&
        echo '(with uncommitted changes)')"
for rep in $(seq "$reps"); do
    # The order of the two modes alternates from run to run, so drifts in the machine's speed
    # hit both alike.
    if ((rep % 2 == 1)); then modes="recvmsg recvmmsg"; else modes="recvmmsg recvmsg"; fi
    for scenario in $scenarios; do
        for mode in $modes; do
            start_server "$mode" "$out/server-$mode.log"
            run_one "$mode" "$scenario" "$csv"
            stop_server
        done
    done
    echo "  run $rep of $reps done"
done

# System calls of the server per answered request: one more run of each, counted by perf's
# syscall tracepoints (cheap, but not free: these runs are not in the timing table).
if [[ $syscalls == 1 ]] && command -v perf >/dev/null &&
    perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
    events=raw_syscalls:sys_enter,syscalls:sys_enter_recvmsg,syscalls:sys_enter_recvmmsg
    events=$events,syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_wait
    for scenario in $scenarios; do
        for mode in recvmsg recvmmsg; do
            start_server "$mode" "$out/server-$mode.log"
            perf stat -x, -e "$events" -p "$server_pid" -o "$out/perf-$mode-$scenario.txt" &
            perf_pid=$!
            sleep 0.2
            sc_csv=$out/syscalls-$mode-$scenario.csv
            rm -f "$sc_csv"
            run_one "$mode" "$scenario" "$sc_csv"
            kill -INT "$perf_pid"
            wait "$perf_pid" 2>/dev/null || true
            stop_server
            answered=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
                NR == 2 { print $c["live_answered"] }' "$sc_csv")
            awk -F, -v mode="$mode" -v sc="$scenario" -v n="$answered" '
                $3 ~ /sys_enter/ { split($3, e, ":"); v[e[2]] = $1 }
                END {
                    printf "| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f |\n", sc, mode,
                        v["sys_enter"] / n, v["sys_enter_recvmsg"] / n,
                        v["sys_enter_recvmmsg"] / n, v["sys_enter_sendmsg"] / n,
                        v["sys_enter_epoll_wait"] / n,
                        (v["sys_enter_recvmmsg"] > 0 ? n / v["sys_enter_recvmmsg"] : 0)
                }' "$out/perf-$mode-$scenario.txt" >>"$out/syscalls.txt"
        done
    done
fi

# User-space instructions per answered request under callgrind, zeroed and dumped around the
# throughput run by the load program's hook (so start-up and shutdown are not counted).
if [[ $callgrind == 1 ]] && command -v valgrind >/dev/null; then
    for scenario in $scenarios; do
        for mode in recvmsg recvmmsg; do
            start_server "$mode" "$out/callgrind-$mode.log" valgrind --tool=callgrind \
                "--callgrind-out-file=$out/callgrind.$mode.$scenario.%p"
            hook=$out/callgrind-hook.sh
            printf '#!/bin/sh\ncase "$1" in\n*-start) exec callgrind_control -z %s >/dev/null 2>&1 ;;\n*-end) exec callgrind_control -d "$1" %s >/dev/null 2>&1 ;;\nesac\n' \
                "$server_pid" "$server_pid" >"$hook"
            chmod +x "$hook"
            cg_csv=$out/callgrind-$mode-$scenario.csv
            rm -f "$cg_csv"
            run_one "$mode" "$scenario" "$cg_csv" --hook "$hook" --timeout-ms 3000
            pid=$server_pid
            stop_server
            answered=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
                NR == 2 { print $c["live_answered"] }' "$cg_csv")
            f=$out/callgrind.$mode.$scenario.$pid.1
            [[ -f $f ]] || continue
            callgrind_annotate "$f" 2>/dev/null | awk -v n="$answered" -v m="$mode" -v sc="$scenario" '
                /PROGRAM TOTALS/ { t = $1; gsub(",", "", t) }
                END { if (n > 0) printf "| %s | %s | %d | %.0f |\n", sc, m, n, t / n }' \
                >>"$out/callgrind.md"
        done
    done
fi

# ---- summary: medians per mode and scenario -------------------------------------------------
{
    echo "| clients x W | mode | req/s median (min-max) | server us/req median (min-max) | p50 / p99 us | runs |"
    echo "|---|---|---|---|---|---|"
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { key = $c["server"]; n[key]++; rps[key, n[key]] = $c["live_rps"]
          us[key, n[key]] = $c["live_srv_us_req"]; p50[key, n[key]] = $c["live_p50_us"]
          p99[key, n[key]] = $c["live_p99_us"] }
        function median(a, key, m,    i, j, t, v) {
            for (i = 1; i <= m; i++) v[i] = a[key, i] + 0
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            lo = v[1]; hi = v[m]
            return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
        }
        END {
            for (key in n) {
                split(key, kv, "/")
                r = median(rps, key, n[key]); rlo = lo; rhi = hi
                u = median(us, key, n[key]); ulo = lo; uhi = hi
                printf "| %s | %s | %.0f (%.0f-%.0f) | %.2f (%.2f-%.2f) | %.0f / %.0f | %d |\n",
                    kv[2], kv[1], r, rlo, rhi, u, ulo, uhi, median(p50, key, n[key]),
                    median(p99, key, n[key]), n[key]
            }
        }' "$csv" | sort -t'|' -k2,2V -k3,3
    if [[ -s $out/syscalls.txt ]]; then
        echo
        echo "System calls of the server per answered request (perf tracepoints, one run each):"
        echo
        echo "| clients x W | mode | all | recvmsg | recvmmsg | sendmsg | epoll_wait | datagrams per recvmmsg |"
        echo "|---|---|---|---|---|---|---|---|"
        cat "$out/syscalls.txt"
    fi
    if [[ -s $out/callgrind.md ]]; then
        echo
        echo "The server's user-space instructions per answered request (callgrind, one run each):"
        echo
        echo "| clients x W | mode | requests | Ir/req |"
        echo "|---|---|---|---|"
        cat "$out/callgrind.md"
    fi
} >"$summary"
echo
cat "$summary"
echo
echo "recvmmsg.sh: CSV in $csv, this table in $summary"
exit "$status"
