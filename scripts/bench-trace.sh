#!/usr/bin/env bash
# Overhead of `shmtool trace` on a shared-memory-heavy workload.
#
#   sudo scripts/bench-trace.sh     (WORKERS=1 SECS=3 ROUNDS=9 RATE=6250 USE_KIB=64 by default)
#
# scripts/shm_churn.c runs WORKERS processes that repeat shmget/shmat/shmdt/shmctl(IPC_RMID)
# and shm_open/ftruncate/mmap/munmap/close/shm_unlink (8 traced events a round), in two forms:
#   worst case  4 KiB objects never touched: a loop of nothing but these system calls;
#   uses memory the same calls on USE_KIB objects, one byte written in each of their pages
#               before detaching (each page faulted in), as a program using its memory does.
# Each form's throughput is measured ROUNDS times without and with `shmtool trace --json`
# running (output to /dev/null), alternating, and the medians compared, with the workers' CPU
# time per round (user + system: what tracing costs inside the system calls). Then one run of
# the worst case held to RATE rounds/s (8 x RATE events/s: 50,000 by default) with trace running
# reports the events trace saw and lost, and the tracer's CPU time. Needs root and gcc.
# The machine's load average is printed at the start and the end: figures from a loaded
# machine are noisy, the CPU per round less so than the throughput.
set -euo pipefail

WORKERS=${WORKERS:-1}
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-9}
RATE=${RATE:-6250}
USE_KIB=${USE_KIB:-64}
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-trace: needs root (trace loads eBPF)" >&2; exit 1; }
for tool in gcc; do
    command -v "$tool" >/dev/null || { echo "bench-trace: needs $tool" >&2; exit 1; }
done

# SHMTOOL_BIN=PATH measures that binary instead of building this checkout's.
if [ -n "${SHMTOOL_BIN:-}" ]; then
    BIN=$SHMTOOL_BIN
else
    cargo build --release --quiet
    BIN=$PWD/target/release/shmtool
fi
WORK=$(mktemp -d)
TRACE_PID=
cleanup() {
    if [ -n "$TRACE_PID" ]; then kill "$TRACE_PID" 2>/dev/null || true; wait "$TRACE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
gcc -O2 -o "$WORK/churn" scripts/shm_churn.c
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

# Start trace and wait for its "tracing" line.
start_trace() {
    : >"$WORK/err"
    "$BIN" trace --json >/dev/null 2>"$WORK/err" &
    TRACE_PID=$!
    until grep -q '^shmtool: tracing' "$WORK/err"; do
        kill -0 "$TRACE_PID" 2>/dev/null || { cat "$WORK/err" >&2; exit 1; }
        sleep 0.05
    done
}
stop_trace() {
    # CPU time the tracer used (utime and stime, fields 14 and 15 of /proc/PID/stat).
    awk -v hz="$(getconf CLK_TCK)" '{ printf "tracer cpu: %.2f s user, %.2f s system\n", $14 / hz, $15 / hz }' \
        "/proc/$TRACE_PID/stat" >"$WORK/time"
    kill -INT "$TRACE_PID"
    wait "$TRACE_PID" || true
    TRACE_PID=
}
# One run: "ROUNDS_PER_S CPU_US_PER_ROUND"; arguments: RATE USE_KIB.
rate() { "$WORK/churn" "$WORKERS" "$SECS" "$@" | sed -E 's/.* ([0-9]+) rounds\/s, .* ([0-9.]+) us cpu\/round/\1 \2/'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for f in base_worst traced_worst base_use traced_use; do : >"$WORK/$f"; done
for ((i = 1; i <= ROUNDS; i++)); do
    rate 0 0 >>"$WORK/base_worst"
    rate 0 "$USE_KIB" >>"$WORK/base_use"
    start_trace
    rate 0 0 >>"$WORK/traced_worst"
    rate 0 "$USE_KIB" >>"$WORK/traced_use"
    stop_trace
    grep 'events shown' "$WORK/err" | sed 's/^shmtool: /  trace: /' >&2
done
echo "workload: $WORKERS worker(s), ${SECS}s runs, $ROUNDS alternating runs each, medians (8 events a round)"
printf '%-48s %10s %10s %14s\n' "" "rounds/s" "events/s" "cpu us/round"
row() {
    local name=$1 form=$2 base traced base_cpu traced_cpu
    base=$(cut -d' ' -f1 "$WORK/base_$form" | median)
    traced=$(cut -d' ' -f1 "$WORK/traced_$form" | median)
    base_cpu=$(cut -d' ' -f2 "$WORK/base_$form" | median)
    traced_cpu=$(cut -d' ' -f2 "$WORK/traced_$form" | median)
    printf '%-48s %10d %10d %14s\n' "$name, without trace" "$base" "$((8 * base))" "$base_cpu"
    printf '%-48s %10d %10d %14s\n' "$name, with trace --json" "$traced" "$((8 * traced))" "$traced_cpu"
    awk -v b="$base" -v t="$traced" -v bc="$base_cpu" -v tc="$traced_cpu" 'BEGIN {
        printf "  throughput with trace: %.3f of without (%.1f%% loss)\n", t / b, 100 * (1 - t / b)
        printf "  cpu per round with trace: %.3f of without (+%.2f us, %.2f us per traced call)\n", tc / bc, tc - bc, (tc - bc) / 8 }'
}
row "worst case (4 KiB, untouched)" worst
row "uses memory (${USE_KIB} KiB, pages written)" use

echo "worst case held at $((8 * RATE)) events/s for ${SECS}s with trace running:"
start_trace
"$WORK/churn" "$WORKERS" "$SECS" "$RATE"
stop_trace
sed 's/^shmtool: /  trace: /' "$WORK/err" | grep -v tracing
sed 's/^/  /' "$WORK/time"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
