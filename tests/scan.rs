//! How `ls` copes with a machine that is not standing still or not all ours to read: processes
//! exiting mid-scan, an unprivileged caller, huge uids, other IPC namespaces, closed pipes.

use crate::fixtures::*;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// Every field of a row has the type and shape the contract gives it.
fn assert_well_formed(r: &Value) {
    let kinds = ["sysv", "posix", "memfd", "anon", "file", "deleted", "psem"];
    assert!(kinds.contains(&r["kind"].as_str().unwrap()), "{r}");
    assert!(r["size"].is_u64(), "{r}");
    assert!(r["stale"].is_boolean(), "{r}");
    assert_eq!(r["stale"] == true, r["stale_reason"].is_string(), "{r}");
    assert!(r["status"].is_array(), "{r}");
    if r["kind"] == "sysv" {
        assert!(r["id"].is_i64() && r["nattch"].is_u64(), "{r}");
        assert!(r["key"].as_str().unwrap().starts_with("0x"), "{r}");
    }
    for a in r["attachers"].as_array().unwrap() {
        assert!(a["pid"].as_i64().unwrap() > 0, "{r}");
        let hex = |v: &Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16);
        assert!(hex(&a["start"]).unwrap() < hex(&a["end"]).unwrap(), "{r}");
        assert_eq!(a["perms"].as_str().unwrap().len(), 4, "{r}");
    }
}

#[test]
fn processes_exiting_during_scans_are_skipped() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let seg = SysvSeg::new(4096, 1);
    let obj = PosixObj::new(4096, 2);
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicUsize::new(0));
    // Several threads each start holders of every kind and end them at once: hundreds of
    // short-lived processes mapping and unmapping while ls runs.
    let churners: Vec<_> = (0..3)
        .map(|t| {
            let (stop, made) = (stop.clone(), made.clone());
            let holds = vec![
                Hold::Sysv(seg.shmid),
                Hold::File(obj.path.clone()),
                Hold::Memfd {
                    name: format!("churn{t}"),
                    size: 8192,
                    seed: 1,
                },
                Hold::Anon {
                    size: 8192,
                    seed: 2,
                },
            ];
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let h = Holder::spawn(&holds);
                    made.fetch_add(h.pids.len(), Ordering::Relaxed);
                    drop(h);
                }
            })
        })
        .collect();
    let mut runs = 0;
    while runs < 15 || made.load(Ordering::Relaxed) < 300 {
        let rows = ls_json(&[]);
        assert!(rows.iter().any(|r| r["id"] == seg.shmid), "segment listed");
        for r in &rows {
            assert_well_formed(r);
        }
        runs += 1;
        assert!(runs < 2000, "churn never reached 300 processes");
    }
    stop.store(true, Ordering::Relaxed);
    for c in churners {
        c.join().unwrap();
    }
}

#[test]
fn huge_uid_owner_does_not_break_parsing() {
    if !is_root() {
        return skip("changing a segment's owner to uid 165536 needs root");
    }
    let seg = SysvSeg::new(4096, 1);
    let mut ds = seg.stat().unwrap();
    ds.shm_perm.uid = 165536;
    ds.shm_perm.gid = 165536;
    let r = unsafe { libc::shmctl(seg.shmid, libc::IPC_SET, &mut ds) };
    assert_eq!(r, 0, "IPC_SET: {}", std::io::Error::last_os_error());
    let rows = ls_json(&["--kind", "sysv"]);
    let row = rows.iter().find(|r| r["id"] == seg.shmid).unwrap();
    assert_eq!(row["uid"], 165536);
    let (code, out, _) = run(&["ls", "--kind", "sysv"]);
    assert_eq!(code, 0);
    assert!(out.contains("165536"), "{out}");
}

#[test]
fn unprivileged_user_sees_every_segment_and_a_note() {
    if !is_root() {
        return skip("running as another user (setpriv) needs root");
    }
    let seg = SysvSeg::new(4096, 1);
    let h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let out = shmtool_as(65534)
        .args(["ls", "--json"])
        .output()
        .expect("run shmtool as uid 65534");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows.iter().find(|r| r["id"] == seg.shmid).expect("listed");
    // The kernel's own figures are world-readable; who attaches is not.
    assert_eq!(row["nattch"], 1);
    assert!(!row["attachers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["pid"] == h.pid));
    let err = String::from_utf8_lossy(&out.stderr);
    let notes: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("could not be read"))
        .collect();
    assert_eq!(notes.len(), 1, "{err}");
    assert!(notes[0].contains("root"), "{err}");
}

/// A process in a new IPC namespace that makes a segment with the given key and shmid (set via
/// shm_next_id) and stays attached until its stdin closes.
struct NsHolder {
    child: std::process::Child,
    pid: i32,
    shmid: i32,
}

const NS_SCRIPT: &str = r#"
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
key, want = int(sys.argv[1]), int(sys.argv[2])
open('/proc/sys/kernel/shm_next_id', 'w').write(str(want))
sid = libc.shmget(ctypes.c_int(key), 4096, 0o1600)
addr = libc.shmat(sid, None, 0)
print(sid, flush=True)
sys.stdin.read()
libc.shmctl(sid, 0, None)
"#;

impl NsHolder {
    fn spawn(key: u32, shmid: i32) -> Option<NsHolder> {
        let mut child = Command::new("unshare")
            .args(["--ipc", "python3", "-c", NS_SCRIPT])
            .arg((key as i32).to_string())
            .arg(shmid.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .ok()?;
        let got: i32 = line.trim().parse().ok()?;
        let pid = child.id() as i32;
        Some(NsHolder {
            child,
            pid,
            shmid: got,
        })
    }
}

impl Drop for NsHolder {
    fn drop(&mut self) {
        // Closing stdin ends it; its namespace and segment go with it.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn other_ipc_namespace_with_clashing_shmid_is_not_joined() {
    if !is_root() {
        return skip("unshare --ipc needs root");
    }
    let seg = SysvSeg::new(4096, 1);
    let h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    // Same key and same shmid, in another namespace: only the namespace tells them apart.
    let Some(ns) = NsHolder::spawn(seg.key, seg.shmid) else {
        return skip("unshare --ipc with python3 was refused here");
    };
    assert_eq!(
        ns.shmid, seg.shmid,
        "shm_next_id did not give the clashing id"
    );
    let (code, out, err) = run(&["ls", "--json", "--kind", "sysv"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let row = rows.iter().find(|r| r["id"] == seg.shmid).unwrap();
    let pids: Vec<i64> = row["attachers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(pids, vec![h.pid as i64], "namespace process joined: {row}");
    assert!(err.contains("other IPC namespace"), "{err}");
    let _ = ns.pid;
}

#[test]
fn closed_pipe_mid_output_exits_quietly() {
    // Enough output to overflow a pipe buffer, so the write after `head` exits really fails.
    let objs: Vec<PosixObj> = (0..150).map(|i| PosixObj::new(16, i as u8)).collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shmtool"))
        .args(["ls", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        use std::io::Read;
        stdout.read_exact(&mut first).unwrap();
        // Dropping the read end closes the pipe, as `| head -c1` would.
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("error") && !err.contains("panicked"), "{err}");
    drop(objs);
    let _ = std::io::stdout().flush();
}

fn ns_inode(pid: i32) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/ipc")).unwrap();
    let s = link.to_str().unwrap();
    s.trim_start_matches("ipc:[")
        .trim_end_matches(']')
        .parse()
        .unwrap()
}

#[test]
fn all_namespaces_lists_each_namespace_with_its_attachers() {
    if !is_root() {
        return skip("unshare --ipc and setns need root");
    }
    let seg = SysvSeg::new(4096, 1);
    let h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let Some(ns) = NsHolder::spawn(seg.key, seg.shmid) else {
        return skip("unshare --ipc with python3 was refused here");
    };
    let rows = ls_json(&["--all-namespaces", "--kind", "sysv"]);
    let same_id: Vec<&Value> = rows.iter().filter(|r| r["id"] == seg.shmid).collect();
    let theirs = same_id
        .iter()
        .find(|r| r["ipc_ns"] == ns_inode(ns.pid))
        .expect("the other namespace's segment is listed");
    let ours = same_id
        .iter()
        .find(|r| r["ipc_ns"] == ns_inode(std::process::id() as i32))
        .expect("our segment is listed");
    let pids = |r: &Value| -> Vec<i64> {
        r["attachers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["pid"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(pids(theirs), vec![ns.pid as i64]);
    assert_eq!(theirs["attachers"][0]["other_ipc_ns"], false);
    assert_eq!(pids(ours), vec![h.pid as i64]);
    let (code, out, _) = run(&["ls", "--all-namespaces", "--kind", "sysv"]);
    assert_eq!(code, 0);
    assert!(out.contains("IPCNS"), "{out}");
}

#[test]
fn ns_option_looks_from_inside_a_namespace() {
    if !is_root() {
        return skip("unshare --ipc and setns need root");
    }
    let host = SysvSeg::new(4096, 1);
    let Some(ns) = NsHolder::spawn(0x5157_0001, 424242) else {
        return skip("unshare --ipc with python3 was refused here");
    };
    let pid = ns.pid.to_string();
    let rows = ls_json(&["--ns", &pid, "--kind", "sysv"]);
    assert!(rows
        .iter()
        .all(|r| r["id"] != host.shmid || r["key"] != host.key_string()));
    let row = rows
        .iter()
        .find(|r| r["id"] == ns.shmid)
        .expect("namespace's segment listed");
    assert_eq!(row["key"], "0x51570001");
    assert_eq!(row["attachers"][0]["pid"], ns.pid);
    let (code, out, err) = run(&["--ns", &pid, "show", "0x51570001", "--json"]);
    assert_eq!(code, 0, "{err}");
    let one: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(one["id"], ns.shmid);
    // dump and rm act in that namespace too: its segment by its own id.
    let sid = ns.shmid.to_string();
    let (code, out, err) = run(&["--ns", &pid, "dump", "--shmid", &sid, "--length", "16"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("00 00 00 00"), "{out}");
    let (code, _, err) = run(&["--ns", &pid, "rm", &sid]);
    assert_eq!(code, 1, "an attached segment must be refused: {err}");
    assert!(err.contains(&ns.pid.to_string()), "{err}");
    let (code, _, err) = run(&["ls", "--ns", "999999999"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("shmtool: error: "), "{err}");
}

#[test]
fn thirty_thousand_segments_are_all_listed() {
    if !is_root() {
        return skip("raising kernel.shmmni inside unshare --ipc needs root");
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/many_segments.py");
    let out = Command::new("unshare")
        .args(["--ipc", "python3", script, "30000", "--"])
        .arg(env!("CARGO_BIN_EXE_shmtool"))
        .args(["ls", "--json", "--kind", "sysv"])
        .output()
        .expect("unshare");
    if !out.status.success() && out.stdout.is_empty() {
        return skip(&format!(
            "could not make 30000 segments in a new IPC namespace: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 30000);
    let mut keys: Vec<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 30000);
}

#[test]
fn attachers_in_other_namespaces_are_marked() {
    if !is_root() {
        return skip("unshare --ipc needs root");
    }
    let obj = PosixObj::new(4096, 1);
    let script = "import mmap,sys\nf=open(sys.argv[1],'r+b')\nm=mmap.mmap(f.fileno(),4096)\nprint('ok',flush=True)\nsys.stdin.read()";
    let mut child = match Command::new("unshare")
        .args(["--ipc", "python3", "-c", script])
        .arg(&obj.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => return skip("unshare is not available"),
    };
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.trim() != "ok" {
        drop(child.stdin.take());
        let _ = child.wait();
        return skip("unshare --ipc was refused here");
    }
    let pid = child.id() as i64;
    let rows = ls_json(&["--kind", "posix"]);
    let row = rows
        .iter()
        .find(|r| r["path"] == obj.path.to_str().unwrap())
        .expect("object listed");
    let a = row["attachers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["pid"] == pid)
        .expect("the namespaced process is an attacher");
    assert_eq!(a["other_ipc_ns"], true);
    let (_, table, _) = run(&["ls", "--kind", "posix"]);
    assert!(table.contains(&format!("{pid}(python3)*")), "{table}");
    assert!(
        table.contains("* process in another IPC namespace"),
        "{table}"
    );
    drop(child.stdin.take());
    let _ = child.wait();
}
