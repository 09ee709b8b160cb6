//! `ls --format prometheus`, read back by a real exposition-format parser.

use crate::fixtures::*;
use prometheus_parse::{Scrape, Value};
use std::collections::HashSet;
use std::io::BufRead;
use std::process::{Command, Stdio};

fn scrape(text: &str) -> Scrape {
    Scrape::parse(text.as_bytes().lines()).expect("valid exposition format")
}

fn gauge(v: &Value) -> f64 {
    match v {
        Value::Gauge(g) | Value::Untyped(g) => *g,
        other => panic!("not a gauge: {other:?}"),
    }
}

#[test]
fn prometheus_output_parses_and_counts_the_tests_objects() {
    let seg = SysvSeg::new(8192, 1);
    let _h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    // A leaked segment (an orphaned /dev/shm object may be `unknown` on a machine where some
    // process cannot be read).
    let orphan = SysvSeg::leaked(4096);
    let (code, out, err) = run(&["ls", "--format", "prometheus", "--per-object"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\u{1b}'));
    let s = scrape(&out);
    let id = seg.shmid.to_string();
    let bytes = s
        .samples
        .iter()
        .find(|x| x.metric == "shmtool_object_bytes" && x.labels.get("id") == Some(id.as_str()))
        .expect("segment exported");
    assert_eq!(gauge(&bytes.value), 8192.0);
    assert_eq!(bytes.labels.get("kind"), Some("sysv"));
    assert_eq!(bytes.labels.get("key"), Some(seg.key_string().as_str()));
    let att = s
        .samples
        .iter()
        .find(|x| x.metric == "shmtool_object_attachers" && x.labels.get("id") == Some(id.as_str()))
        .unwrap();
    assert_eq!(gauge(&att.value), 1.0);
    let orphan_id = orphan.shmid.to_string();
    let stale = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "shmtool_object_stale" && x.labels.get("id") == Some(orphan_id.as_str())
        })
        .expect("orphan exported");
    assert_eq!(gauge(&stale.value), 1.0);
    let stale_posix = s
        .samples
        .iter()
        .find(|x| x.metric == "shmtool_stale_bytes" && x.labels.get("kind") == Some("sysv"))
        .unwrap();
    assert!(gauge(&stale_posix.value) >= 4096.0);
    for name in [
        "shmtool_object_bytes",
        "shmtool_objects",
        "shmtool_bytes",
        "shmtool_stale_bytes",
        "shmtool_hidden_processes",
    ] {
        assert!(s.docs.contains_key(name), "no HELP for {name}");
    }
}

/// Every (name, label set) once: a repeated series is dropped by node_exporter on every scrape.
fn assert_no_duplicate_series(text: &str) {
    let s = scrape(text);
    let mut seen = HashSet::new();
    for x in &s.samples {
        let mut labels: Vec<(String, String)> = x
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.sort();
        assert!(
            seen.insert((x.metric.clone(), labels.clone())),
            "duplicate series {} {labels:?}",
            x.metric
        );
    }
}

/// `promtool check metrics` where Prometheus's tool is installed (apt: prometheus).
fn promtool_accepts(text: &str) {
    let mut cmd = Command::new("promtool");
    cmd.args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(_) => return skip("promtool is not installed (apt-get install prometheus)"),
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn aggregates_by_default_with_machine_facts_and_no_notes_when_quiet() {
    let seg = SysvSeg::new(8192, 3);
    let _h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let (code, out, err) = run(&["ls", "--format", "prometheus", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "", "--quiet prints nothing on stderr");
    assert!(
        !out.contains("shmtool_object_"),
        "per-object series only with --per-object"
    );
    let s = scrape(&out);
    let in_use = s
        .samples
        .iter()
        .filter(|x| {
            x.metric == "shmtool_bytes"
                && x.labels.get("kind") == Some("sysv")
                && x.labels.get("verdict") == Some("in use")
        })
        .map(|x| gauge(&x.value))
        .sum::<f64>();
    assert!(in_use >= 8192.0, "{out}");
    for name in [
        "shmtool_objects",
        "shmtool_bytes",
        "shmtool_dev_shm_size_bytes",
        "shmtool_dev_shm_used_bytes",
        "shmtool_dev_shm_inodes",
        "shmtool_sysv_shmmni",
        "shmtool_sysv_segments",
        "shmtool_sysv_shmall_pages",
        "shmtool_sysv_shmmax_bytes",
    ] {
        assert!(
            s.samples.iter().any(|x| x.metric == name),
            "no {name}:\n{out}"
        );
    }
    assert_no_duplicate_series(&out);
    promtool_accepts(&out);
    // Only the kinds asked for are reported, not zeros for the others.
    let (_, out, _) = run(&[
        "ls",
        "--format",
        "prometheus",
        "--kind",
        "sysv",
        "--per-object",
    ]);
    assert!(!out.contains("kind=\"posix\""), "{out}");
    assert!(
        out.contains("shmtool_stale_objects{kind=\"sysv\"}"),
        "{out}"
    );
    promtool_accepts(&out);
}

/// A process in a fresh IPC namespace of its own holding a segment with key `key` (the first
/// segment of a fresh namespace gets shmid 0, so two of them clash); the namespace and its
/// segment go when the process does (on drop: its stdin closes).
struct NsHolder(std::process::Child);

impl NsHolder {
    fn spawn(key: u32) -> Option<NsHolder> {
        let script = format!(
            "import ctypes,sys\nlibc=ctypes.CDLL(None)\nid=libc.shmget({key},4096,0o1600)\naddr=libc.shmat(id,None,0)\nprint(id,flush=True)\nsys.stdin.read()\n"
        );
        let mut child = Command::new("unshare")
            .args(["--ipc", "python3", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .ok()?;
        if line.trim().parse::<i32>().is_err() {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        Some(NsHolder(child))
    }
}

impl Drop for NsHolder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn no_duplicate_series_across_namespaces_with_clashing_ids() {
    if !is_root() {
        return skip("needs root (unshare --ipc, --all-namespaces)");
    }
    let key = 0x5e7a_0000 | (std::process::id() & 0xffff);
    let (Some(_a), Some(_b)) = (NsHolder::spawn(key), NsHolder::spawn(key)) else {
        return skip("unshare --ipc with python3 did not start");
    };
    let (code, out, err) = run(&[
        "ls",
        "--all-namespaces",
        "--kind",
        "sysv",
        "--format",
        "prometheus",
        "--per-object",
    ]);
    assert_eq!(code, 0, "{err}");
    let s = scrape(&out);
    let ours: Vec<_> = s
        .samples
        .iter()
        .filter(|x| {
            x.metric == "shmtool_object_bytes"
                && x.labels.get("key") == Some(format!("0x{key:08x}").as_str())
        })
        .collect();
    assert_eq!(ours.len(), 2, "both namespaces' segments exported:\n{out}");
    assert_ne!(ours[0].labels.get("ipc_ns"), ours[1].labels.get("ipc_ns"));
    assert_eq!(
        ours[0].labels.get("id"),
        ours[1].labels.get("id"),
        "the ids clash"
    );
    assert_no_duplicate_series(&out);
    promtool_accepts(&out);
}
