//! `shmtool limits` against the running kernel and a segment the test makes.

use crate::fixtures::*;
use serde_json::Value;

fn sysctl(name: &str) -> u64 {
    let path = format!("/proc/sys/kernel/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.trim().parse().unwrap()
}

fn limits_json() -> Value {
    let (code, out, err) = run(&["limits", "--json"]);
    assert_eq!(code, 0, "limits failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON ({e}): {out}"))
}

#[test]
fn json_limits_are_the_kernels_and_count_our_segment() {
    let size = 3 * 1024 * 1024 + 100;
    let seg = SysvSeg::new(size, 21);
    let l = limits_json();
    assert_eq!(l["shmmax"].as_u64(), Some(sysctl("shmmax")));
    assert_eq!(l["shmall_pages"].as_u64(), Some(sysctl("shmall")));
    assert_eq!(l["shmmni"].as_u64(), Some(sysctl("shmmni")));
    assert_eq!(
        l["shm_rmid_forced"].as_bool(),
        Some(sysctl("shm_rmid_forced") != 0)
    );
    // Other segments may exist: ours is at least counted.
    let page = l["page_size"].as_u64().unwrap();
    assert!(l["segments"].as_u64().unwrap() >= 1, "{l}");
    assert!(l["largest_segment"].as_u64().unwrap() >= size as u64, "{l}");
    assert!(
        l["used_pages"].as_u64().unwrap() >= (size as u64).div_ceil(page),
        "{l}"
    );
    let shm = &l["dev_shm"];
    assert_eq!(shm["path"], "/dev/shm");
    assert!(shm["size"].as_u64().unwrap() >= shm["used"].as_u64().unwrap());
    assert!(seg.exists());
}

#[test]
fn table_has_each_limit() {
    let seg = SysvSeg::new(8192, 22);
    for args in [&["limits"][..], &["limits", "--bytes"]] {
        let (code, out, err) = run(args);
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains('\u{1b}'));
        let first: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(first, ["LIMIT", "VALUE", "IN", "USE", "USE", "MEANING"]);
        for name in ["shmmax", "shmall", "shmmni", "/dev/shm"] {
            assert!(
                out.lines().any(|l| l.starts_with(&format!("{name} "))),
                "no {name} row: {out}"
            );
        }
    }
    let (_, out, _) = run(&["limits", "--bytes"]);
    let shmmni = out.lines().find(|l| l.starts_with("shmmni ")).unwrap();
    let cells: Vec<&str> = shmmni.split_whitespace().collect();
    assert_eq!(cells[1], sysctl("shmmni").to_string());
    assert!(cells[2].parse::<u64>().unwrap() >= 1);
    drop(seg);
}
