#!/usr/bin/env bash
# Benchmark: the `watch` row of the performance table.
#   1. Linear diff: a region where every 16th byte changes (a writer flips them every ms),
#      64 KiB / 256 KiB / 1 MiB, 50 refreshes each, side by side: CPU ratios against 64 KiB
#      should be ~4 and ~16 (linear), not 16 and 256 (quadratic).
#   2. WATCH_MIB (default 256) MiB at 10 Hz with 1% of bytes changing: share of one core
#      (goal < 20%).
# Usage: scripts/bench-watch.sh   (RUNS=11, WATCH_MIB=256, SECS=5; SECS above 1). Needs gcc, python3 and GNU
# time. Every file and process it makes is removed when it ends, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-11}
watch_mib=${WATCH_MIB:-256}
secs=${SECS:-5}
cargo build --release -q
bin=$PWD/target/release/shmtool
work=$(mktemp -d)
files=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for f in "${files[@]}"; do rm -f "$f"; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
gcc -O2 -o "$work/flipper" scripts/flipper.c
region() { # VAR size_bytes stride period_us: VAR = a /dev/shm file a flipper keeps changing
  local f=/dev/shm/bench-watch-$$-$2
  head -c "$2" /dev/urandom >"$f"
  files+=("$f")
  # Without the traps: a forked shell would otherwise run `cleanup` when it ends.
  (trap - EXIT INT TERM; exec "$work/flipper" "$f" "$3" "$4" >/dev/null) &
  pids+=($!)
  printf -v "$1" '%s' "$f"
}
echo "-- 1. every 16th byte changing: 64 KiB, 256 KiB, 1 MiB (50 refreshes at 10 ms)"
region a $((64 << 10)) 16 1000
region b $((256 << 10)) 16 1000
region c $((1 << 20)) 16 1000
w() { echo "$bin watch --path $1 --interval 10ms --count 50 >/dev/null"; }
python3 scripts/side_by_side.py --shell --runs "$runs" "$(w "$a")" "$(w "$b")" "$(w "$c")"
echo "   (linear: cpu x about 4 and 16; quadratic would be 16 and 256)"

echo "-- 2. $watch_mib MiB at 10 Hz, 1% of bytes changing, for $secs s"
region big $((watch_mib << 20)) 100 100000
count=$((secs * 10))
/usr/bin/time -f "%U %S %e" -o "$work/t" "$bin" watch --path "$big" --interval 100ms --count "$count" >/dev/null
read -r user sys real <"$work/t"
python3 -c "import sys; u,s,r,n=map(float,sys.argv[1:]); c=(u+s)/n; print(f'   {1000*c:.0f} ms of CPU a refresh: {100*c*10:.0f}% of one core at 10 Hz (goal < 20%); {100*(u+s)/r:.0f}% of the {r:.1f} s it ran')" "$user" "$sys" "$real" "$count"
# Without the one-time setup (the snapshot's first copy, mapping the object): a watch of 10
# refreshes against this one.
/usr/bin/time -f "%U %S" -o "$work/t10" "$bin" watch --path "$big" --interval 100ms --count 10 >/dev/null
read -r user10 sys10 <"$work/t10"
python3 -c "import sys; a,b,n=float(sys.argv[1])+float(sys.argv[2]),float(sys.argv[3])+float(sys.argv[4]),int(sys.argv[5]); per=(b-a)/(n-10); print(f'   steady: {1000*per:.0f} ms a refresh ({100*per*10:.0f}% of one core); setup once: {1000*(a-10*per):.0f} ms')" "$user10" "$sys10" "$user" "$sys" "$count"
