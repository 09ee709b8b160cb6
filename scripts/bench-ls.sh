#!/usr/bin/env bash
# Benchmark: `shmtool ls --json` against `cat /proc/[0-9]*/maps` on the same load of N
# processes holding System V, POSIX, memfd and shared anonymous memory, run side by side by
# hyperfine. Usage: scripts/bench-ls.sh [N]   (default 1000). Needs gcc and hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
work=$(mktemp -d)
holders_pid=
cleanup() {
  # Closing the holders' stdin makes them remove every object they made.
  [[ -n ${holders_pid} ]] && { exec 3>&- || true; wait "$holders_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
gcc -O2 -o "$work/holders" scripts/holders.c
mkfifo "$work/in"
"$work/holders" "$n" <"$work/in" >"$work/out" &
holders_pid=$!
exec 3>"$work/in"
until grep -q ready "$work/out" 2>/dev/null; do sleep 0.2; done
echo "load: $n holder processes, $(grep -c . /proc/sysvipc/shm) sysv segments, $(ls /dev/shm | wc -l) /dev/shm files"
hyperfine -N -i --warmup 3 --runs "${RUNS:-20}" \
  --export-markdown "$work/result.md" \
  "sh -c 'cat /proc/[0-9]*/maps >/dev/null 2>&1'" \
  "sh -c './target/release/shmtool ls --json >/dev/null 2>&1'"
cat "$work/result.md"
