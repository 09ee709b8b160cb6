//! The RemoveIPC risk warning in `limits` and `show`, against a captured /etc and a real segment
//! handed to a regular user's uid.

use crate::fixtures::*;
use serde_json::Value;

/// A root with logind installed and RemoveIPC as given (None: not configured, the default).
fn sysconf(remove_ipc: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/lib/systemd")).unwrap();
    std::fs::write(root.join("usr/lib/systemd/systemd-logind"), "").unwrap();
    std::fs::create_dir_all(root.join("etc/systemd")).unwrap();
    std::fs::write(
        root.join("etc/login.defs"),
        "UID_MIN 1000\nSYS_UID_MAX 999\n",
    )
    .unwrap();
    if let Some(v) = remove_ipc {
        std::fs::write(
            root.join("etc/systemd/logind.conf"),
            format!("[Login]\nRemoveIPC={v}\n"),
        )
        .unwrap();
    }
    dir
}

fn with_root(dir: &tempfile::TempDir, args: &[&str]) -> (i32, String, String) {
    let out = shmtool()
        .env("SHMTOOL_SYSCONF_ROOT", dir.path())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A segment of ours, owned (IPC_SET) by uid 4321, a regular user.
fn regular_users_segment() -> Option<SysvSeg> {
    if !is_root() {
        skip("giving a segment to another uid needs root");
        return None;
    }
    let seg = SysvSeg::new(4096, 3);
    let mut ds = seg.stat().unwrap();
    ds.shm_perm.uid = 4321;
    assert_eq!(
        unsafe { libc::shmctl(seg.shmid, libc::IPC_SET, &mut ds) },
        0
    );
    Some(seg)
}

#[test]
fn limits_warns_when_remove_ipc_would_take_a_regular_users_segment() {
    let Some(seg) = regular_users_segment() else {
        return;
    };
    let on = sysconf(None);
    let (code, out, err) = with_root(&on, &["limits", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    crate::schema::check("limits", &v);
    let r = &v["remove_ipc"];
    assert_eq!(r["enabled"], true);
    assert_eq!(r["sys_uid_max"], 999);
    assert!(
        r["at_risk"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == seg.shmid
                && a["uid"] == 4321
                && a["kind"] == "sysv"
                // The owner's name where the warning gives one; uid 4321 has none here.
                && (a["user"].is_null() || a["user"].is_string())),
        "{r}"
    );
    let (_, out, _) = with_root(&on, &["limits"]);
    assert!(out.contains("warning: systemd-logind removes"), "{out}");
    assert!(out.contains("(uid 4321)"), "{out}");
    assert!(out.contains("RemoveIPC=yes, the default"), "{out}");

    let (_, out, _) = with_root(&on, &["show", &seg.shmid.to_string()]);
    assert!(out.contains("warning: systemd-logind removes"), "{out}");

    // Turned off: no warning, and the file that says so is named.
    let off = sysconf(Some("no"));
    let (_, out, _) = with_root(&off, &["limits", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["remove_ipc"]["enabled"], false);
    assert!(v["remove_ipc"]["source"]
        .as_str()
        .unwrap()
        .ends_with("etc/systemd/logind.conf"));
    assert_eq!(v["remove_ipc"]["at_risk"], serde_json::json!([]));
    let (_, out, _) = with_root(&off, &["limits"]);
    assert!(!out.contains("warning"), "{out}");
    let (_, out, _) = with_root(&off, &["show", &seg.shmid.to_string()]);
    assert!(!out.contains("warning"), "{out}");
}

#[test]
fn no_logind_no_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = with_root(&dir, &["limits", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["remove_ipc"].is_null(), "{v}");
}
