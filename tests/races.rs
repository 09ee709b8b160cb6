//! Races forced at named pause points (`SHMTOOL_PAUSE_AT`, see src/hooks.rs): shmtool stops
//! itself between two steps, the test changes the world, then lets it go on. Each must end in a
//! clean message or a skipped row, never a panic or a wrong result.

use crate::fixtures::*;
use serde_json::Value;

fn assert_clean(code: i32, err: &str) {
    assert!(!err.contains("panicked"), "{err}");
    if code != 0 {
        assert_eq!(code, 1, "{err}");
        assert!(
            err.lines().any(|l| l.starts_with("shmtool: error: ")),
            "{err}"
        );
    }
}

#[test]
fn segment_removed_after_listing() {
    let mut seg = SysvSeg::new(4096, 1);
    let mut h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let child = start_paused(&["ls", "--json"], "inventory:after-sysv");
    h.stop();
    seg.remove();
    let (code, out, err) = resume(child);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    // /proc/sysvipc/shm was read before the removal, so the row is listed from that snapshot;
    // the maps were read after the holder left, so it is listed without that holder.
    let r = rows
        .iter()
        .find(|r| r["id"] == seg.shmid)
        .expect("listed from the snapshot taken before the removal");
    assert!(r["attachers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["pid"] != h.pid));
}

#[test]
fn holder_exits_after_scan() {
    let mut seg = SysvSeg::new(4096, 1);
    let mut h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    seg.remove(); // dest: the note names holders, read after the scan
    let child = start_paused(&["ls", "--json"], "inventory:after-scan");
    h.stop();
    let (code, out, err) = resume(child);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    // Listed as scanned: marked for removal, held by the holder the scan saw, and the note that
    // is written after the scan still names it although it has exited since.
    let r = rows
        .iter()
        .find(|r| r["id"] == seg.shmid)
        .expect("the marked segment is listed");
    assert_eq!(r["status"], serde_json::json!(["dest"]), "{r}");
    assert_eq!(r["attachers"][0]["pid"], h.pid, "{r}");
    let note = r["note"].as_str().expect("a note on who keeps it");
    assert!(note.contains(&h.pid.to_string()), "{note}");
    assert_eq!(r["stale"], false, "{r}");
}

#[test]
fn show_of_a_segment_removed_mid_command() {
    let mut seg = SysvSeg::new(4096, 1);
    let id = seg.shmid.to_string();
    let child = start_paused(&["show", &id, "--json"], "inventory:after-devshm");
    seg.remove();
    let (code, out, err) = resume(child);
    // /proc/sysvipc/shm was read before the removal: the snapshot has it, so it is shown as it
    // was when read.
    assert_clean(code, &err);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["id"], seg.shmid);
}

#[test]
fn posix_object_unlinked_mid_listing() {
    let obj = PosixObj::new(4096, 1);
    let h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let child = start_paused(&["ls", "--json"], "inventory:after-devshm");
    std::fs::remove_file(&obj.path).unwrap();
    let (code, out, err) = resume(child);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    // Listed once, as the POSIX object it was when listed, with its holder: not also as a
    // deleted file.
    let hits: Vec<&Value> = rows
        .iter()
        .filter(|r| r["path"].as_str() == obj.path.to_str())
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["kind"], "posix");
    assert_eq!(hits[0]["attachers"][0]["pid"], h.pid);
}

#[test]
fn dump_of_a_segment_removed_after_resolving() {
    let mut seg = SysvSeg::new(8192, 3);
    let mut h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let id = seg.shmid.to_string();
    let child = start_paused(
        &["dump", "--shmid", &id, "--format", "raw"],
        "dump:resolved",
    );
    h.stop();
    seg.remove();
    let (code, out, err) = resume_bytes(child);
    assert_clean(code, &err);
    if is_root() {
        // Read through the holder's map_files: the open file keeps the bytes readable.
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, pattern(3, 8192), "not the segment's bytes");
    } else {
        // Read through the holder's memory, which went with it: the going is named.
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains(&format!("System V segment {} was removed", seg.shmid)),
            "{err}"
        );
    }
}

#[test]
fn dump_of_a_file_truncated_after_resolving() {
    let obj = PosixObj::new(64 * 1024, 4);
    let _h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let child = start_paused(
        &[
            "dump",
            "--path",
            obj.path.to_str().unwrap(),
            "--format",
            "raw",
        ],
        "dump:resolved",
    );
    obj.truncate(100);
    let (code, out, err) = resume_bytes(child);
    // A short read, reported, with what could be read written; never SIGBUS (which would
    // show as no exit code at all).
    assert_eq!(code, 1, "{err}");
    assert_clean(code, &err);
    assert!(err.contains("short read: only 100 of 65536 bytes"), "{err}");
    assert_eq!(out, pattern(4, 100));
}

#[test]
fn rm_of_a_segment_that_gains_an_attacher_before_removal() {
    let seg = SysvSeg::new(4096, 1);
    let id = seg.shmid.to_string();
    let child = start_paused(&["rm", &id], "rm:before-remove");
    let h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let (code, _, err) = resume(child);
    assert_eq!(code, 1, "an attached segment must not be removed: {err}");
    assert!(seg.exists(), "removed although attached");
    let ds = seg.stat().unwrap();
    assert_eq!(
        ds.shm_perm.mode as u32 & 0o1000,
        0,
        "marked for removal although attached"
    );
    drop(h);
}

#[test]
fn rm_of_a_segment_already_gone() {
    let mut seg = SysvSeg::new(4096, 1);
    let id = seg.shmid.to_string();
    let child = start_paused(&["rm", &id], "rm:before-remove");
    seg.remove();
    let (code, _, err) = resume(child);
    assert_clean(code, &err);
    assert_eq!(code, 1, "asked for by id and not removed by us: {err}");
}

#[test]
fn dump_of_a_process_that_exits_while_resolving_names_its_exit() {
    let mut h = Holder::spawn(&[Hold::Memfd {
        name: unique_name("shmtool-race"),
        size: 4096,
        seed: 5,
    }]);
    let pid = h.pid;
    let addr = format!("{:#x}", h.addrs[0]);
    let child = start_paused(
        &["dump", &pid.to_string(), &addr, "--format", "raw"],
        "resolve:maps-read",
    );
    h.stop();
    let (code, out, err) = resume(child);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("shmtool: error: process {pid} exited")),
        "{err}"
    );
    // Not a permission problem, and no advice to become root.
    assert!(
        !err.contains("permission") && !err.contains("root"),
        "{err}"
    );
}

#[test]
fn dump_of_a_segment_removed_before_shmat_says_it_was_removed() {
    // Nobody maps it, so shmat is the only way in.
    let mut seg = SysvSeg::new(4096, 6);
    let id = seg.shmid.to_string();
    let child = start_paused(
        &["dump", "--shmid", &id, "--format", "raw"],
        "attach:before-shmat",
    );
    seg.remove();
    let (code, out, err) = resume(child);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "shmtool: error: System V segment {} was removed",
            seg.shmid
        )),
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");
}

/// Run `f` on a thread of its own in a new IPC namespace (namespaces are per thread): its
/// segments, and the shmtool it starts, are invisible to everything else on the machine.
fn in_private_ipc_namespace(f: impl FnOnce() + Send + 'static) -> bool {
    std::thread::spawn(move || {
        if unsafe { libc::unshare(libc::CLONE_NEWIPC) } != 0 {
            return false;
        }
        f();
        true
    })
    .join()
    .unwrap()
}

#[test]
fn dump_of_an_id_reused_before_shmat_reads_nothing_of_the_new_segment() {
    if !is_root() {
        return skip("a private IPC namespace (to choose the next shmid) needs root");
    }
    let ran = in_private_ipc_namespace(|| {
        let mut first = SysvSeg::new(3 * 4096, 7);
        let id = first.shmid;
        let child = start_paused(
            &["dump", "--shmid", &id.to_string(), "--format", "raw"],
            "attach:before-shmat",
        );
        first.remove();
        // The next segment made in this namespace gets the same id, and is smaller.
        std::fs::write("/proc/sys/kernel/shm_next_id", id.to_string()).unwrap();
        let second = SysvSeg::new(4096, 8);
        assert_eq!(second.shmid, id, "the kernel did not reuse the id");
        let (code, out, err) = resume(child);
        assert_eq!(code, 1, "{err}");
        assert!(
            out.is_empty(),
            "read {} bytes of the new segment",
            out.len()
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!(
                "System V segment {id} was removed (its id now names another segment)"
            )),
            "{err}"
        );
        assert_eq!(second.stat().unwrap().shm_nattch, 0, "left attached");
    });
    if !ran {
        skip("unshare(CLONE_NEWIPC) was refused");
    }
}

/// `rm --posix A --posix B` hides both names, then looks once for who holds either: an object
/// opened after the listing is kept (its name put back), the other is removed.
#[test]
fn rm_of_several_names_keeps_the_one_opened_before_removal() {
    if !is_root() {
        // Unprivileged, rm refuses both names before its last look: other users' processes,
        // which it cannot read, could hold them (tests/rm.rs checks that refusal).
        return skip("the last look before removal is reached only by root here");
    }
    let free = PosixObj::new(4096, 1);
    let taken = PosixObj::new(4096, 2);
    let child = start_paused(
        &[
            "rm",
            "--posix",
            &free.name,
            "--posix",
            &taken.name,
            "--json",
        ],
        "rm:before-remove",
    );
    let h = Holder::spawn(&[Hold::OpenFd(taken.path.clone())]);
    let (code, out, err) = resume(child);
    assert_eq!(code, 1, "one object asked for was kept: {err}");
    assert!(!free.path.exists(), "the unheld object was not removed");
    assert!(taken.path.exists(), "the held object lost its name");
    let v: Value = serde_json::from_str(&out).unwrap();
    let kept: Vec<&Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["result"] == "kept")
        .collect();
    assert_eq!(kept.len(), 1, "{v:#}");
    assert_eq!(kept[0]["path"], taken.path.to_str().unwrap(), "{v:#}");
    drop(h);
}
