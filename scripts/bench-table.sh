#!/usr/bin/env bash
# Benchmark (issue 11, "ls (table) vs ls --json"; issue 13, "the ls table does not hold every
# cell"): `shmtool ls` as a table against `shmtool ls --json` on the same N POSIX objects
# (default 200,000), run side by side by scripts/side_by_side.py (alternating runs, medians of
# wall, CPU and peak RSS). Prints the ratios; the goal is <= 1.05x for each and a table peak
# under 64 MiB. The names match no owner rule (a psm_ name is PostgreSQL's, and each such row
# looks for a live PostgreSQL of its owner), so this measures the listing and the writers.
# The objects live in a private tmpfs (root: unshare --mount) handed to shmtool with its hidden
# --shm-dir, so nothing on the machine sees them. Usage: scripts/bench-table.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
if [[ ${BENCH_TABLE_INNER:-} != 1 ]]; then
  [[ -n ${SHMTOOL_BIN:-} ]] || cargo build --release -q
  exec env BENCH_TABLE_INNER=1 unshare --mount --propagation private "$0" "$@"
fi
dir=$(mktemp -d)
mount -t tmpfs -o size=64m,nr_inodes=0 shmtool-bench "$dir"
trap 'umount "$dir" 2>/dev/null; rmdir "$dir"; rm -f "$dir.out"' EXIT
python3 - "$dir" "$n" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.close(os.open(f"{d}/table_bench_{i:07d}", os.O_CREAT | os.O_WRONLY, 0o600))
PY
bin=${SHMTOOL_BIN:-./target/release/shmtool}  # SHMTOOL_BIN: measure another build
echo "load: $(ls "$dir" | wc -l) objects in a private tmpfs; $(ls /proc | grep -c '^[0-9]') processes; $(cut -d' ' -f1-3 /proc/loadavg) load"
# Alternating runs, medians: wall and CPU from wait4, peak RSS from GNU time.
RUNS=${RUNS:-7} python3 scripts/side_by_side.py \
  "$bin --shm-dir $dir ls --kind posix --json" "$bin --shm-dir $dir ls --kind posix" | tee "$dir.out"
python3 - "$dir.out" <<'PY'
import sys
rss = [int(f[2]) for f in map(str.split, open(sys.argv[1])) if len(f) > 5 and f[2].isdigit()]
print(f"peak RSS of the table: {rss[1]/1024:.1f} MiB (goal < 64 MiB: {'met' if rss[1] < 64*1024 else 'MISSED'})")
PY
