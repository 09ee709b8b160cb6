#!/usr/bin/env bash
# Every row of issue 11's performance table, each against its peer side by side (alternating
# runs, medians: scripts/side_by_side.py), each row in well under a minute on the idle 2-core
# test machine; then the table the README's Performance section shows.
# Usage: scripts/bench-all.sh [N]   (N holder processes, default 1000; RUNS=5, MAPS=50000,
# PIPE_MIB=256, WATCH_MIB=256; LS_RUNS, default the larger of RUNS and 15, for the `ls` and
# `show` rows: each run takes a tenth of a second, and with 3 runs their ratios move by ±5%,
# as much as the goals they are held to). Run as root: dump reads through /proc/PID/map_files, and the
# rm row removes by verdict, which it does only inside private mount and IPC namespaces
# (unshare) over a tmpfs of its own. Needs gcc, python3, GNU time, pmap, dd and unshare.
# Every process, file and segment it makes is removed when it ends, also on failure.
# The deeper scripts (bench-ls.sh, bench-dump-rows.sh, bench-maps.sh, bench-watch.sh,
# bench-table.sh) measure the same rows at other sizes and with more runs.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
runs=${RUNS:-5}
ls_runs=${LS_RUNS:-$((runs > 15 ? runs : 15))}
maps_n=${MAPS:-50000}
pipe_mib=${PIPE_MIB:-256}
watch_mib=${WATCH_MIB:-256}
[[ $(id -u) == 0 ]] || { echo "bench-all: run as root (map_files, private namespaces)" >&2; exit 2; }
cargo build --release -q
bin=$PWD/target/release/shmtool
work=$(mktemp -d)
pids=()
files=()
holders_pid=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [[ -n $holders_pid ]]; then
    exec 3>&- || true
    wait "$holders_pid" 2>/dev/null || true
  fi
  for f in "${files[@]}"; do rm -f "$f"; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
# row ID PEER CMD...: one row of the table, recorded under ID.
row() {
  local id=$1
  shift
  echo "-- $id"
  python3 scripts/side_by_side.py --shell --runs "${row_runs:-$runs}" --record "$work/$id.jsonl" "$@"
}
# bg VAR CMD...: start CMD in the background without this shell's traps; VAR = its pid.
bg() {
  local var=$1
  shift
  (trap - EXIT INT TERM; exec "$@") &
  pids+=($!)
  printf -v "$var" '%s' "$!"
}
wait_for() { # FILE WORD: until FILE has WORD (deadline 120 s)
  local deadline=$((SECONDS + 120))
  until grep -q "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { echo "bench-all: timed out waiting for $1" >&2; exit 1; }
    sleep 0.1
  done
}
for c in holders many_maps flipper; do gcc -O2 -o "$work/$c" "scripts/$c.c"; done

# The load: N processes holding System V, POSIX, memfd and shared anonymous memory.
mkfifo "$work/in"
(trap - EXIT INT TERM; exec "$work/holders" "$n" <"$work/in" >"$work/holders.out") &
holders_pid=$!
exec 3>"$work/in"
wait_for "$work/holders.out" ready
shmid=$(awk -v c="$holders_pid" 'NR > 1 && $5 == c { print $2; exit }' /proc/sysvipc/shm)
name=$(ls /dev/shm | grep -m1 "^shmtool-bench-$holders_pid-")
procs=$(ls -d /proc/[0-9]* | wc -l)
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== load: $n holder processes ($procs processes), load average $load"

row_runs=$ls_runs row ls-json "cat /proc/[0-9]*/maps >/dev/null 2>&1" "$bin ls --json >/dev/null"
row_runs=$ls_runs row ls-table "$bin ls --json >/dev/null" "$bin ls >/dev/null"
row_runs=$ls_runs row ls-allns "$bin ls --json >/dev/null" "$bin ls --all-namespaces --json >/dev/null"
orphan=/dev/shm/bench-all-orphan-$$
files+=("$orphan")
row_runs=$ls_runs row ls-orphan "rm -f $orphan; $bin ls --json >/dev/null" ": >$orphan; $bin ls --json >/dev/null"
rm -f "$orphan"
row_runs=$ls_runs row show "$bin ls --json >/dev/null" "$bin show $shmid >/dev/null" "$bin show $name >/dev/null"

# rm: 50 leaked POSIX objects, made afresh before each run, in private namespaces over a
# tmpfs of their own (and a fresh mqueue): nothing outside them can be removed.
names=$(for i in $(seq 50); do printf 'bench-rm-%s ' "$i"; done)
make="for f in $names; do : >/dev/shm/\$f; done"
printf '%s\n' "$make" "exec $bin rm --stale --yes --kind posix" >"$work/rm-stale"
printf '%s\n' "$make" "exec $bin rm $(for f in $names; do printf -- '--posix %s ' "$f"; done)" >"$work/rm-posix"
echo "-- rm (each run makes the 50 objects afresh, in private namespaces)"
unshare --mount --ipc --propagation private -- sh -c "
  mount -t tmpfs -o size=16m,mode=1777 bench-all /dev/shm &&
  mount -t mqueue none /dev/mqueue &&
  python3 scripts/side_by_side.py --shell --runs $runs --record $work/rm.jsonl \
    'sh $work/rm-stale >/dev/null' 'sh $work/rm-posix >/dev/null'"

# dump of 4 KiB: the object mapped by one process (for PID ADDR and --shmid).
small=/dev/shm/bench-all-small-$$
files+=("$small")
head -c 4096 /dev/urandom >"$small"
cat >"$work/mapper.py" <<'PY'
import ctypes, mmap, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 4096)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
shmid = libc.shmget(0, 4096, 0o1000 | 0o600)
libc.shmat(shmid, None, 0)
libc.shmctl(shmid, 0, None)
print(os.getpid(), hex(addr), shmid, flush=True)
signal.pause()
PY
bg mapper sh -c "exec python3 $work/mapper.py $small >$work/mapper 3>&-"
until [ -s "$work/mapper" ]; do kill -0 "$mapper" || exit 1; sleep 0.05; done
read -r mpid maddr mshmid <"$work/mapper"
row dump-4k "dd if=$small bs=4096 count=1 status=none >/dev/null" \
  "$bin dump --path $small --format raw >/dev/null" \
  "$bin dump $mpid $maddr --format raw >/dev/null" \
  "$bin dump --shmid $mshmid --format raw >/dev/null"
big=/dev/shm/bench-all-big-$$
files+=("$big")
head -c "$((pipe_mib << 20))" /dev/zero >"$big"
row dump-pipe "cat $big | cat >/dev/null" "$bin dump --path $big --format raw | cat >/dev/null"
rm -f "$big"

# The rest need no holders.
exec 3>&-
wait "$holders_pid" 2>/dev/null || true
holders_pid=

mkfifo "$work/maps.in"
(trap - EXIT INT TERM; exec "$work/many_maps" "$maps_n" <"$work/maps.in" >"$work/maps.out") &
pids+=($!)
loader=$!
exec 4>"$work/maps.in"
wait_for "$work/maps.out" ready
row maps "pmap -X $loader >/dev/null" "$bin maps $loader >/dev/null"
exec 4>&-

region() { # VAR size_bytes stride period_us: VAR = a /dev/shm file a flipper keeps changing
  local f=/dev/shm/bench-all-watch-$$-$2
  head -c "$2" /dev/urandom >"$f"
  files+=("$f")
  local flipper
  bg flipper "$work/flipper" "$f" "$3" "$4"
  printf -v "$1" '%s' "$f"
}
region a $((64 << 10)) 16 1000
region b $((256 << 10)) 16 1000
region c $((1 << 20)) 16 1000
w() { echo "$bin watch --path $1 --interval 10ms --count 20 >/dev/null"; }
row watch "$(w "$a")" "$(w "$b")" "$(w "$c")"
region big $((watch_mib << 20)) 100 100000
# A refresh's cost at 10 Hz, without the one-time setup (the snapshot's first copy, mapping the
# object): CPU of 40 refreshes less that of 10, over 30; three pairs, the median. Setup is
# what 10 refreshes took beyond ten times that.
watch_cpu() { # COUNT: CPU seconds of one watch of COUNT refreshes
  /usr/bin/time -f "%U %S" -o "$work/t" "$bin" watch --path "$big" --interval 100ms --count "$1" >/dev/null
  awk '{ print $1 + $2 }' "$work/t"
}
pairs=()
for _ in 1 2 3; do pairs+=("$(watch_cpu 10),$(watch_cpu 40)"); done
python3 -c "
import json, statistics, sys
pairs = [tuple(map(float, p.split(','))) for p in sys.argv[1:]]
per = statistics.median((b - a) / 30 for a, b in pairs)
setup = statistics.median(a - 10 * per for a, _ in pairs)
print(json.dumps({'cpu_ms_per_refresh': 1000 * per, 'setup_ms': 1000 * setup}))" "${pairs[@]}" >"$work/watch-big.jsonl"

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (at the start: $load)"
python3 - "$work" "$n" "$pipe_mib" "$maps_n" "$watch_mib" <<'PY'
import json, sys
work, n, pipe_mib, maps_n, watch_mib = sys.argv[1:]
def rec(i):
    with open(f"{work}/{i}.jsonl") as f:
        return [json.loads(l) for l in f]
rows = []
def add(case, peer, r, goal, met, note=""):
    rows.append((case, peer, f"{r['wall_x']:.2f}", f"{r['cpu_x']:.2f}", goal, "met" if met else "**missed**", note))
ls = rec("ls-json")[1]
add(f"`ls --json`, {n} processes", "`cat /proc/[0-9]*/maps`", ls, "≤ 0.7 wall, ≤ 1.0 CPU",
    ls["wall_x"] <= 0.7 and ls["cpu_x"] <= 1.0)
t = rec("ls-table")[1]
add("`ls` (table)", "`ls --json`", t, "≤ 1.05", t["wall_x"] <= 1.05)
a = rec("ls-allns")[1]
add("`ls --all-namespaces --json`", "`ls --json`", a, "≤ 1.03", a["wall_x"] <= 1.03)
o = rec("ls-orphan")[1]
add("`ls --json` with one unmapped /dev/shm object", "the same without it", o, "≤ 1.1", o["wall_x"] <= 1.1)
for r, what in zip(rec("show")[1:], ["SHMID", "NAME"]):
    add(f"`show {what}`", "`ls --json`", r, "≤ 0.6", r["wall_x"] <= 0.6)
r = rec("rm")[1]
add("`rm --posix A --posix B …`, 50 names", "`rm --stale` of the same 50", r, "≤ 1.2", r["wall_x"] <= 1.2)
for r, what in zip(rec("dump-4k")[1:], ["--path OBJ", "PID ADDR", "--shmid ID"]):
    add(f"`dump {what} --format raw`, 4 KiB", "`dd` of 4 KiB", r, "≤ 2", r["wall_x"] <= 2)
r = rec("dump-pipe")[1]
add(f"`dump --format raw` {pipe_mib} MiB `\\| cat`", "`cat FILE \\| cat`", r, "≤ 1.1", r["wall_x"] <= 1.1)
r = rec("maps")[1]
mb = r["rss_kib"] / 1024
add(f"`maps PID`, {maps_n} mappings", "`pmap -X`", r, "≤ 0.5, ≤ 32 MB", r["wall_x"] <= 0.5 and mb <= 32,
    f"peak {mb:.1f} MB")
w = rec("watch")
x1, x2 = w[1]["cpu_x"], w[2]["cpu_x"]
rows.append(("`watch` every 16th byte changing, 64 KiB / 256 KiB / 1 MiB", "the 64 KiB run", "–",
             f"1 / {x1:.1f} / {x2:.1f}", "linear (~4, ~16)", "met" if x2 < 40 else "**missed**", ""))
wb = rec("watch-big")[0]
b = wb["cpu_ms_per_refresh"]
rows.append((f"`watch` {watch_mib} MiB at 10 Hz, 1% changing", "–", "–", f"{b:.0f} ms a refresh",
             "< 20 ms", "met" if b < 20 else "**missed**", f"setup once: {wb['setup_ms']:.0f} ms"))
print("| case | peer | wall × | CPU × | goal | | |")
print("| --- | --- | ---: | ---: | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
PY
