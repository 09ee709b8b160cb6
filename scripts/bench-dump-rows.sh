#!/usr/bin/env bash
# Benchmark: the two `dump` rows of the performance table, each against its peer, side by side
# (alternating runs, medians, ratios against the first command of each group):
#   1. dump of 4 KiB at N processes   vs dd of the same 4 KiB        (goal <= 2x: no walk of
#      /proc when no pointer hint can be shown, e.g. --format raw)
#   2. dump --format raw of SIZE into a pipe  vs  cat FILE | cat      (goal <= 1.1x)
# Usage: scripts/bench-dump-rows.sh [N]   (default 1000; SIZE_MIB=1024, RUNS=11). Needs gcc,
# python3 and GNU time; run as root to read through /proc/PID/map_files. Every process, file
# and segment it makes is removed when it ends, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
size_mib=${SIZE_MIB:-1024}
runs=${RUNS:-11}
cargo build --release -q
bin=$PWD/target/release/shmtool
work=$(mktemp -d)
holders_pid=
mapper_pid=
big=
small=
cleanup() {
  [[ -n $mapper_pid ]] && kill "$mapper_pid" 2>/dev/null && wait "$mapper_pid" 2>/dev/null
  if [[ -n $holders_pid ]]; then
    exec 3>&- || true
    wait "$holders_pid" 2>/dev/null || true
  fi
  [[ -n $big ]] && rm -f "$big"
  [[ -n $small ]] && rm -f "$small"
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
compare() { python3 scripts/side_by_side.py --shell --runs "$runs" "$@"; }

# The load: N processes holding shared memory of every kind.
gcc -O2 -o "$work/holders" scripts/holders.c
mkfifo "$work/in"
# Background jobs drop the traps: a forked shell would otherwise run `cleanup` when it ends.
(trap - EXIT INT TERM; exec "$work/holders" "$n" <"$work/in" >"$work/out") &
holders_pid=$!
exec 3>"$work/in"
deadline=$((SECONDS + 120))
until grep -q ready "$work/out" 2>/dev/null; do
  ((SECONDS < deadline)) && kill -0 "$holders_pid" 2>/dev/null || { echo "holders failed" >&2; exit 1; }
  sleep 0.2
done

# The target: a 4 KiB POSIX object and a 4 KiB System V segment, both mapped by one process
# that prints its pid, the object's address and the shmid.
small=/dev/shm/bench-dump-small-$$
head -c 4096 /dev/urandom >"$small"
cat >"$work/mapper.py" <<'EOF'
import ctypes, mmap, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 4096)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
shmid = libc.shmget(0, 4096, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
libc.shmat(shmid, None, 0)
libc.shmctl(shmid, 0, None)  # IPC_RMID now: it goes when this process does
print(os.getpid(), hex(addr), shmid, flush=True)
signal.pause()
EOF
(trap - EXIT INT TERM; exec python3 "$work/mapper.py" "$small" >"$work/mapper" 3>&-) &
mapper_pid=$!
for _ in $(seq 200); do [ -s "$work/mapper" ] && break; sleep 0.05; done
read -r pid addr shmid <"$work/mapper"

echo "== load: $n holder processes, $(ls -d /proc/[0-9]* | wc -l) processes"
echo "-- 1. dump of 4 KiB against dd (raw output: no pointer hints, so no walk of /proc)"
compare "dd if=$small bs=4096 count=1 status=none >/dev/null" \
  "$bin dump --path $small --format raw >/dev/null" \
  "$bin dump $pid $addr --format raw >/dev/null" \
  "$bin dump --shmid $shmid --format raw >/dev/null"
echo "   for reference, hex output (pointer hints: finds every mapper)"
compare "dd if=$small bs=4096 count=1 status=none >/dev/null" \
  "$bin dump --path $small >/dev/null"
exec 3>&-
wait "$holders_pid" 2>/dev/null || true
holders_pid=

echo "-- 2. dump --format raw of $size_mib MiB into a pipe against cat FILE | cat"
big=/dev/shm/bench-dump-big-$$
head -c "$((size_mib << 20))" /dev/urandom >"$big"
compare "cat $big | cat >/dev/null" "$bin dump --path $big --format raw | cat >/dev/null"
