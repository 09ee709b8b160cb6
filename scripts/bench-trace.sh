#!/usr/bin/env bash
# Overhead of `shmtool trace` on a shared-memory-heavy workload.
#
#   sudo scripts/bench-trace.sh     (WORKERS=1 SECS=3 ROUNDS=9 RATE=6250 USE_KIB=64 by default)
#
# scripts/shm_churn.c runs WORKERS processes that repeat shmget/shmat/shmdt/shmctl(IPC_RMID)
# and shm_open/ftruncate/mmap/munmap/close/shm_unlink (9 traced events a round), in two forms,
# and a third loop of calls trace does not record:
#   worst case  4 KiB objects never touched: a loop of nothing but these system calls;
#   uses memory the same calls on USE_KIB objects, one byte written in each of their pages
#               before detaching (each page faulted in), as a program using its memory does;
#   other calls getppid, open and close of /dev/null: what tracing costs every other program.
# Each loop's throughput is measured ROUNDS times with no tracer, with `shmtool trace --json`
# (output to /dev/null) on its default path (one program on the raw sys_exit tracepoint, where
# the kernel allows it) and on the per-system-call tracepoints (SHMTOOL_TRACE_VIA=tracepoints),
# alternating, and the medians compared, with the workers' CPU time per round (user + system:
# what tracing costs inside the system calls). Then one run of the worst case held to RATE
# rounds/s (9 x RATE events/s: 56,250 by default) with trace on its default path reports the
# events trace saw and lost, and the tracer's CPU time. The worst case is also run with as
# many workers as CPUs, where the tracer's own CPU time is taken from the workload. Needs root and gcc.
# The machine's load average is printed at the start and the end: figures from a loaded
# machine are noisy, the CPU per round less so than the throughput.
set -euo pipefail

WORKERS=${WORKERS:-1}
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-9}
RATE=${RATE:-6250}
USE_KIB=${USE_KIB:-64}
cd "$(dirname "$0")/.."
NAME=bench-trace
. scripts/trace-bench-common.sh

# Start trace (on the path $1: default or tracepoints) and wait for its "tracing" line.
start_trace() {
    : >"$WORK/err"
    if [ "${1:-default}" = default ]; then
        env -u SHMTOOL_TRACE_VIA "$BIN" trace --json >/dev/null 2>"$WORK/err" &
    else
        SHMTOOL_TRACE_VIA=$1 "$BIN" trace --json >/dev/null 2>"$WORK/err" &
    fi
    TRACE_PID=$!
    wait_ready '^shmtool: tracing' "$WORK/err"
}
stop_trace() {
    # CPU time the tracer used (utime and stime, fields 14 and 15 of /proc/PID/stat).
    awk -v hz="$(getconf CLK_TCK)" '{ printf "tracer cpu: %.2f s user, %.2f s system\n", $14 / hz, $15 / hz }' \
        "/proc/$TRACE_PID/stat" >"$WORK/time"
    stop_tracer
}
# One run: "ROUNDS_PER_S CPU_US_PER_ROUND PREEMPTED"; arguments: RATE USE_KIB.
rate() {
    "$WORK/churn" "$WORKERS" "$SECS" "$@" |
        sed -E 's/.* ([0-9]+) rounds\/s, .* ([0-9.]+) us cpu\/round, ([0-9]+) preempted/\1 \2 \3/'
}

FORMS="worst use other"
for form in $FORMS; do for t in base old new; do : >"$WORK/${t}_$form"; done; done
run_forms() { # $1: base, old or new
    rate 0 0 >>"$WORK/$1_worst"
    rate 0 "$USE_KIB" >>"$WORK/$1_use"
    rate 0 other >>"$WORK/$1_other"
}
for ((i = 1; i <= ROUNDS; i++)); do
    run_forms base
    start_trace tracepoints
    run_forms old
    stop_trace
    start_trace default
    run_forms new
    stop_trace
    grep 'events shown' "$WORK/err" | sed 's/^shmtool: /  trace: /' >&2
done
echo "workload: $WORKERS worker(s), ${SECS}s runs, $ROUNDS alternating runs each, medians"
# preempted: times the workers were taken off a CPU they still wanted, a run (median).
printf '%-66s %10s %10s %14s %10s\n' "" "rounds/s" "events/s" "cpu us/round" "preempted"
row() {
    local name=$1 form=$2 per=$3 base base_cpu t label r c p
    base=$(cut -d' ' -f1 "$WORK/base_$form" | median)
    base_cpu=$(cut -d' ' -f2 "$WORK/base_$form" | median)
    p=$(cut -d' ' -f3 "$WORK/base_$form" | median)
    printf '%-66s %10d %10d %14s %10s\n' "$name, without trace" "$base" "$((per * base))" "$base_cpu" "$p"
    for t in new old; do
        if [ $t = new ]; then label="trace (default: sys_exit)"; else label="trace (tracepoints)"; fi
        r=$(cut -d' ' -f1 "$WORK/${t}_$form" | median)
        c=$(cut -d' ' -f2 "$WORK/${t}_$form" | median)
        p=$(cut -d' ' -f3 "$WORK/${t}_$form" | median)
        printf '%-66s %10d %10d %14s %10s\n' "$name, $label" "$r" "$((per * r))" "$c" "$p"
        awk -v b="$base" -v t="$r" -v bc="$base_cpu" -v tc="$c" 'BEGIN {
            printf "    throughput %.3f of without (%.1f%% loss); cpu per round %.3f of without (+%.2f us)\n",
                t / b, 100 * (1 - t / b), tc / bc, tc - bc }'
    done
}
row "worst case (4 KiB, untouched)" worst 9
row "uses memory (${USE_KIB} KiB, pages written)" use 9
row "other calls (getppid, open, close; none recorded)" other 0

# Every CPU busy: as many workers as CPUs, so that the tracer's own CPU time is taken from
# the workload (above, one worker leaves it a CPU of its own).
BUSY=$(nproc)
: >"$WORK/busy_base"
: >"$WORK/busy_new"
: >"$WORK/busy_cpu"
for ((i = 1; i <= ROUNDS; i++)); do
    "$WORK/churn" "$BUSY" "$SECS" 0 0 | sed -E 's/.* ([0-9]+) rounds\/s.*/\1/' >>"$WORK/busy_base"
    start_trace default
    "$WORK/churn" "$BUSY" "$SECS" 0 0 | sed -E 's/.* ([0-9]+) rounds\/s.*/\1/' >>"$WORK/busy_new"
    stop_trace
    sed -E 's/tracer cpu: ([0-9.]+) s user, ([0-9.]+) s system/\1 \2/' "$WORK/time" |
        awk -v r="$(tail -1 "$WORK/busy_new")" -v s="$SECS" '{ printf "%.3f\n", ($1 + $2) / (r * s * 9) * 1e6 }' >>"$WORK/busy_cpu"
done
b=$(median <"$WORK/busy_base")
t=$(median <"$WORK/busy_new")
c=$(median <"$WORK/busy_cpu")
echo "worst case with every CPU busy ($BUSY workers), $ROUNDS alternating runs each, medians:"
awk -v b="$b" -v t="$t" -v c="$c" 'BEGIN {
    printf "  without trace %d rounds/s, with trace (default path) %d: throughput %.3f of without (%.1f%% loss); the tracer'"'"'s CPU %.2f us an event\n",
        b, t, t / b, 100 * (1 - t / b), c }'

echo "worst case held at $((9 * RATE)) events/s for ${SECS}s with trace (default path) running:"
start_trace default
"$WORK/churn" "$WORKERS" "$SECS" "$RATE"
stop_trace
sed 's/^shmtool: /  trace: /' "$WORK/err" | grep -v tracing
sed 's/^/  /' "$WORK/time"

# Where the workload's extra time goes: the kernel's own accounting of trace's programs
# (kernel.bpf_stats_enabled, restored at the end), run_time_ns and run_cnt from the fdinfo of
# each program the tracer holds, during one worst-case run. The accounting adds two clock reads
# to each run; runs of other programs' system calls (the tracer's own among them) count too.
if [ -n "$STATS_WAS" ]; then
    sysctl -qw kernel.bpf_stats_enabled=1
    start_trace default
    rounds=$("$WORK/churn" "$WORKERS" "$SECS" 0 0 | cut -d' ' -f1)
    echo "trace's programs during a worst-case run of $rounds rounds (kernel.bpf_stats_enabled):"
    for f in /proc/"$TRACE_PID"/fdinfo/*; do
        awk -v r="$rounds" '/^prog_type/ {t = $2} /^run_time_ns/ {ns = $2} /^run_cnt/ {n = $2}
            END { if (n > 0) printf "  program type %d: %d runs (%.1f a round), %.0f ns a run, %.2f us a round\n",
                t, n, n / r, ns / n, ns / r / 1000 }' "$f"
    done
    stop_trace
    sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
