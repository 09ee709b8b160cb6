# Shared by scripts/bench-trace.sh and scripts/bench-trace-floor.sh (sourced, from the
# checkout's top directory, with NAME set to the script's name): the checks, the binary to
# measure, a work directory and scripts/shm_churn.c built in it, and the tracer's start, stop
# and cleanup. Every tracer started with $! in TRACE_PID is stopped on exit, and
# kernel.bpf_stats_enabled is put back as it was.

[ "$(id -u)" = 0 ] || { echo "$NAME: needs root (loads eBPF)" >&2; exit 1; }
command -v gcc >/dev/null || { echo "$NAME: needs gcc" >&2; exit 1; }

# SHMTOOL_BIN=PATH measures that binary instead of building this checkout's.
if [ -n "${SHMTOOL_BIN:-}" ]; then
    BIN=$SHMTOOL_BIN
else
    cargo build --release --quiet
    BIN=$PWD/target/release/shmtool
fi
WORK=$(mktemp -d)
TRACE_PID=
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo)
cleanup() {
    if [ -n "$TRACE_PID" ]; then kill "$TRACE_PID" 2>/dev/null || true; wait "$TRACE_PID" 2>/dev/null || true; fi
    if [ -n "$STATS_WAS" ]; then sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
gcc -O2 -o "$WORK/churn" scripts/shm_churn.c
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

# Wait until the tracer in TRACE_PID has written a line matching $1 to the file $2 (trace's
# "shmtool: tracing" once it records); its output and an exit if it dies first.
wait_ready() {
    until grep -q "$1" "$2"; do
        kill -0 "$TRACE_PID" 2>/dev/null || { cat "$2" >&2; exit 1; }
        sleep 0.05
    done
}
stop_tracer() {
    kill -INT "$TRACE_PID"
    wait "$TRACE_PID" || true
    TRACE_PID=
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
