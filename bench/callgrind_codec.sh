#!/bin/sh
# Instructions per message for each codec case and library, counted by callgrind: unlike
# nanoseconds, this number repeats exactly on a noisy or shared machine.
#
# For each case it runs zcoap_codec_bench under callgrind twice, with N iterations and with 0,
# and prints (Ir(N) - Ir(0)) / N, so start-up, set-up and the pre-timing verification cancel
# out (a fixed --iterations skips calibration). Usage:
#   bench/callgrind_codec.sh [path/to/zcoap_codec_bench] [N]
# Defaults: build/release/bench/zcoap_codec_bench, N = 100000. Build it in release mode first
# (cmake --preset release && cmake --build --preset release). Keeps the callgrind.out files in
# a temporary directory whose path it prints, for callgrind_annotate.
set -eu

bench=${1:-build/release/bench/zcoap_codec_bench}
iterations=${2:-100000}
if [ ! -x "$bench" ]; then
    echo "callgrind_codec.sh: $bench not found; build the release preset first" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "callgrind_codec.sh: valgrind missing" >&2; exit 2; }
out=$(mktemp -d "${TMPDIR:-/tmp}/zcoap-callgrind.XXXXXX")

# Total instructions (Ir) of one run; empty when the case does not exist for the library.
instructions() { # lib case iterations
    file="$out/callgrind.$1.$2.$3"
    if valgrind --tool=callgrind --callgrind-out-file="$file" "$bench" --only "$1" \
        --case "$2" --iterations "$3" --reps 1 --csv >/dev/null 2>&1; then
        sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$file"
    fi
}

libs="zcoap"
if "$bench" --only libcoap --case parse --iterations 1 --reps 1 --csv >/dev/null 2>&1; then
    libs="zcoap libcoap"
fi

printf '%-12s' "case"
for lib in $libs; do printf ' %16s' "$lib Ir/msg"; done
printf '\n'
for case in parse walk build build_alloc; do
    printf '%-12s' "$case"
    for lib in $libs; do
        base=$(instructions "$lib" "$case" 0)
        total=$(instructions "$lib" "$case" "$iterations")
        per=$(awk -v t="$total" -v b="$base" -v n="$iterations" \
            'BEGIN { if (t == "" || b == "") print "-"; else printf "%.1f", (t - b) / n }')
        printf ' %16s' "$per"
    done
    printf '\n'
done
echo "callgrind output: $out (callgrind_annotate --inclusive=yes <file>)"
