//! Mount namespaces: a private mount namespace with a tmpfs of its own on /dev/shm (as Docker
//! and Kubernetes give every container) is listed once by `--all-namespaces`, with exactly its
//! objects, and `--ns` shows only those, named as the container names them.

use crate::fixtures::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `unshare --mount --ipc --pid --fork` running a shell that mounted its own /dev/shm, made
/// two files there and waits. Killed and reaped on drop.
struct Container {
    unshare: Child,
    /// The shell inside, as the host numbers it.
    pid: i32,
}

impl Container {
    fn start(files: &[(&str, usize)]) -> Option<Container> {
        let mut script =
            String::from("mount -t tmpfs -o size=4m shmtool-test /dev/shm || exit 1\n");
        for (name, size) in files {
            script.push_str(&format!("head -c {size} /dev/zero > /dev/shm/{name}\n"));
        }
        script.push_str("echo ready\nexec sleep 600\n");
        let mut unshare = Command::new("unshare")
            .args([
                "--mount",
                "--ipc",
                "--pid",
                "--fork",
                "--propagation",
                "private",
            ])
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        let out = unshare.stdout.take()?;
        BufReader::new(out).read_line(&mut line).ok()?;
        if line.trim() != "ready" {
            let _ = unshare.kill();
            let _ = unshare.wait();
            return None;
        }
        let children = std::fs::read_to_string(format!(
            "/proc/{}/task/{}/children",
            unshare.id(),
            unshare.id()
        ))
        .ok()?;
        let pid = children.split_whitespace().next()?.parse().ok()?;
        Some(Container { unshare, pid })
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // The shell is pid 1 of its pid namespace: killing it ends everything inside.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

#[test]
fn a_containers_own_dev_shm_is_listed_once_and_ns_shows_only_it() {
    if !is_root() {
        return skip("a private mount namespace with its own /dev/shm needs root");
    }
    let host = PosixObj::new(4096, 61);
    let a = unique_name("inner-a");
    let b = unique_name("inner-b");
    let Some(c) = Container::start(&[(&a, 100), (&b, 10_000)]) else {
        return skip("unshare --mount --ipc --pid --fork could not make a container here");
    };
    let pa = format!("/dev/shm/{a}");
    let pb = format!("/dev/shm/{b}");

    // All namespaces: its two files once each, on its /dev/shm, named by who has it.
    let rows = ls_json(&["--all-namespaces", "--kind", "posix"]);
    // Named by a process that sees it (unshare itself, or the shell it forked).
    let seers = [c.pid as i64, c.unshare.id() as i64];
    let mount = rows
        .iter()
        .find(|r| r["path"] == pa.as_str())
        .and_then(|r| r["shm_mount"].as_str())
        .unwrap_or_else(|| panic!("{pa} not listed with its /dev/shm: {rows:?}"))
        .to_string();
    assert!(
        seers.iter().any(|p| mount.contains(&p.to_string())),
        "{mount}"
    );
    let theirs: Vec<&Value> = rows
        .iter()
        .filter(|r| r["shm_mount"] == mount.as_str())
        .collect();
    let mut paths: Vec<&str> = theirs.iter().map(|r| r["path"].as_str().unwrap()).collect();
    paths.sort();
    let mut want = vec![pa.as_str(), pb.as_str()];
    want.sort();
    assert_eq!(paths, want, "{theirs:?}");
    let big = theirs.iter().find(|r| r["path"] == pb.as_str()).unwrap();
    assert_eq!(big["size"], 10_000);
    assert_eq!(big["rss"], 12_288);
    // The host's object is still the host's.
    let hp = host.path.to_str().unwrap();
    let h: Vec<&Value> = rows.iter().filter(|r| r["path"] == hp).collect();
    assert_eq!(h.len(), 1);
    assert!(h[0]["shm_mount"].is_null());
    // The table says how full that /dev/shm is.
    let (code, out, err) = run(&["ls", "--all-namespaces", "--kind", "posix"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().any(
            |l| l.starts_with(&format!("/dev/shm of {mount}: ")) && l.contains("of 4 MiB used")
        ),
        "{out}"
    );

    // --ns: its /dev/shm only, as it names it; none of the host's; no note about others.
    let pid = c.pid.to_string();
    let (code, out, err) = run(&["--ns", &pid, "ls", "--json", "--kind", "posix"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let mut paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    paths.sort();
    assert_eq!(paths, want, "{out}");
    assert!(!err.contains("other IPC namespaces"), "{err}");
    assert!(!out.contains("/proc/"), "{out}");

    // limits: each /dev/shm side by side.
    let (code, out, err) = run(&["limits", "--all-namespaces", "--json"]);
    assert_eq!(code, 0, "{err}");
    let l: Value = serde_json::from_str(&out).unwrap();
    let m = l["dev_shm_containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| seers.iter().any(|p| m["pid"] == *p))
        .unwrap_or_else(|| panic!("no entry for {}: {out}", c.pid));
    assert_eq!(m["size"], 4 << 20);
    assert!(m["used"].as_u64().unwrap() >= 12_288 + 4096, "{m}");
    drop(c);
}
