//! `shmtool rm`: removes only what it is asked to, refuses what is in use, and `--stale` takes
//! exactly the leaked objects. Tests remove only objects they made: real `rm --stale` runs only
//! inside a private IPC namespace with a private directory standing in for /dev/shm.

use crate::fixtures::*;
use serde_json::Value;
use shmtool::source::remove::{self, Refusal, SysvIdentity};

fn is_dest(seg: &SysvSeg) -> bool {
    seg.stat()
        .is_some_and(|ds| ds.shm_perm.mode as u32 & 0o1000 != 0)
}

fn one_error_line(code: i32, out: &str, err: &str) {
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "stdout: {out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("shmtool: error: "), "{err}");
}

#[test]
fn dry_run_removes_nothing() {
    let seg = SysvSeg::new(4096, 1);
    let obj = PosixObj::new(100, 2);
    let id = seg.shmid.to_string();
    // Without root, an object that processes we cannot read could hold is removed by name
    // only with --force (tests/verdicts.rs checks the refusal).
    let mut args = vec!["rm", &id, "--posix", &obj.name, "--dry-run"];
    if !is_root() {
        args.push("--force");
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would remove"), "{out}");
    assert!(out.contains("dry run"), "{out}");
    assert!(seg.exists() && !is_dest(&seg));
    assert!(obj.path.exists());

    // --stale --dry-run lists a leaked segment and an orphaned object, and leaves them be;
    // objects in use are not listed.
    let leaked = SysvSeg::leaked(8192);
    let orphan = PosixObj::new(64, 3);
    let used = SysvSeg::new(4096, 4);
    let mapped = PosixObj::new(4096, 5);
    let _h = Holder::spawn(&[Hold::Sysv(used.shmid), Hold::File(mapped.path.clone())]);
    let (code, out, err) = run(&["rm", "--stale", "--dry-run", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["dry_run"], true);
    let results = v["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["result"] == "would_remove"));
    let has_id = |id: i32| results.iter().any(|r| r["id"] == id);
    let has_path = |p: &std::path::Path| results.iter().any(|r| r["path"] == p.to_str().unwrap());
    assert!(has_id(leaked.shmid), "leaked segment not listed: {out}");
    // An orphaned object is removable only when every process that could hold it was seen
    // (tests/verdicts.rs checks it in a private namespace); here it goes exactly when leaked.
    let listed_leaked = ls_json(&[])
        .iter()
        .any(|r| r["path"] == orphan.path.to_str().unwrap() && r["verdict"] == "leaked");
    assert_eq!(has_path(&orphan.path), listed_leaked, "{out}");
    assert!(!has_id(used.shmid) && !has_id(seg.shmid));
    assert!(!has_path(&mapped.path));
    assert!(leaked.exists() && orphan.path.exists());
}

#[test]
fn attached_segment_is_refused_then_removed_with_force() {
    let mut seg = SysvSeg::new(4096, 1);
    let mut h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let id = seg.shmid.to_string();
    let (code, out, err) = run(&["rm", &id]);
    one_error_line(code, &out, &err);
    assert!(err.contains(&h.pid.to_string()), "holder not named: {err}");
    assert!(
        seg.exists() && !is_dest(&seg),
        "refused segment was touched"
    );

    let (code, out, err) = run(&["rm", &id, "--force", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["results"][0]["result"], "marked");
    assert_eq!(v["results"][0]["held_by"], serde_json::json!([h.pid]));
    assert!(is_dest(&seg), "not marked for removal");
    h.stop();
    assert!(!seg.exists(), "still there after the last detach");
    seg.forget();
}

#[test]
fn mapped_posix_object_is_refused() {
    let obj = PosixObj::new(4096, 1);
    let h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let (code, out, err) = run(&["rm", "--posix", &obj.name]);
    one_error_line(code, &out, &err);
    assert!(err.contains(&h.pid.to_string()), "{err}");
    assert!(obj.path.exists());

    // --force takes the name away; the holder keeps its memory, so nothing counts as freed.
    let (code, out, err) = run(&["rm", "--posix", &obj.name, "--force", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["results"][0]["result"], "removed");
    assert_eq!(v["results"][0]["held_by"], serde_json::json!([h.pid]));
    assert_eq!(v["bytes_freed"], 0);
    assert!(!obj.path.exists());
}

#[test]
fn unattached_segment_and_object_are_removed() {
    let mut seg = SysvSeg::new(8192, 1);
    let mut by_key = SysvSeg::new(4096, 2);
    let obj = PosixObj::new(100, 3);
    let slash_name = format!("/{}", obj.name);
    // Without root, processes we cannot read could hold the object: --force says remove it.
    let force = if is_root() { "--key" } else { "--force" };
    let mut args = vec![
        "rm".to_string(),
        seg.shmid.to_string(),
        "--key".into(),
        by_key.key_string(),
        "--posix".into(),
        slash_name.clone(),
    ];
    if force == "--force" {
        args.push(force.into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // A segment frees its size; a file its allocated blocks (100 bytes take a page or more).
    let freed = 8192 + 4096 + allocated(&obj.path);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(!seg.exists() && !by_key.exists() && !obj.path.exists());
    seg.forget();
    by_key.forget();
    assert!(out.contains("removed 3 object(s)"), "{out}");
    assert!(out.contains(&format!("{} freed", human(freed))), "{out}");
}

#[test]
fn gone_id_and_key_are_clean_errors() {
    let mut seg = SysvSeg::new(4096, 1);
    let id = seg.shmid.to_string();
    let key = seg.key_string();
    seg.remove();
    for args in [
        &["rm", id.as_str()][..],
        &["rm", "--key", key.as_str()],
        &["rm", "--posix", "shmtool-test-no-such-object"],
    ] {
        let (code, out, err) = run(args);
        one_error_line(code, &out, &err);
    }
    // One bad id among good ones: nothing is removed.
    let other = SysvSeg::new(4096, 2);
    let (code, out, err) = run(&["rm", &other.shmid.to_string(), &id]);
    one_error_line(code, &out, &err);
    assert!(err.contains("nothing removed"), "{err}");
    assert!(other.exists());
}

#[test]
fn key_zero_is_refused() {
    for k in ["0", "0x00000000"] {
        let (code, out, err) = run(&["rm", "--key", k]);
        one_error_line(code, &out, &err);
        assert!(err.contains("IPC_PRIVATE"), "{err}");
    }
}

#[test]
fn reused_id_is_not_removed() {
    let mut seg = SysvSeg::new(4096, 1);
    let now = remove::sysv_stat(seg.shmid).expect("IPC_STAT").identity;
    // What rm would have recorded if, when it listed, this shmid had been another segment.
    for listed in [
        SysvIdentity {
            cpid: now.cpid + 1,
            ..now
        },
        SysvIdentity {
            ctime: now.ctime - 60,
            ..now
        },
        SysvIdentity {
            key: now.key ^ 1,
            ..now
        },
    ] {
        assert!(matches!(
            remove::check_unchanged(&listed, &now),
            Err(Refusal::Reused { .. })
        ));
        assert!(matches!(
            remove::remove_sysv(&listed, false),
            Err(Refusal::Reused { .. })
        ));
        assert!(seg.exists() && !is_dest(&seg), "reused id was removed");
    }
    // The identity it really has: removed.
    assert!(remove::remove_sysv(&now, false).is_ok());
    assert!(!seg.exists());
    seg.forget();
}

#[test]
fn posix_names_outside_dev_shm_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    // /dev/shm/../../<victim> would reach it if the name were used as a path.
    let escape = format!("../..{}", victim.display());
    for name in [
        "../x",
        escape.as_str(),
        "..",
        ".",
        "",
        "a/b",
        victim.to_str().unwrap(),
    ] {
        let (code, out, err) = run(&["rm", "--posix", name]);
        one_error_line(code, &out, &err);
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
}

#[test]
fn non_owner_gets_a_clear_permission_error() {
    if !is_root() {
        return skip("needs root to run shmtool as another user");
    }
    let seg = SysvSeg::with_mode(4096, 1, 0o644);
    let out = shmtool_as(65534)
        .args(["rm", &seg.shmid.to_string()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    assert!(seg.exists());
}

/// Run shmtool on a pseudo-terminal made by script(1), typing `answer`; its output, or None
/// when script is missing or cannot make a terminal.
fn answer_on_terminal(args: &[&str], answer: &str) -> Option<String> {
    use std::io::Write;
    let line = std::iter::once(env!("CARGO_BIN_EXE_shmtool"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    writeln!(child.stdin.take()?, "{answer}").ok()?;
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && text.contains("[y/N]")).then_some(text)
}

/// Real `rm --stale` would remove every leaked object on the machine, including ones that are
/// not ours. So it runs (in [`stale_inner_private_namespace`]) in private IPC and mount
/// namespaces with a private tmpfs over /dev/shm, where the only objects are the test's.
#[test]
fn stale_removes_leaked_and_orphaned_and_leaves_used_alone() {
    run_isolated("rm::stale_inner_private_namespace");
}

#[test]
#[ignore = "run by stale_removes_leaked_and_orphaned_and_leaves_used_alone in a private IPC namespace"]
fn stale_inner_private_namespace() {
    // Only ever act inside the namespaces the outer test made.
    if !enter_isolated() {
        return;
    }

    let mut leaked = SysvSeg::leaked(8192);
    let used = SysvSeg::new(4096, 1);
    let mine = SysvSeg::new(4096, 2); // unattached, but its creator (this test) is alive
    let orphan = PosixObj::new(100, 3);
    let mapped = PosixObj::new(4096, 4);
    let _h = Holder::spawn(&[Hold::Sysv(used.shmid), Hold::File(mapped.path.clone())]);

    // No terminal and no --yes: a usage error, and nothing goes.
    let (code, out, err) = run(&["rm", "--stale"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(leaked.exists() && orphan.path.exists());

    // On a terminal it asks once, listing what would go; "n" keeps everything.
    match answer_on_terminal(&["rm", "--stale"], "n") {
        Some(text) => {
            assert!(text.contains("Remove them? [y/N]"), "{text}");
            assert!(text.contains(&leaked.shmid.to_string()), "{text}");
            assert!(text.contains(&orphan.name), "{text}");
            assert!(text.contains("nothing removed"), "{text}");
            assert!(leaked.exists() && orphan.path.exists());
        }
        None => skip("script(1) cannot give shmtool a terminal here"),
    }

    let orphan_blocks = allocated(&orphan.path);
    let (code, out, err) = run(&["rm", "--stale", "--yes", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{out}");
    assert!(results.iter().all(|r| r["result"] == "removed"), "{out}");
    // The segment frees its size, the 100-byte file its allocated blocks.
    assert_eq!(v["bytes_freed"], 8192 + orphan_blocks);
    assert!(!leaked.exists(), "leaked segment still there");
    leaked.forget();
    assert!(!orphan.path.exists(), "orphan still there");
    assert!(used.exists() && !is_dest(&used));
    assert!(mine.exists());
    assert!(mapped.path.exists());
    println!("INNER-OK");
}

/// `--force` where an unprivileged run needs it (processes it cannot read could hold the object).
fn rm_json(args: &[&str]) -> Value {
    let mut all = vec!["rm", "--json"];
    all.extend_from_slice(args);
    if !is_root() {
        all.push("--force");
    }
    let (code, out, err) = run(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON ({e}): {out}"))
}

/// Bytes the filesystem has allocated to a file (st_blocks × 512).
fn allocated(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

#[test]
fn hard_links_are_one_object_found_by_either_name_and_freed_with_the_last() {
    let a = PosixObj::new(8192, 7);
    let b_name = format!("{}-hl", a.name);
    let b = PosixObj {
        path: a.path.with_file_name(&b_name),
        name: b_name,
        size: a.size,
    };
    std::fs::hard_link(&a.path, &b.path).unwrap();
    let (pa, pb) = (a.path.to_str().unwrap(), b.path.to_str().unwrap());

    // One row, named by its first name, listing both.
    let rows = ls_json(&["--kind", "posix"]);
    let mine: Vec<&Value> = rows
        .iter()
        .filter(|r| r["path"] == pa || r["path"] == pb)
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["path"], pa);
    assert_eq!(mine[0]["names"], serde_json::json!([pa, pb]));
    let inode = mine[0]["inode"].clone();
    let (code, table, err) = run(&["ls", "--kind", "posix", "--wide"]);
    assert_eq!(code, 0, "{err}");
    assert!(table.contains(&format!("{pa} +1")), "{table}");

    // Either name finds it.
    for name in [&a.name, &b.name] {
        let (code, out, err) = run(&["show", name, "--json"]);
        assert_eq!(code, 0, "{name}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["inode"], inode, "{name}");
    }

    // Removing one name frees nothing: the object lives on under the other.
    let blocks = allocated(&a.path);
    let v = rm_json(&["--posix", &b.name]);
    assert_eq!(v["results"][0]["result"], "removed", "{v}");
    assert_eq!(v["results"][0]["freed"], 0, "{v}");
    assert_eq!(v["bytes_freed"], 0, "{v}");
    let why = v["results"][0]["reason"].as_str().unwrap_or("");
    assert!(why.contains("lives on under its 1 other name"), "{v}");
    assert!(!b.path.exists() && a.path.exists());

    // The last name takes the object, and frees its allocated blocks.
    let v = rm_json(&["--posix", &a.name]);
    assert_eq!(v["results"][0]["freed"], blocks, "{v}");
    assert_eq!(v["bytes_freed"], blocks, "{v}");
    assert!(!a.path.exists());
}

#[test]
fn a_sparse_object_frees_its_blocks_not_its_size() {
    use std::os::unix::fs::FileExt;
    let obj = PosixObj::new(0, 0);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&obj.path)
        .unwrap();
    f.set_len(100 << 30).unwrap();
    f.write_all_at(&[0x5a; 4096], 0).unwrap();
    drop(f);
    let blocks = allocated(&obj.path);
    assert!((4096..1 << 30).contains(&blocks), "{blocks}");

    let mut args = vec!["rm", "--posix", &obj.name];
    if !is_root() {
        args.push("--force");
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("100 GiB freed"), "{out}");
    assert!(out.contains(&format!("{} freed", human(blocks))), "{out}");
    assert!(!obj.path.exists());

    let again = PosixObj::new(0, 0);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&again.path)
        .unwrap();
    f.set_len(100 << 30).unwrap();
    f.write_all_at(&[0x5a; 4096], 0).unwrap();
    drop(f);
    let blocks = allocated(&again.path);
    let v = rm_json(&["--posix", &again.name, "--dry-run"]);
    assert_eq!(v["results"][0]["size"], 100u64 << 30, "{v}");
    assert_eq!(v["results"][0]["freed"], blocks, "{v}");
    assert_eq!(v["bytes_would_free"], blocks, "{v}");
    assert_eq!(v["bytes_freed"], 0, "{v}");
    let v = rm_json(&["--posix", &again.name]);
    assert_eq!(v["bytes_freed"], blocks, "{v}");
    assert!(!again.path.exists());
}

/// Sizes as the summary line writes them (binary units).
fn human(b: u64) -> String {
    shmtool::units::human_size(b)
}
