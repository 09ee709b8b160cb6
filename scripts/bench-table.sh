#!/usr/bin/env bash
# Benchmark (issue 11, "ls (table) vs ls --json"; issue 13, "the ls table does not hold every
# cell"): `shmtool ls` as a table against `shmtool ls --json` on the same N POSIX objects
# (default 200,000), run side by side by hyperfine (alternating, medians), then each one's
# peak RSS from /usr/bin/time (median of 5). Prints both ratios; the goal is <= 1.05x for each
# and a table peak under 64 MiB.
# The objects live in a private tmpfs (root: unshare --mount) handed to shmtool with its hidden
# --shm-dir, so nothing on the machine sees them. Usage: scripts/bench-table.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
if [[ ${BENCH_TABLE_INNER:-} != 1 ]]; then
  command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
  cargo build --release -q
  exec env BENCH_TABLE_INNER=1 unshare --mount --propagation private "$0" "$@"
fi
dir=$(mktemp -d)
mount -t tmpfs -o size=64m,nr_inodes=0 shmtool-bench "$dir"
python3 - "$dir" "$n" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.close(os.open(f"{d}/psm_bench_{i:07d}", os.O_CREAT | os.O_WRONLY, 0o600))
PY
bin=./target/release/shmtool
echo "load: $(ls "$dir" | wc -l) objects in a private tmpfs"
table="$bin --shm-dir $dir ls --kind posix"
json="$bin --shm-dir $dir ls --kind posix --json"
hyperfine -N -i --warmup 1 --runs "${RUNS:-10}" --export-json "$dir.json" \
  --command-name "ls --json" "$json" --command-name "ls (table)" "$table" >/dev/null
python3 - "$dir.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"time   ls --json {r['ls --json']*1000:8.1f} ms   ls (table) {r['ls (table)']*1000:8.1f} ms   ratio {r['ls (table)']/r['ls --json']:.3f}x")
PY
peak() {
  for _ in 1 2 3 4 5; do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n1; done | sort -n | sed -n 3p
}
pj=$(peak $json)
pt=$(peak $table)
python3 -c "import sys; j,t=int(sys.argv[1]),int(sys.argv[2]); print(f'peak RSS   ls --json {j/1024:8.1f} MiB   ls (table) {t/1024:8.1f} MiB   ratio {t/j:.3f}x')" "$pj" "$pt"
rm -f "$dir.json"
umount "$dir"
rmdir "$dir"
