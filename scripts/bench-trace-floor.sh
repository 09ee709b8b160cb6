#!/usr/bin/env bash
# The floor under trace's overhead on the worst-case loop: what any tracer hooked on the
# system-call tracepoints costs there before it does anything of its own.
#
#   sudo scripts/bench-trace-floor.sh     (SECS=3 ROUNDS=9 by default)
#
# scripts/shm_churn.c's worst-case loop (one worker, 4 KiB objects never touched: nothing but
# the 10 system calls of a round, 9 of which trace records) is run ROUNDS times each, alternating:
#   without     no tracer;
#   hook        examples/trace_floor.rs's program on sys_exit that returns at once: the syscall
#               slow path every task then takes, and the tracepoint's call into a program;
#   records     a program on sys_exit that writes a bare 32-byte record (tag, time, pid) to a
#               BPF ring buffer for each of the 9 calls, without filters, caller or path: the
#               least a tracer that reports each call can do;
#   trace       `shmtool trace --json >/dev/null` on its default path.
# Medians of throughput (rounds/s) and the worker's CPU per round (user + system), each as a
# ratio to "without". Needs root, gcc and a kernel with BTF (tp_btf programs).
set -euo pipefail

SECS=${SECS:-3}
ROUNDS=${ROUNDS:-9}
cd "$(dirname "$0")/.."
NAME=bench-trace-floor
. scripts/trace-bench-common.sh
cargo build --release --quiet --example trace_floor
FLOOR=$PWD/target/release/examples/trace_floor

# Start the tracer for $1 and wait for the line that says it is attached.
start() {
    : >"$WORK/out"
    case $1 in
    hook | records) "$FLOOR" "$1" >"$WORK/out" 2>&1 & ;;
    trace) env -u SHMTOOL_TRACE_VIA "$BIN" trace --json 2>"$WORK/out" >/dev/null & ;;
    esac
    TRACE_PID=$!
    wait_ready '^ready\|^shmtool: tracing' "$WORK/out"
}
run() { # "ROUNDS_PER_S CPU_US_PER_ROUND"
    "$WORK/churn" 1 "$SECS" 0 0 |
        sed -E 's/.* ([0-9]+) rounds\/s, .* ([0-9.]+) us cpu\/round, .*/\1 \2/'
}
MODES="without hook records trace"
for m in $MODES; do : >"$WORK/$m"; done
for ((i = 1; i <= ROUNDS; i++)); do
    for m in $MODES; do
        [ "$m" = without ] || start "$m"
        run >>"$WORK/$m"
        [ "$m" = without ] || stop_tracer
    done
done
base=$(cut -d' ' -f1 "$WORK/without" | median)
base_cpu=$(cut -d' ' -f2 "$WORK/without" | median)
echo "worst-case loop, 1 worker, ${SECS}s runs, $ROUNDS alternating runs each, medians"
printf '%-10s %10s %12s %12s %16s\n' "" "rounds/s" "throughput" "cpu us/round" "cpu added/round"
for m in $MODES; do
    r=$(cut -d' ' -f1 "$WORK/$m" | median)
    c=$(cut -d' ' -f2 "$WORK/$m" | median)
    awk -v m="$m" -v r="$r" -v c="$c" -v b="$base" -v bc="$base_cpu" 'BEGIN {
        printf "%-10s %10d %6.3f (%4.1f%%) %12.2f %9.2f us (%4.1f%%)\n",
            m, r, r / b, 100 * (1 - r / b), c, c - bc, 100 * (c - bc) / bc }'
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
