#!/usr/bin/env bash
# Benchmark: `shmtool ls --json` with 3,000 and 30,000 System V segments, each count in a fresh
# IPC namespace of its own (root: unshare --ipc, where kernel.shmmni is raised for that
# namespace alone; the segments go when it does). Linear growth means the second time is about
# ten times the first. Usage: scripts/bench-many.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
for n in 3000 30000; do
  unshare --ipc python3 scripts/many_segments.py "$n" -- \
    hyperfine -N -i --warmup 2 --runs "${RUNS:-10}" --export-markdown "/tmp/bench-many-$n.md" \
    --command-name "ls --json, $n segments" "./target/release/shmtool ls --json --kind sysv" >/dev/null
  tail -n1 "/tmp/bench-many-$n.md"
  rm -f "/tmp/bench-many-$n.md"
done
