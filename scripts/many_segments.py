"""Make N System V segments in the current IPC namespace (run it under `unshare --ipc`, where
kernel.shmmni can be raised for that namespace alone), then run the command given after `--`
and exit. The namespace, and every segment in it, goes away when the last process in it exits.

    unshare --ipc python3 scripts/many_segments.py 30000 -- shmtool ls --json
"""
import ctypes
import os
import subprocess
import sys

n = int(sys.argv[1])
cmd = sys.argv[sys.argv.index("--") + 1:]
with open("/proc/sys/kernel/shmmni", "w") as f:
    f.write(str(max(n + 16, 4096)))
libc = ctypes.CDLL(None, use_errno=True)
for i in range(n):
    if libc.shmget(ctypes.c_int(0x10000 + i), 4096, 0o1600) < 0:
        sys.exit(f"shmget {i}: {os.strerror(ctypes.get_errno())}")
sys.exit(subprocess.call(cmd))
