#!/usr/bin/env python3
"""Time commands side by side: runs them in turn (A B C A B C ...) so drift in the machine's
speed hits each alike, then prints for each its median wall time, CPU time and peak RSS, and the
ratio of each median to the first command's (the peer). Each run is one process, measured by the
kernel's own accounting (wait4's rusage), with output thrown away.

usage: side_by_side.py [--runs N] [--warmup N] [--shell] [--record FILE] PEER_CMD CMD [CMD ...]
Each command is one string, split as a shell splits words (or run by sh -c with --shell).
--record FILE appends one JSON line per command (its medians and ratios) for a summary table."""
import argparse
import json
import tempfile
import os
import shlex
import statistics
import subprocess
import time


def run_once(cmd, shell, rss_file):
    argv = ["sh", "-c", cmd] if shell else shlex.split(cmd)
    # Started by /usr/bin/time, whose own image is small: a child forked from this Python
    # process would count Python's pages in its peak RSS. CPU time and the exit status come
    # from wait4 on time, which includes the command it waited for.
    argv = ["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file] + argv
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(argv, stdout=null, stderr=null, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    with open(rss_file) as f:
        rss = int(f.read().split()[-1])
    return wall, ru.ru_utime + ru.ru_stime, rss, os.waitstatus_to_exitcode(status)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", "11")))
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--shell", action="store_true")
    ap.add_argument("--record", help="append each command's medians and ratios to FILE as JSON lines")
    ap.add_argument("commands", nargs="+")
    a = ap.parse_args()
    if len(a.commands) < 2:
        ap.error("give the peer command and at least one command to compare with it")
    rss_file = tempfile.NamedTemporaryFile(prefix="side_by_side-", delete=False).name
    try:
        measure(a, rss_file)
    finally:
        os.unlink(rss_file)


def measure(a, rss_file):
    for _ in range(a.warmup):
        for c in a.commands:
            run_once(c, a.shell, rss_file)
    results = {c: [] for c in a.commands}
    codes = {c: set() for c in a.commands}
    for _ in range(a.runs):
        for c in a.commands:
            wall, cpu, rss, code = run_once(c, a.shell, rss_file)
            results[c].append((wall, cpu, rss))
            codes[c].add(code)
    med = {c: tuple(statistics.median(x[i] for x in r) for i in range(3)) for c, r in results.items()}
    peer = med[a.commands[0]]
    print(f"{a.runs} alternating runs each, medians; ratios against the first command")
    print(f"{'wall ms':>9} {'cpu ms':>9} {'rss KiB':>9} {'wall x':>7} {'cpu x':>7}  command")
    for c in a.commands:
        wall, cpu, rss = med[c]
        rw = wall / peer[0] if peer[0] else float("nan")
        rc = cpu / peer[1] if peer[1] else float("nan")
        bad = "" if codes[c] == {0} else f"  (exit codes {sorted(codes[c])})"
        print(f"{wall*1000:9.1f} {cpu*1000:9.1f} {int(rss):9d} {rw:7.2f} {rc:7.2f}  {c}{bad}")
        if a.record:
            with open(a.record, "a") as f:
                f.write(json.dumps({"command": c, "peer": a.commands[0], "wall_ms": wall * 1000,
                                    "cpu_ms": cpu * 1000, "rss_kib": rss, "wall_x": rw,
                                    "cpu_x": rc, "ok": codes[c] == {0}}) + "\n")


if __name__ == "__main__":
    main()
