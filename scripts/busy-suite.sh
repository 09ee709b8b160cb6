#!/usr/bin/env bash
# The whole test suite, RUNS times in a row (default 5), on a deliberately busy machine: 1000
# processes holding shared memory of every kind (so every /proc scan takes longer) and one CPU
# hog per core. A test that races a fixed sleep or a busy neighbour fails here first.
# Usage: scripts/busy-suite.sh [RUNS] [HOLDERS]. Needs gcc. Everything it starts is stopped
# and every object the holders made is removed when it ends, also on failure or Ctrl-C.
# The whole log of a failed run is kept in target/busy-suite/ (skip reasons and panics in full).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
n=${2:-1000}
work=$(mktemp -d)
holders_pid=
hogs=()
cleanup() {
  for h in "${hogs[@]}"; do kill "$h" 2>/dev/null || true; done
  # Closing the holders' stdin makes them remove every object they made.
  if [[ -n $holders_pid ]]; then
    exec 3>&- || true
    wait "$holders_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
cargo test --no-run -q 2>/dev/null
gcc -O2 -o "$work/holders" scripts/holders.c
mkfifo "$work/in"
"$work/holders" "$n" <"$work/in" >"$work/out" &
holders_pid=$!
exec 3>"$work/in"
deadline=$((SECONDS + 120))
until grep -q ready "$work/out" 2>/dev/null; do
  ((SECONDS < deadline)) || { echo "holders never became ready" >&2; exit 1; }
  kill -0 "$holders_pid" 2>/dev/null || { echo "holders exited early" >&2; exit 1; }
  sleep 0.2
done
for _ in $(seq "$(nproc)"); do
  sh -c 'while :; do :; done' &
  hogs+=($!)
done
echo "load: $n holder processes, ${#hogs[@]} CPU hogs; running the suite $runs times"
passed=0
for i in $(seq "$runs"); do
  if cargo test -q 2>&1 | tee "$work/run$i.log" | grep -E '^test result|FAILED|panicked'; then :; fi
  if grep -q 'FAILED\|panicked' "$work/run$i.log" || ! grep -q '^test result: ok' "$work/run$i.log"; then
    mkdir -p target/busy-suite
    kept=target/busy-suite/run$i-$(date +%Y%m%dT%H%M%S).log
    cp "$work/run$i.log" "$kept"
    echo "run $i of $runs: FAILED (whole log: $kept)"
  else
    passed=$((passed + 1))
    echo "run $i of $runs: passed"
  fi
done
echo "$passed of $runs runs passed on a busy machine"
((passed == runs))
