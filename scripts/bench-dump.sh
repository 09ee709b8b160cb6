#!/usr/bin/env bash
# Benchmark shmtool dump and watch against cat.
#
#   scripts/bench-dump.sh            (SIZE_MIB=256 WATCH_MIB=64 RUNS=20 by default)
#
# Compares, side by side with `cat` of a same-size /dev/shm file into a tmpfs file:
#   dump --path  FILE  (pread of a POSIX object)
#   dump --shmid ID    (a System V segment that another process maps: read via map_files as
#                       root, process_vm_readv otherwise)
#   dump --shmid ID2   (for reference: a segment nobody maps, so shmat is the only way)
# and reports each as a ratio to cat, the peak RSS of each dump, and the CPU use of
# `watch` on a WATCH_MIB region at 10 Hz. Needs hyperfine, GNU time (/usr/bin/time) and
# python3. Everything it makes (files in /dev/shm, the segment, the holder) is removed on exit.
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-256}
WATCH_MIB=${WATCH_MIB:-64}
RUNS=${RUNS:-20}
WATCH_SECS=${WATCH_SECS:-5}
cd "$(dirname "$0")/.."

for tool in hyperfine python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-dump: needs $tool (apt-get install hyperfine time python3)" >&2; exit 1; }
done

cargo build --release --quiet
BIN=$PWD/target/release/shmtool

WORK=$(mktemp -d /dev/shm/shmtool-bench.XXXXXX)
HOLDER_PID=
SHMID=
SHMID2=
cleanup() {
    if [ -n "$HOLDER_PID" ]; then kill "$HOLDER_PID" 2>/dev/null || true; wait "$HOLDER_PID" 2>/dev/null || true; fi
    for id in $SHMID $SHMID2; do ipcrm -m "$id" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SRC=$WORK/src.bin
OUT=$WORK/out.bin
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$SRC"

# A System V segment with the same bytes, held attached by a process of ours (as in real use),
# and a second one that nobody keeps attached.
python3 - "$SRC" "$WORK/shmid" <<'EOF' &
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
data = open(sys.argv[1], "rb").read()
shmid = libc.shmget(0, len(data), 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
if shmid < 0:
    sys.exit("shmget: " + os.strerror(ctypes.get_errno()))
addr = libc.shmat(shmid, None, 0)
ctypes.memmove(addr, data, len(data))
shmid2 = libc.shmget(0, len(data), 0o1000 | 0o600)
addr2 = libc.shmat(shmid2, None, 0)
ctypes.memmove(addr2, data, len(data))
libc.shmdt(ctypes.c_void_p(addr2))
del data
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(f"{shmid} {shmid2}\n")
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
signal.pause()
EOF
HOLDER_PID=$!
for _ in $(seq 200); do [ -s "$WORK/shmid" ] && break; sleep 0.05; done
read -r SHMID SHMID2 <"$WORK/shmid"

echo "== dump $SIZE_MIB MiB vs cat (into a tmpfs file), $RUNS runs each"
hyperfine --style basic --warmup 2 --runs "$RUNS" --export-json "$WORK/h.json" \
    -n cat "cat $SRC > $OUT" \
    -n "dump --path" "$BIN dump --path $SRC --format raw --force -o $OUT" \
    -n "dump --shmid" "$BIN dump --shmid $SHMID --format raw --force -o $OUT" \
    -n "dump --shmid (shmat)" "$BIN dump --shmid $SHMID2 --format raw --force -o $OUT 2>/dev/null"

peak_rss() { # peak RSS in MiB of a command
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {printf "%.1f", $2/1024}'
}
RSS_PATH=$(peak_rss "$BIN" dump --path "$SRC" --format raw --force -o "$OUT")
RSS_SHMID=$(peak_rss "$BIN" dump --shmid "$SHMID" --format raw --force -o "$OUT")
RSS_CAT=$(peak_rss sh -c "cat $SRC > $OUT")

# watch: a WATCH_MIB object, refreshed at 10 Hz for WATCH_SECS seconds.
head -c "$((WATCH_MIB << 20))" /dev/urandom >"$WORK/watch.bin"
COUNT=$((WATCH_SECS * 10))
/usr/bin/time -f "%U %S %e" -o "$WORK/watch.time" \
    "$BIN" watch --path "$WORK/watch.bin" --interval 100ms --count "$COUNT" >/dev/null
read -r W_USER W_SYS W_REAL <"$WORK/watch.time"

echo
python3 - "$WORK/h.json" "$RSS_CAT" "$RSS_PATH" "$RSS_SHMID" "$W_USER" "$W_SYS" "$W_REAL" "$SIZE_MIB" "$WATCH_MIB" <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rss = dict(zip(["cat", "dump --path", "dump --shmid"], sys.argv[2:5]))
rss["dump --shmid (shmat)"] = "-"
user, sys_, real = map(float, sys.argv[5:8])
size, wsize = sys.argv[8], sys.argv[9]
# Medians: on a shared machine a few slow runs (another job's burst) skew the mean.
cat = res["cat"]["median"]
print(f"{'command':<22} {'median':>9} {'ratio to cat':>13} {'GB/s':>7} {'peak RSS':>10}")
for name in ["cat", "dump --path", "dump --shmid", "dump --shmid (shmat)"]:
    m = res[name]["median"]
    gbs = int(size) * 2**20 / m / 1e9
    print(f"{name:<22} {m*1000:>7.1f}ms {m/cat:>12.2f}x {gbs:>7.1f} {rss[name]:>7} MiB")
print(f"watch {wsize} MiB at 10 Hz: {100*(user+sys_)/real:.1f}% of one core "
      f"(user {user:.2f}s + sys {sys_:.2f}s over {real:.2f}s)")
EOF
