#!/usr/bin/env bash
# Overhead of `shmtool trace` on a shared-memory-heavy workload.
#
#   sudo scripts/bench-trace.sh        (WORKERS=1 SECS=3 ROUNDS=7 RATE=6250 by default)
#
# scripts/shm_churn.c runs WORKERS processes that repeat shmget/shmat/shmdt/shmctl(IPC_RMID)
# and shm_open/ftruncate/mmap/munmap/close/shm_unlink as fast as they can (8 traced events a
# round). Its throughput is measured ROUNDS times without and with `shmtool trace --json`
# running (output to /dev/null), alternating, and the medians compared. Then one run held to
# RATE rounds/s (8 x RATE events/s: 50,000 by default) with trace running reports the events
# trace saw and lost, and the tracer's CPU time. Needs root and gcc.
set -euo pipefail

WORKERS=${WORKERS:-1}
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-7}
RATE=${RATE:-6250}
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-trace: needs root (trace loads eBPF)" >&2; exit 1; }
for tool in gcc; do
    command -v "$tool" >/dev/null || { echo "bench-trace: needs $tool" >&2; exit 1; }
done

cargo build --release --quiet
BIN=$PWD/target/release/shmtool
WORK=$(mktemp -d)
TRACE_PID=
cleanup() {
    if [ -n "$TRACE_PID" ]; then kill "$TRACE_PID" 2>/dev/null || true; wait "$TRACE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
gcc -O2 -o "$WORK/churn" scripts/shm_churn.c

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
# One run: "ROUNDS_PER_S CPU_US_PER_ROUND".
rate() { "$WORK/churn" "$WORKERS" "$SECS" "$@" | sed -E 's/.* ([0-9]+) rounds\/s, .* ([0-9.]+) us cpu\/round/\1 \2/'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$WORK/base"
: >"$WORK/traced"
for ((i = 1; i <= ROUNDS; i++)); do
    rate >>"$WORK/base"
    start_trace
    rate >>"$WORK/traced"
    stop_trace
    grep 'events shown' "$WORK/err" | sed 's/^shmtool: /  trace: /' >&2
done
base=$(cut -d' ' -f1 "$WORK/base" | median)
traced=$(cut -d' ' -f1 "$WORK/traced" | median)
base_cpu=$(cut -d' ' -f2 "$WORK/base" | median)
traced_cpu=$(cut -d' ' -f2 "$WORK/traced" | median)
echo "workload: $WORKERS worker(s), ${SECS}s runs, $ROUNDS alternating runs each, medians (8 events a round)"
printf '%-22s %10s %10s %14s\n' "" "rounds/s" "events/s" "cpu us/round"
printf '%-22s %10d %10d %14s\n' "without trace" "$base" "$((8 * base))" "$base_cpu"
printf '%-22s %10d %10d %14s\n' "with trace --json" "$traced" "$((8 * traced))" "$traced_cpu"
awk -v b="$base" -v t="$traced" -v bc="$base_cpu" -v tc="$traced_cpu" 'BEGIN {
    printf "throughput with trace: %.3f of without (%.1f%% loss)\n", t / b, 100 * (1 - t / b)
    printf "cpu per round with trace: %.3f of without (+%.2f us, %.2f us per traced call)\n", tc / bc, tc - bc, (tc - bc) / 8 }'

echo "held at $((8 * RATE)) events/s for ${SECS}s with trace running:"
start_trace
"$WORK/churn" "$WORKERS" "$SECS" "$RATE"
stop_trace
sed 's/^shmtool: /  trace: /' "$WORK/err" | grep -v tracing
sed 's/^/  /' "$WORK/time"
