#!/usr/bin/env bash
# Benchmark: the `watch` row of the performance table.
#   1. Linear diff: a region where every 16th byte changes (a writer flips them every ms),
#      64 KiB / 256 KiB / 1 MiB, 50 refreshes each, side by side: CPU ratios against 64 KiB
#      should be ~4 and ~16 (linear), not 16 and 256 (quadratic).
#   2. WATCH_MIB (default 256) MiB at 10 Hz with 1% of bytes changing: share of one core
#      (goal < 20%).
# Usage: scripts/bench-watch.sh   (RUNS=11, WATCH_MIB=256, SECS=5). Needs gcc, python3 and GNU
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
region() { # size_bytes stride period_us -> path of a /dev/shm file a flipper keeps changing
  local f=/dev/shm/bench-watch-$$-$1
  head -c "$1" /dev/urandom >"$f"
  files+=("$f")
  # Without the traps: a forked shell would otherwise run `cleanup` when it ends.
  (trap - EXIT INT TERM; exec "$work/flipper" "$f" "$2" "$3") &
  pids+=($!)
  echo "$f"
}
echo "-- 1. every 16th byte changing: 64 KiB, 256 KiB, 1 MiB (50 refreshes at 10 ms)"
a=$(region $((64 << 10)) 16 1000)
b=$(region $((256 << 10)) 16 1000)
c=$(region $((1 << 20)) 16 1000)
w() { echo "$bin watch --path $1 --interval 10ms --count 50 >/dev/null"; }
python3 scripts/side_by_side.py --shell --runs "$runs" "$(w "$a")" "$(w "$b")" "$(w "$c")"
echo "   (linear: cpu x about 4 and 16; quadratic would be 16 and 256)"

echo "-- 2. $watch_mib MiB at 10 Hz, 1% of bytes changing, for $secs s"
big=$(region $((watch_mib << 20)) 100 100000)
count=$((secs * 10))
/usr/bin/time -f "%U %S %e" -o "$work/t" "$bin" watch --path "$big" --interval 100ms --count "$count" >/dev/null
read -r user sys real <"$work/t"
python3 -c "import sys; u,s,r=map(float,sys.argv[1:]); print(f'   {100*(u+s)/r:.1f}% of one core (user {u:.2f}s + sys {s:.2f}s over {r:.2f}s); goal < 20%')" "$user" "$sys" "$real"
