//! What `limits` reads: the kernel's System V and IPC sysctls, /dev/shm's filesystem, the
//! segments and objects that use them, and logind's RemoveIPC.

use super::mounts::ShmMount;
use super::sysv::ShmRecord;
use super::Sys;
use crate::model::{AtRisk, DevShm, IpcLimits, IpcRisk, Kind, Limits, OtherDevShm};

/// Gather the limits; `account_use` also works out what of /dev/shm's use the listed objects
/// explain (a scan of every process: callers that already scanned pass false).
pub fn gather(sys: &Sys, account_use: bool) -> anyhow::Result<Limits> {
    let recs = sys.sysv_segments()?;
    let page_size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map(|p| p as u64)
        .unwrap_or(4096);
    let shmall_pages = read_u64(sys, "kernel/shmall");
    let dev_shm = dev_shm(sys).map(|mut d| {
        if account_use {
            account(sys, &mut d);
        }
        d
    });
    let shmmax = read_u64(sys, "kernel/shmmax");
    let shmall_bytes = shmall_pages.map(|p| p.saturating_mul(page_size));
    Ok(Limits {
        shmmax_str: shmmax.map(|v| v.to_string()),
        shmall_pages_str: shmall_pages.map(|v| v.to_string()),
        shmall_bytes_str: shmall_bytes.map(|v| v.to_string()),
        shmmax,
        largest_segment: recs.iter().map(|r| r.size).max().unwrap_or(0),
        shmall_bytes,
        shmall_pages,
        used_pages: recs.iter().map(|r| r.size.div_ceil(page_size)).sum(),
        page_size,
        shmmni: read_u64(sys, "kernel/shmmni"),
        segments: recs.len() as u64,
        shm_rmid_forced: read_u64(sys, "kernel/shm_rmid_forced").map(|v| v != 0),
        dev_shm,
        ipc: ipc_limits(sys),
        remove_ipc: ipc_risk(sys, &recs),
        dev_shm_containers: None,
    })
}

/// Every other mount namespace's /dev/shm, and how many could not be looked into.
pub fn other_dev_shms(sys: &Sys) -> (Vec<OtherDevShm>, usize) {
    let (mounts, unreadable) = sys.other_dev_shms();
    (mounts.iter().map(other_dev_shm).collect(), unreadable)
}

fn other_dev_shm(m: &ShmMount) -> OtherDevShm {
    OtherDevShm {
        name: m.name.clone(),
        pid: m.pid,
        size: m.size,
        used: m.used,
        available: m.available,
    }
}

/// One sysctl below /proc/sys (`kernel/shmmax`) as a number.
fn read_u64(sys: &Sys, rel: &str) -> Option<u64> {
    std::fs::read_to_string(sys.proc_root.join("sys").join(rel))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The four numbers of kernel.sem: SEMMSL SEMMNS SEMOPM SEMMNI.
pub fn parse_kernel_sem(text: &str) -> Option<[u64; 4]> {
    let v: Vec<u64> = text
        .split_ascii_whitespace()
        .map(|w| w.parse().ok())
        .collect::<Option<_>>()?;
    v.try_into().ok()
}

/// The limits of the other IPC objects and their use in this IPC namespace.
fn ipc_limits(sys: &Sys) -> IpcLimits {
    let sem = std::fs::read_to_string(sys.proc_root.join("sys/kernel/sem"))
        .ok()
        .and_then(|t| parse_kernel_sem(&t));
    let sets = sys.sem_records();
    IpcLimits {
        semmsl: sem.map(|s| s[0]),
        semmns: sem.map(|s| s[1]),
        semmni: sem.map(|s| s[3]),
        sem_sets: sets.len() as u64,
        semaphores: sets.iter().map(|s| s.nsems).sum(),
        msgmni: read_u64(sys, "kernel/msgmni"),
        msg_queues: sys.msg_records().len() as u64,
        msgmnb: read_u64(sys, "kernel/msgmnb"),
        mqueue_queues_max: read_u64(sys, "fs/mqueue/queues_max"),
        mqueues: sys.mqueues().map(|q| q.len() as u64),
        mqueue_msg_max: read_u64(sys, "fs/mqueue/msg_max"),
        mqueue_msgsize_max: read_u64(sys, "fs/mqueue/msgsize_max"),
    }
}

/// What RemoveIPC would take from this machine now.
fn ipc_risk(sys: &Sys, recs: &[ShmRecord]) -> Option<IpcRisk> {
    let setting = super::logind::read(&super::logind::root())?;
    let users = super::users::Users::default();
    let mut at_risk = Vec::new();
    if setting.enabled {
        for r in recs.iter().filter(|r| setting.at_risk(r.uid)) {
            at_risk.push(AtRisk {
                kind: Kind::Sysv,
                id: Some(r.shmid),
                path: None,
                uid: r.uid,
                user: users.known_name(r.uid),
            });
        }
        for f in sys.shm_files().unwrap_or_default() {
            if setting.at_risk(f.uid) {
                at_risk.push(AtRisk {
                    kind: Kind::Posix,
                    id: None,
                    path: Some(f.path.to_string_lossy().into_owned()),
                    uid: f.uid,
                    user: users.known_name(f.uid),
                });
            }
        }
    }
    Some(IpcRisk { setting, at_risk })
}

/// /dev/shm's filesystem, through the directory's fd: with --ns, opened beneath the target's
/// root, no symlinks.
fn dev_shm(sys: &Sys) -> Option<DevShm> {
    let fd = sys.open_shm_dir().ok()?;
    let s = nix::sys::statvfs::fstatvfs(&fd).ok()?;
    // fsblkcnt_t and friends are not u64 on every target.
    #[allow(clippy::unnecessary_cast)]
    let frag = s.fragment_size() as u64;
    #[allow(clippy::unnecessary_cast)]
    Some(DevShm {
        path: sys.shm_dir.to_string_lossy().into_owned(),
        size: s.blocks() as u64 * frag,
        used: (s.blocks() as u64).saturating_sub(s.blocks_free() as u64) * frag,
        available: s.blocks_available() as u64 * frag,
        inodes: s.files() as u64,
        inodes_used: (s.files() as u64).saturating_sub(s.files_free() as u64),
        objects: None,
        explained: None,
        unexplained: None,
        hidden_procs: None,
    })
}

/// What of /dev/shm's use the listed objects explain: every file in it and every deleted one
/// still held open, each counted once by (device, inode), by its allocated blocks.
fn account(sys: &Sys, d: &mut DevShm) {
    use std::os::fd::AsFd;
    let dev = sys
        .open_shm_dir()
        .and_then(|fd| super::root::stat_fd(fd.as_fd()));
    let Ok(dev) = dev.map(|st| st.dev) else {
        return;
    };
    let Ok(inv) = super::inventory::gather(sys, Default::default()) else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    let mut explained = 0u64;
    for s in &inv.segments {
        if s.kind == Kind::Sysv {
            continue;
        }
        let on_shm = super::inventory::posix_dev(s) == Some(dev);
        if on_shm && seen.insert(s.inode) {
            explained += s.rss.unwrap_or(0);
        }
    }
    d.objects = Some(seen.len() as u64);
    d.explained = Some(explained);
    d.unexplained = Some(d.used.saturating_sub(explained));
    d.hidden_procs = Some(inv.hidden_procs as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_sem_fields() {
        assert_eq!(
            parse_kernel_sem("32000\t1024000000\t500\t32000\n"),
            Some([32000, 1024000000, 500, 32000])
        );
        assert_eq!(parse_kernel_sem("1 2 3"), None);
        assert_eq!(parse_kernel_sem("a b c d"), None);
    }

    #[test]
    fn gathers_from_a_captured_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sys/kernel")).unwrap();
        std::fs::create_dir_all(root.join("sysvipc")).unwrap();
        std::fs::create_dir_all(root.join("shm")).unwrap();
        for (name, v) in [
            ("shmmax", "18446744073692774399\n"),
            ("shmall", "1000\n"),
            ("shmmni", "4096\n"),
            ("shm_rmid_forced", "0\n"),
        ] {
            std::fs::write(root.join("sys/kernel").join(name), v).unwrap();
        }
        // Two segments: 5000 bytes (2 pages) and 64 KiB (16 pages).
        std::fs::write(
            root.join("sysvipc/shm"),
            "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
1864423031      32822   644                  5000  4242  4250      2     0     0     0     0 1763800000 1763800100 1763799000                  8192                     0
         0      32823  1600                 65536   100   101      1 165536 165536 165536 165536          0          0 1763799001                     0                  4096
",
        )
        .unwrap();
        let sys = Sys::new(root, &root.join("shm"));
        let l = gather(&sys, true).unwrap();
        assert_eq!(l.shmmax, Some(18446744073692774399));
        assert_eq!(l.shmall_pages, Some(1000));
        assert_eq!(l.shmall_bytes, Some(1000 * l.page_size));
        assert_eq!(l.shmmni, Some(4096));
        assert_eq!(l.shm_rmid_forced, Some(false));
        assert_eq!(l.segments, 2);
        assert_eq!(l.largest_segment, 65536);
        assert_eq!(
            l.used_pages,
            5000u64.div_ceil(l.page_size) + 65536 / l.page_size
        );
        assert_eq!(
            l.dev_shm.as_ref().unwrap().path,
            root.join("shm").to_str().unwrap()
        );

        // No System V at all (no sysvipc, no sysctls): nothing in use, limits unknown.
        let empty = tempfile::tempdir().unwrap();
        let l = gather(&Sys::new(empty.path(), empty.path()), true).unwrap();
        assert_eq!((l.segments, l.largest_segment, l.used_pages), (0, 0, 0));
        assert_eq!((l.shmmax, l.shmall_pages, l.shmmni), (None, None, None));
    }
}
