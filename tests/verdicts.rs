//! Verdicts (in use / idle / leaked / unknown) with their evidence, and `rm --stale` acting on
//! them: filters, the last-moment re-check at pause points, `--backup` and `restore`. Anything
//! that removes by verdict runs inside private IPC and mount namespaces with a private tmpfs over
//! /dev/shm (see `fixtures::run_isolated`), so it can touch nothing but what the test made.

use crate::fixtures::*;
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn row<'a>(rows: &'a [Value], path: &std::path::Path) -> &'a Value {
    let p = path.to_str().unwrap();
    rows.iter()
        .find(|r| r["path"] == p)
        .unwrap_or_else(|| panic!("{p} not listed"))
}

fn sysv_row(rows: &[Value], shmid: i32) -> &Value {
    rows.iter()
        .find(|r| r["kind"] == "sysv" && r["id"] == shmid)
        .unwrap_or_else(|| panic!("shmid {shmid} not listed"))
}

/// An IPC_PRIVATE segment made (and left) by a child that has exited.
fn private_orphan(size: usize) -> SysvSeg {
    let (r, w) = nix::unistd::pipe().unwrap();
    let pid = {
        let _g = fork_guard();
        unsafe { libc::fork() }
    };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe {
            let id = libc::shmget(libc::IPC_PRIVATE, size, libc::IPC_CREAT | 0o600);
            let bytes = id.to_ne_bytes();
            libc::write(
                std::os::fd::AsRawFd::as_raw_fd(&w),
                bytes.as_ptr().cast(),
                4,
            );
            libc::_exit(0);
        }
    }
    drop(w);
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let mut b = [0u8; 4];
    nix::unistd::read(&r, &mut b).unwrap();
    let shmid = i32::from_ne_bytes(b);
    assert!(shmid >= 0, "child could not make a segment");
    SysvSeg::adopt(shmid, 0, size)
}

fn with_config(cmd: &mut std::process::Command, config: &std::path::Path) {
    cmd.env("XDG_CONFIG_HOME", config);
}

fn ls_in(config: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let mut c = shmtool();
    c.args(["ls", "--json"]).args(extra);
    with_config(&mut c, config);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rm_in(config: &std::path::Path, extra: &[&str]) -> Value {
    let mut c = shmtool();
    c.args(["rm", "--stale", "--json"]).args(extra);
    with_config(&mut c, config);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A process with a command name of its own (a copy of sleep(1)), killed on drop.
struct Named(Child);

impl Named {
    fn start(dir: &std::path::Path, comm: &str) -> Named {
        let exe = dir.join(comm);
        std::fs::copy("/bin/sleep", &exe).unwrap();
        Named(std::process::Command::new(&exe).arg("600").spawn().unwrap())
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn verdicts_and_filters_in_a_private_namespace() {
    run_isolated("verdicts::inner_verdicts_and_filters");
}

#[test]
#[ignore = "run by verdicts_and_filters_in_a_private_namespace"]
fn inner_verdicts_and_filters() {
    if !enter_isolated() {
        return;
    }
    let config = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(config.path().join("shmtool")).unwrap();
    std::fs::write(
        config.path().join("shmtool/owners.conf"),
        "# test rules\nvrdct-owned-*  TestOwner  vrdct-owner\n",
    )
    .unwrap();

    // Leaked: a /dev/shm object nobody holds, a named semaphore, a keyed segment whose
    // creator and last user are gone, an IPC_PRIVATE one whose creator is gone although its last
    // user (this test) lives.
    let orphan = PosixObj::new(100, 1);
    let psem = PosixObj::named(b"", 32, 2);
    let psem_path = std::path::PathBuf::from(format!("/dev/shm/sem.vrdct-{}", std::process::id()));
    std::fs::rename(&psem.path, &psem_path).unwrap();
    let keyed = SysvSeg::leaked(8192);
    let private = private_orphan(4096);
    {
        let _g = fork_guard();
        unsafe {
            let p = libc::shmat(private.shmid, std::ptr::null(), libc::SHM_RDONLY);
            assert_ne!(p as isize, -1);
            libc::shmdt(p);
        }
    }
    // Idle: a segment whose creator (this test) lives; an object of a known program that runs.
    let mine = SysvSeg::new(4096, 3);
    let owned = std::path::PathBuf::from(format!("/dev/shm/vrdct-owned-{}", std::process::id()));
    std::fs::write(&owned, b"owned").unwrap();
    let owner = Named::start(bin.path(), "vrdct-owner");
    // In use: mapped, or only held open.
    let mapped = PosixObj::new(4096, 4);
    let open = PosixObj::new(4096, 5);
    let _h = Holder::spawn(&[
        Hold::File(mapped.path.clone()),
        Hold::OpenFd(open.path.clone()),
    ]);
    // Not an shm_open object: a file below a subdirectory.
    std::fs::create_dir("/dev/shm/vrdct-dir").unwrap();
    std::fs::write("/dev/shm/vrdct-dir/inner", b"x").unwrap();

    let rows = ls_in(config.path(), &[]);
    let v = |r: &Value| (r["verdict"].clone(), r["evidence"]["rule"].clone());
    let pair = |verdict: &str, rule: &str| (Value::from(verdict), Value::from(rule));
    assert_eq!(v(row(&rows, &orphan.path)), pair("leaked", "no_holder"));
    let ps = row(&rows, &psem_path);
    assert_eq!(ps["kind"], "psem");
    assert_eq!(v(ps), pair("leaked", "no_holder"));
    assert_eq!(
        v(sysv_row(&rows, keyed.shmid)),
        pair("leaked", "creator_and_last_user_gone")
    );
    let p = sysv_row(&rows, private.shmid);
    assert_eq!(v(p), pair("leaked", "private_creator_gone"));
    assert_eq!(p["evidence"]["last_user"]["state"], "alive", "{p}");
    assert!(
        p["stale_reason"].as_str().unwrap().contains("IPC_PRIVATE"),
        "{p}"
    );
    assert_eq!(
        v(sysv_row(&rows, mine.shmid)),
        pair("idle", "creator_alive")
    );
    let o = row(&rows, &owned);
    assert_eq!(v(o), pair("idle", "owner_program_alive"));
    assert_eq!(o["evidence"]["owner_program"], "TestOwner");
    assert_eq!(o["evidence"]["owner_alive"][0], owner.0.id());
    assert_eq!(v(row(&rows, &mapped.path)), pair("in use", "mapped"));
    assert_eq!(v(row(&rows, &open.path)), pair("in use", "open_fd"));
    let sub = row(&rows, std::path::Path::new("/dev/shm/vrdct-dir/inner"));
    assert_eq!(sub["kind"], "file");
    assert_eq!(v(sub), pair("unknown", "not_shm_object"));
    for r in &rows {
        assert_eq!(r["stale"] == true, r["verdict"] == "leaked", "{r}");
    }
    // ls --stale lists leaked only; --idle the idle ones; --verdict any set.
    let stale = ls_in(config.path(), &["--stale"]);
    assert!(stale.iter().all(|r| r["verdict"] == "leaked"));
    assert_eq!(stale.len(), 4, "{stale:?}");
    let idle = ls_in(config.path(), &["--idle"]);
    assert!(idle.iter().all(|r| r["verdict"] == "idle"));
    assert_eq!(idle.len(), 2, "{idle:#?}");
    let some = ls_in(config.path(), &["--verdict", "in-use,unknown"]);
    assert!(some
        .iter()
        .all(|r| r["verdict"] == "in use" || r["verdict"] == "unknown"));
    row(&some, &mapped.path);
    row(&some, std::path::Path::new("/dev/shm/vrdct-dir/inner"));
    // The table shows verdicts, the owner program on request, and why.
    let mut c = shmtool();
    c.args(["ls", "--idle", "--programs"]);
    with_config(&mut c, config.path());
    let text = String::from_utf8(c.output().unwrap().stdout).unwrap();
    assert!(
        text.contains("PROGRAM") && text.contains("TestOwner") && text.contains("WHY"),
        "{text}"
    );

    // Each filter narrows what --stale would remove.
    let ids = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| match r["path"].as_str() {
                Some(p) => p.to_string(),
                None => r["id"].to_string(),
            })
            .collect()
    };
    let dry = |extra: &[&str]| {
        let mut a = vec!["--dry-run"];
        a.extend_from_slice(extra);
        ids(&rm_in(config.path(), &a))
    };
    assert_eq!(dry(&[]).len(), 4);
    assert_eq!(dry(&["--kind", "psem"]), [psem_path.to_str().unwrap()]);
    assert_eq!(dry(&["--kind", "sysv"]).len(), 2);
    assert_eq!(
        dry(&["--name", &format!("{}*", orphan.name)]),
        [orphan.path.to_str().unwrap()]
    );
    assert_eq!(
        dry(&["--name", &keyed.key_string()]),
        [keyed.shmid.to_string()]
    );
    assert!(dry(&["--older-than", "1h"]).is_empty());
    assert_eq!(dry(&["--older-than", "0s"]).len(), 4);
    assert!(dry(&["--user", "65534"]).is_empty());
    assert_eq!(dry(&["--user", "0"]).len(), 4);
    // ls takes the same filters.
    assert_eq!(
        ls_in(config.path(), &["--stale", "--kind", "psem"]).len(),
        1
    );
    assert!(ls_in(config.path(), &["--stale", "--older-than", "1d"]).is_empty());

    // The owner program ends: its object is now leaked (owner_program_gone).
    drop(owner);
    let rows = ls_in(config.path(), &[]);
    assert_eq!(v(row(&rows, &owned)), pair("leaked", "owner_program_gone"));

    // rm --stale removes exactly the leaked ones.
    let done = rm_in(config.path(), &["--yes"]);
    let removed = ids(&done);
    assert_eq!(removed.len(), 5, "{done}");
    assert!(done["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["result"] == "removed"));
    assert!(!orphan.path.exists() && !psem_path.exists() && !owned.exists());
    assert!(!keyed.exists() && !private.exists());
    assert!(mine.exists() && mapped.path.exists() && open.path.exists());
    assert!(std::path::Path::new("/dev/shm/vrdct-dir/inner").exists());
    println!("INNER-OK");
}

#[test]
fn backup_and_restore_round_trip() {
    run_isolated("verdicts::inner_backup_and_restore");
}

#[test]
#[ignore = "run by backup_and_restore_round_trip"]
fn inner_backup_and_restore() {
    if !enter_isolated() {
        return;
    }
    let backups = tempfile::tempdir().unwrap();
    let orphan = PosixObj::new(10_000, 7);
    let before = std::fs::read(&orphan.path).unwrap();
    let keyed = SysvSeg::leaked_filled(8192, 9);
    let keyed_bytes = pattern(9, 8192);
    let (key, old_id) = (keyed.key_string(), keyed.shmid);
    let (code, out, err) = run(&[
        "rm",
        "--stale",
        "--yes",
        "--json",
        "--backup",
        backups.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{out}");
    assert!(!orphan.path.exists() && !keyed.exists());
    for r in results {
        let file = r["backup"].as_str().expect("backup file named");
        let (code, out, err) = run(&["restore", file, "--json"]);
        assert_eq!(code, 0, "{err}");
        let back: Value = serde_json::from_str(&out).unwrap();
        if r["kind"] == "sysv" {
            assert_eq!(back["key"], key.as_str());
            let id = back["shmid"].as_i64().unwrap() as i32;
            assert_ne!(id, old_id);
            let mut seg = SysvSeg::adopt(id, 0, 8192);
            assert_eq!(
                seg.read(),
                keyed_bytes,
                "segment bytes differ after restore"
            );
            second_restore_refused(file);
            seg.remove();
        } else {
            assert_eq!(back["path"], orphan.path.to_str().unwrap());
            assert_eq!(std::fs::read(&orphan.path).unwrap(), before);
            second_restore_refused(file);
        }
    }
    let mut keyed = keyed;
    keyed.forget();
    println!("INNER-OK");
}

/// A restore never replaces what is there.
fn second_restore_refused(file: &str) {
    let (code, _, err) = run(&["restore", file]);
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("shmtool: error: "), "{err}");
}

fn is_stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let close = s.rfind(')')?;
            s[close + 1..].split_whitespace().next().map(|st| st == "T")
        })
        .unwrap_or(false)
}

fn start_paused(args: &[&str], point: &str) -> Child {
    let child = shmtool()
        .args(args)
        .env("SHMTOOL_PAUSE_AT", point)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !is_stopped(child.id()) {
        assert!(Instant::now() < deadline, "shmtool never reached {point}");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn resume(child: Child) -> (i32, String, String) {
    unsafe { libc::kill(child.id() as i32, libc::SIGCONT) };
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn removal_rechecks_at_the_last_moment() {
    run_isolated("verdicts::inner_last_moment_rechecks");
}

#[test]
#[ignore = "run by removal_rechecks_at_the_last_moment"]
fn inner_last_moment_rechecks() {
    if !enter_isolated() {
        return;
    }
    let args = ["rm", "--stale", "--yes", "--json"];
    // A holder maps the object right before the unlink: it is skipped, and says so.
    let obj = PosixObj::new(4096, 1);
    let child = start_paused(&args, "rm:before-remove");
    let h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let (code, out, err) = resume(child);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let r = &v["results"][0];
    assert_eq!(r["result"], "kept", "{out}");
    assert!(
        r["reason"].as_str().unwrap().contains(&h.pid.to_string()),
        "{out}"
    );
    assert!(obj.path.exists(), "removed although mapped");
    drop(h);

    // A holder opens it while the question (or anything before the re-check) is pending: the
    // fresh look after confirming finds it in use.
    let child = start_paused(&args, "rm:after-confirm");
    let h = Holder::spawn(&[Hold::OpenFd(obj.path.clone())]);
    let (code, out, err) = resume(child);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["results"][0]["result"], "kept", "{out}");
    assert!(
        v["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("in use"),
        "{out}"
    );
    assert!(obj.path.exists());
    drop(h);

    // A leaked segment attached before IPC_RMID is kept.
    let seg = SysvSeg::leaked(4096);
    let child = start_paused(
        &["rm", "--stale", "--yes", "--json", "--kind", "sysv"],
        "rm:before-remove",
    );
    let h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let (code, out, err) = resume(child);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"kept\""), "{out}");
    assert!(seg.exists() && seg.stat().unwrap().shm_perm.mode as u32 & 0o1000 == 0);
    drop(h);

    // With nothing in the way, the same object goes.
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(!obj.path.exists(), "{out}");
    println!("INNER-OK");
}

#[test]
fn holder_an_unprivileged_user_cannot_read_makes_unknown() {
    if !is_root() {
        return skip("needs root to run shmtool as another user");
    }
    // An object of uid 65534 that a root process maps: uid 65534 may not read that process.
    let obj = PosixObj::new(4096, 1);
    nix::unistd::chown(
        &obj.path,
        Some(nix::unistd::Uid::from_raw(65534)),
        Some(nix::unistd::Gid::from_raw(65534)),
    )
    .unwrap();
    let h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let out = shmtool_as(65534).args(["ls", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let r = row(&rows, &obj.path);
    assert_eq!(r["verdict"], "unknown", "{r}");
    assert_eq!(r["evidence"]["rule"], "unreadable_processes", "{r}");
    assert_eq!(r["stale"], false);
    let unreadable: Vec<i64> = r["evidence"]["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_i64())
        .collect();
    assert!(unreadable.contains(&(h.pid as i64)), "{r}");
    // Its owner, unprivileged, is refused removal and told why.
    let out = shmtool_as(65534)
        .args(["rm", "--posix", &obj.name])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot read") && err.contains(&h.pid.to_string()),
        "{err}"
    );
    assert!(
        obj.path.exists(),
        "removed although a process it could not see maps it"
    );
}
