#!/usr/bin/env bash
# Benchmark: `shmtool maps PID` (table and --json) against `pmap -X PID` on one process with N
# mappings (default 50,000), run side by side (alternating runs, medians of wall time, CPU time
# and peak RSS, ratios against pmap). Usage: scripts/bench-maps.sh [N]. Needs gcc and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
cargo build --release -q
work=$(mktemp -d)
loader=
cleanup() {
  [[ -n $loader ]] && { exec 3>&- || true; wait "$loader" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
gcc -O2 -o "$work/many_maps" scripts/many_maps.c
mkfifo "$work/in"
"$work/many_maps" "$n" <"$work/in" >"$work/out" &
loader=$!
exec 3>"$work/in"
until grep -q ready "$work/out" 2>/dev/null; do sleep 0.1; done
echo "load: pid $loader with $(wc -l <"/proc/$loader/maps") mappings"
scripts/side_by_side.py --runs "${RUNS:-11}" \
  "pmap -X $loader" \
  "./target/release/shmtool maps $loader" \
  "./target/release/shmtool maps --json $loader"
