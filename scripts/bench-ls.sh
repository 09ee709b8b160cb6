#!/usr/bin/env bash
# Benchmark: the `ls` rows of the performance table, each against its peer, side by side on the
# same load of N processes holding System V, POSIX, memfd and shared anonymous memory
# (alternating runs, medians, ratios against the first command of each group):
#   1. ls --json             vs cat /proc/[0-9]*/maps      (the headline: goal <= 0.7x wall, <= 1.0x CPU)
#   2. ls (table)            vs ls --json                  (goal <= 1.05x time and RSS)
#   3. ls --all-namespaces   vs ls --json                  (goal <= 1.03x)
#   4. ls --json with one unmapped /dev/shm object vs without (goal <= 1.1x)
# Usage: scripts/bench-ls.sh [N ...]   (default: 1000 4000). Needs gcc and python3; run as
# root to see every process (and for --all-namespaces). Every process and object it makes is
# removed when it ends, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
((${#counts[@]})) || counts=(1000 4000)
runs=${RUNS:-11}
cargo build --release -q
bin=$PWD/target/release/shmtool
work=$(mktemp -d)
holders_pid=
orphan=
cleanup() {
  [[ -n $orphan ]] && rm -f "/dev/shm/$orphan"
  if [[ -n $holders_pid ]]; then
    exec 3>&- || true
    wait "$holders_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
gcc -O2 -o "$work/holders" scripts/holders.c
compare() { python3 scripts/side_by_side.py --shell --runs "$runs" "$@"; }
for n in "${counts[@]}"; do
  mkfifo "$work/in"
  "$work/holders" "$n" <"$work/in" >"$work/out" &
  holders_pid=$!
  exec 3>"$work/in"
  deadline=$((SECONDS + 120))
  until grep -q ready "$work/out" 2>/dev/null; do
    ((SECONDS < deadline)) && kill -0 "$holders_pid" 2>/dev/null || { echo "holders failed" >&2; exit 1; }
    sleep 0.2
  done
  echo "== load: $n holder processes, $(($(wc -l </proc/sysvipc/shm) - 1)) sysv segments, $(ls /dev/shm | wc -l) /dev/shm files, $(ls -d /proc/[0-9]* | wc -l) processes"
  echo "-- 1. ls --json against cat of every maps file"
  compare "cat /proc/[0-9]*/maps >/dev/null 2>&1" "$bin ls --json >/dev/null"
  echo "-- 2. the table against --json"
  compare "$bin ls --json >/dev/null" "$bin ls >/dev/null"
  echo "-- 3. --all-namespaces against --json"
  compare "$bin ls --json >/dev/null" "$bin ls --all-namespaces --json >/dev/null"
  echo "-- 4. one /dev/shm object that nobody maps: before (first) and after (second), each against cat"
  compare "cat /proc/[0-9]*/maps >/dev/null 2>&1" "$bin ls --json >/dev/null"
  orphan=bench-ls-orphan-$$
  head -c 4096 /dev/zero >"/dev/shm/$orphan"
  compare "cat /proc/[0-9]*/maps >/dev/null 2>&1" "$bin ls --json >/dev/null"
  rm -f "/dev/shm/$orphan"
  orphan=
  exec 3>&-
  wait "$holders_pid" 2>/dev/null || true
  holders_pid=
  rm -f "$work/in" "$work/out"
done
