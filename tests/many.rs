//! `ls` at scale (issue 13: any user can make 200,000 files in /dev/shm, and `ls` holds every
//! row): every file is listed, and the peak memory per row stays small. The files live in a
//! private tmpfs (root: `unshare --mount`) handed over with `--shm-dir`, so nothing on the machine
//! sees them and nothing is left behind.

use crate::fixtures::*;
use std::process::{Command, Stdio};

/// Files made for the test; enough that the rows, not the scan of /proc, set the peak.
const FILES: usize = 40_000;

/// Peak bytes per row allowed above a listing of an empty directory. Rows, paths and their
/// index take about 270 (README, Performance); before rows were made compact, a table took
/// over 600 at this size and 1,700 at 200,000 rows.
const BYTES_PER_ROW: u64 = 400;

/// Run in a private mount namespace: mount a tmpfs, list it empty, make the files, list them
/// again; each listing's peak RSS from wait4 of that one child, and the lines of its output that
/// name a file made here, counted as they stream by (a child's peak includes what its parent
/// held when it forked, so the parent holds nothing big). Prints one JSON object.
const SCRIPT: &str = r#"
import json, os, subprocess, sys, tempfile
bin, n = sys.argv[1], int(sys.argv[2])
d = tempfile.mkdtemp(prefix="shmtool-many-")
def run(args):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        null = os.open("/dev/null", os.O_WRONLY)
        os.dup2(null, 2)
        os.execv(bin, [bin, "--shm-dir", d, "ls", "--kind", "posix"] + args)
    os.close(w)
    mine = (d + "/many_").encode()
    lines = 0
    with os.fdopen(r, "rb") as out:
        for line in out:
            lines += mine in line
    _, status, ru = os.wait4(pid, 0)
    return {"status": status, "lines": lines, "kib": ru.ru_maxrss}
try:
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,nr_inodes=0", "shmtool-many", d], check=True)
    res = {"empty_json": run(["--json"]), "empty_table": run([])}
    for i in range(n):
        os.close(os.open(f"{d}/many_{i:06d}", os.O_CREAT | os.O_WRONLY, 0o600))
    res["json"] = run(["--json"])
    res["table"] = run([])
    print(json.dumps(res))
finally:
    subprocess.run(["umount", d])
    os.rmdir(d)
"#;

#[test]
fn ls_lists_every_one_of_many_files_in_little_memory_per_row() {
    if !is_root() {
        return skip("a private tmpfs (unshare --mount) needs root");
    }
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "python3",
            "-c",
            SCRIPT,
        ])
        .arg(env!("CARGO_BIN_EXE_shmtool"))
        .arg(FILES.to_string())
        .env("LC_ALL", "C")
        .env("TERM", "dumb")
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            return skip(&format!(
                "unshare --mount with python3 failed here: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
        Err(e) => return skip(&format!("unshare cannot run: {e}")),
    };
    let res: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");
    for run in ["empty_json", "empty_table", "json", "table"] {
        assert_eq!(res[run]["status"], 0, "{run} failed");
    }
    // Every file is a row, in both forms (in the JSON, the line of its path).
    assert_eq!(res["json"]["lines"], FILES);
    assert_eq!(res["table"]["lines"], FILES);
    // The peak grows by little more than the rows themselves.
    for (empty, full) in [("empty_json", "json"), ("empty_table", "table")] {
        let kib = |k: &str| res[k]["kib"].as_u64().unwrap();
        let per_row = kib(full).saturating_sub(kib(empty)) * 1024 / FILES as u64;
        assert!(
            per_row < BYTES_PER_ROW,
            "{full}: {per_row} bytes per row at peak ({} KiB, empty {} KiB)",
            kib(full),
            kib(empty)
        );
    }
}
