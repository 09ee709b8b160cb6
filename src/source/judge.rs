//! Verdicts: whether each object is in use, idle, leaked or unknown, with the facts behind it.
//!
//! Removal needs proof, so every rule here asks "could anything alive hold this or come back
//! for it?" and answers `leaked` only when the answer is no *and* we could see everything that
//! might say otherwise. The rules, the evidence each needs and the case behind each are the
//! README's verdict table. Two judgements deserve a word here:
//!
//! **Pid identity.** A System V segment names its creator and last user by pid, and pids are
//! reused. The only time the kernel gives a process is its start in clock ticks since boot;
//! the segment's times are wall-clock seconds. Comparing them means converting through the
//! boot time, which moves whenever the clock is stepped: after a forward step a live creator
//! seems to have started after its own segment. So a live pid is never counted as gone: when
//! the wall clock says it started after the event the segment records, the verdict is
//! `unknown` (identity uncertain), never `leaked`. Only a pid that no process has (or a zombie,
//! which holds nothing and comes back for nothing) is gone; that needs no clock.
//!
//! **Who could hold a /dev/shm object.** A process we may not read could map it or hold it
//! open, so it turns `leaked` into `unknown`, unless it provably could not have opened the
//! object by name: its mount namespace does not have the object's filesystem (its
//! `/proc/PID/mountinfo`, readable by anyone, lists no mount of that device), or none of its
//! credentials (`/proc/PID/status`: uids, gids, groups, capabilities) passes the object's
//! owner and mode and it has no CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH. What this leaves out,
//! on purpose: an fd handed over by a process that could open it (fork then setuid, or
//! SCM_RIGHTS) after that process has gone, and root reaching in through another process's
//! `/proc/PID/root`. When processes exist that this /proc cannot show at all (we run in a
//! child pid namespace), every unheld /dev/shm object is `unknown`.

use super::owners::{Owners, ProcTable};
use super::sysv::ShmRecord;
use super::Sys;
use crate::model::{Evidence, Kind, PidCheck, PidState, Rule, Segment, Verdict};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::Read;

/// Seconds of slack when comparing a process's start with a segment's times: both are whole
/// seconds, and start times are rounded through clock ticks and the boot time.
const CLOCK_SLACK: i64 = 2;

/// The init pid namespace's fixed inode (PROC_PID_INIT_INO).
const INIT_PID_NS: &str = "pid:[4026531836]";

/// PF_KTHREAD in /proc/PID/stat's flags: kernel threads are visible only in the init pid
/// namespace.
const PF_KTHREAD: u64 = 0x0020_0000;

/// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH.
const DAC_CAPS: u64 = (1 << 1) | (1 << 2);

/// Credentials of a process, from /proc/PID/status (readable for every process).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Creds {
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
    /// Effective or permitted CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH.
    pub dac_cap: bool,
}

/// Parse the Uid, Gid, Groups and CapEff/CapPrm lines of /proc/PID/status.
pub fn parse_creds(status: &str) -> Option<Creds> {
    let mut c = Creds::default();
    let mut seen_uid = false;
    for line in status.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let nums = || v.split_whitespace().filter_map(|n| n.parse::<u32>().ok());
        match k {
            "Uid" => {
                c.uids.extend(nums());
                seen_uid = true;
            }
            "Gid" | "Groups" => c.gids.extend(nums()),
            "CapEff" | "CapPrm" => {
                let caps = u64::from_str_radix(v.trim(), 16).unwrap_or(u64::MAX);
                c.dac_cap |= caps & DAC_CAPS != 0;
            }
            _ => {}
        }
    }
    seen_uid.then_some(c)
}

/// Device numbers of the filesystems mounted in a process's mount namespace (field 3 of
/// mountinfo, `MAJ:MIN` in decimal).
pub fn parse_mount_devs(mountinfo: &str) -> HashSet<u64> {
    mountinfo
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter_map(|d| {
            let (a, b) = d.split_once(':')?;
            Some(libc::makedev(a.parse().ok()?, b.parse().ok()?))
        })
        .collect()
}

/// Whether a process with `creds` (None: not known, so yes) could open by name an object with
/// this owner, group and mode.
pub fn could_open(creds: Option<&Creds>, uid: Option<u32>, gid: Option<u32>, mode: u32) -> bool {
    let Some(c) = creds else { return true };
    if c.dac_cap || mode & 0o006 != 0 {
        return true;
    }
    // The owner may always chmod it first.
    if uid.is_none_or(|u| c.uids.contains(&u)) {
        return true;
    }
    mode & 0o060 != 0 && gid.is_none_or(|g| c.gids.contains(&g))
}

/// A process whose maps or fds we could not read.
#[derive(Debug)]
struct Unreadable {
    pid: i32,
    creds: Option<Creds>,
    /// None when its mountinfo could not be read either.
    mounts: Option<HashSet<u64>>,
}

/// Everything verdicts need beyond the rows themselves, read once per inventory.
pub struct Judge<'a> {
    sys: &'a Sys,
    boot: Option<i64>,
    pids: RefCell<HashMap<i32, (PidState, Option<i64>)>>,
    unreadable: Vec<Unreadable>,
    all_visible: bool,
    /// We list the init IPC namespace (its inode is fixed), or cannot tell.
    init_ipc_ns: bool,
    owners: Owners,
    /// Every process's name and owner, read on first use: only an unheld object that an owner
    /// rule names needs it (a second walk of /proc on every listing was a fifth of `ls`).
    procs: std::cell::OnceCell<ProcTable>,
}

impl<'a> Judge<'a> {
    pub fn new(sys: &'a Sys, denied: &[i32]) -> Judge<'a> {
        let unreadable = read_unreadable(sys, denied);
        Judge {
            sys,
            boot: sys.boot_time(),
            pids: RefCell::default(),
            unreadable,
            all_visible: procfs_shows_every_process(sys),
            init_ipc_ns: std::fs::read_link(sys.proc_root.join("self/ns/ipc"))
                .map_or(true, |l| l.as_os_str() == "ipc:[4026531839]"),
            owners: Owners::load(),
            procs: std::cell::OnceCell::new(),
        }
    }

    /// Lines of user owner-rule files that could not be used.
    pub fn owner_rule_errors(&self) -> &[String] {
        &self.owners.errors
    }

    /// What became of `pid`, which did something at `since` (wall clock).
    fn check(&self, pid: i32, since: i64) -> PidCheck {
        if pid <= 0 {
            return PidCheck {
                pid,
                state: PidState::NotVisible,
                comm: None,
            };
        }
        let (alive, started) = *self.pids.borrow_mut().entry(pid).or_insert_with(|| {
            if self.sys.exited(pid) {
                (PidState::Gone, None)
            } else {
                let started = self
                    .boot
                    .and_then(|b| self.sys.start_time_since_boot(pid, b));
                (PidState::Alive, started)
            }
        });
        let state = match (alive, started) {
            (PidState::Alive, Some(s)) if s > since + CLOCK_SLACK => PidState::Uncertain,
            (s, _) => s,
        };
        PidCheck {
            pid,
            state,
            comm: (state != PidState::Gone).then(|| self.sys.comm(pid)),
        }
    }

    /// Judge a System V segment.
    pub fn sysv(&self, seg: &mut Segment, rec: &ShmRecord) {
        seg.attachers
            .sort_by(|a, b| (a.pid, &a.start).cmp(&(b.pid, &b.start)));
        let mut ev = Evidence {
            holders: seg.attacher_pids(),
            nattch: Some(rec.nattch),
            private_key: rec.key == 0,
            ..Evidence::default()
        };
        if rec.is_dest() {
            ev.rule = Rule::MarkedForRemoval;
            return set(seg, Verdict::InUse, ev);
        }
        if rec.nattch != 0 {
            ev.rule = Rule::Mapped;
            return set(seg, Verdict::InUse, ev);
        }
        let creator = self.check(rec.cpid, rec.ctime);
        let last_use = rec.atime.max(rec.dtime);
        // lpid is 0 until the first attach; after one, 0 means a process we cannot see.
        let last = (rec.lpid != 0 || last_use > 0).then(|| self.check(rec.lpid, last_use));
        let states: Vec<PidState> = std::iter::once(creator.state)
            .chain(last.as_ref().map(|l| l.state))
            .collect();
        let (verdict, rule) = if rec.key == 0 {
            // Nobody can find an IPC_PRIVATE segment by key: once nobody is attached and its
            // creator is gone, only a process told its id could attach it again.
            match creator.state {
                PidState::Alive => (Verdict::Idle, Rule::CreatorAlive),
                PidState::Gone => (Verdict::Leaked, Rule::PrivateCreatorGone),
                PidState::Uncertain => (Verdict::Unknown, Rule::PidIdentityUncertain),
                PidState::NotVisible => (Verdict::Unknown, Rule::PidNotVisible),
            }
        } else if creator.state == PidState::Alive {
            (Verdict::Idle, Rule::CreatorAlive)
        } else if last.as_ref().is_some_and(|l| l.state == PidState::Alive) {
            (Verdict::Idle, Rule::LastUserAlive)
        } else if states.contains(&PidState::NotVisible) {
            (Verdict::Unknown, Rule::PidNotVisible)
        } else if states.contains(&PidState::Uncertain) {
            (Verdict::Unknown, Rule::PidIdentityUncertain)
        } else {
            (Verdict::Leaked, Rule::CreatorAndLastUserGone)
        };
        ev.rule = rule;
        ev.creator = Some(creator);
        ev.last_user = last;
        set(seg, verdict, ev);
    }

    /// Judge a file under the shm directory (`posix`, `psem`, or a `file` in a subdirectory).
    /// `name` is its name relative to that directory.
    pub fn shm_file(&self, seg: &mut Segment, name: &str) {
        // Sorting writes, and a write makes the row's rare part: only rows with holders have it.
        if !seg.attachers.is_empty() || !seg.fd_holders.is_empty() {
            seg.attachers
                .sort_by(|a, b| (a.pid, &a.start).cmp(&(b.pid, &b.start)));
            seg.fd_holders.sort_by_key(|h| (h.pid, h.fd));
        }
        let mut ev = Evidence {
            holders: seg.holder_pids(),
            ..Evidence::default()
        };
        let rule = self.owners.find(name).filter(|_| !name.contains('/'));
        ev.owner_program = rule.map(|r| r.program.clone());
        if !seg.attachers.is_empty() {
            ev.rule = Rule::Mapped;
            return set(seg, Verdict::InUse, ev);
        }
        if !seg.fd_holders.is_empty() {
            ev.rule = Rule::OpenFd;
            return set(seg, Verdict::InUse, ev);
        }
        ev.unreadable = self.possible_holders(seg);
        ev.processes_not_visible = !self.all_visible;
        if seg.kind == Kind::File {
            ev.rule = Rule::NotShmObject;
            return set(seg, Verdict::Unknown, ev);
        }
        if let Some(r) = rule {
            let procs = self.procs.get_or_init(|| ProcTable::read(self.sys));
            ev.owner_alive = procs.alive(self.sys, r, name, seg.uid);
            if !ev.owner_alive.is_empty() {
                ev.rule = Rule::OwnerProgramAlive;
                return set(seg, Verdict::Idle, ev);
            }
        }
        let (verdict, rule) = if !ev.unreadable.is_empty() {
            (Verdict::Unknown, Rule::UnreadableProcesses)
        } else if !self.all_visible {
            (Verdict::Unknown, Rule::ProcessesNotVisible)
        } else if rule.is_some() {
            (Verdict::Leaked, Rule::OwnerProgramGone)
        } else {
            (Verdict::Leaked, Rule::NoHolder)
        };
        ev.rule = rule;
        set(seg, verdict, ev);
    }

    /// Judge any other row (memfd, anon, mapped file, deleted file): found through a mapping
    /// or an fd, so held by someone.
    pub fn held(&self, seg: &mut Segment) {
        let ev = Evidence {
            holders: seg.holder_pids(),
            rule: if seg.attachers.is_empty() && !seg.fd_holders.is_empty() {
                Rule::OpenFd
            } else {
                Rule::Mapped
            },
            ..Evidence::default()
        };
        let verdict = if ev.holders.is_empty() {
            Verdict::Unknown
        } else {
            Verdict::InUse
        };
        set(seg, verdict, ev);
    }

    /// Judge a semaphore set or message queue (rows of `source::ipc`, which says `stale` when
    /// every process that used it is gone), or a POSIX message queue.
    pub fn messaging(&self, seg: &mut Segment) {
        let mut ev = Evidence {
            holders: seg.holder_pids(),
            ..Evidence::default()
        };
        if seg.kind == Kind::Mqueue {
            if !ev.holders.is_empty() || seg.note.is_some() {
                ev.rule = Rule::OpenFd;
                return set(seg, Verdict::InUse, ev);
            }
            // mq_open needs no mount: in the init IPC namespace any process could open it by
            // name (credentials permitting). In another one (a container's), a process outside
            // can reach the queue only through a mount of that namespace's mqueue filesystem,
            // which its mountinfo would list. (What this misses: an unreadable process inside
            // the same non-init IPC namespace that never mounted /dev/mqueue.)
            let mode = seg.perms.map(|m| m.0).unwrap_or(0o777);
            let dev = super::inventory::posix_dev(seg);
            ev.unreadable = self
                .unreadable
                .iter()
                .filter(|u| {
                    self.init_ipc_ns
                        || match (&u.mounts, dev) {
                            (Some(m), Some(d)) => m.contains(&d),
                            _ => true,
                        }
                })
                .filter(|u| could_open(u.creds.as_ref(), seg.uid, seg.gid, mode))
                .map(|u| u.pid)
                .collect();
            ev.processes_not_visible = !self.all_visible;
            let (verdict, rule) = if !ev.unreadable.is_empty() {
                (Verdict::Unknown, Rule::UnreadableProcesses)
            } else if !self.all_visible {
                (Verdict::Unknown, Rule::ProcessesNotVisible)
            } else {
                (Verdict::Leaked, Rule::NoHolder)
            };
            ev.rule = rule;
            let keep_reason = seg.stale_reason.take();
            set(seg, verdict, ev);
            seg.stale_reason = keep_reason.filter(|_| seg.stale);
            return;
        }
        if seg.stale {
            ev.rule = Rule::LastUsersGone;
            set(seg, Verdict::Leaked, ev);
        } else {
            ev.rule = Rule::NotProven;
            let reason = seg.stale_reason.take();
            set(seg, Verdict::Unknown, ev);
            seg.stale_reason = reason.filter(|_| seg.stale);
        }
    }

    /// Unreadable processes that could hold this /dev/shm object (see the module comment).
    pub fn possible_holders(&self, seg: &Segment) -> Vec<i32> {
        could_hold(&self.unreadable, seg)
    }
}

fn read_unreadable(sys: &Sys, denied: &[i32]) -> Vec<Unreadable> {
    denied
        .iter()
        .map(|&pid| Unreadable {
            pid,
            creds: std::fs::read_to_string(sys.pid_path(pid, "status"))
                .ok()
                .and_then(|s| parse_creds(&s)),
            mounts: std::fs::read_to_string(sys.pid_path(pid, "mountinfo"))
                .ok()
                .map(|m| parse_mount_devs(&m)),
        })
        .collect()
}

fn could_hold(unreadable: &[Unreadable], seg: &Segment) -> Vec<i32> {
    let dev = super::inventory::posix_dev(seg);
    let mode = seg.perms.map(|m| m.0).unwrap_or(0o777);
    unreadable
        .iter()
        .filter(|u| match (&u.mounts, dev) {
            (Some(m), Some(d)) => m.contains(&d),
            _ => true,
        })
        .filter(|u| could_open(u.creds.as_ref(), seg.uid, seg.gid, mode))
        .map(|u| u.pid)
        .collect()
}

/// Who holds one /dev/shm object right now, looked up afresh: the pids that map it or hold it
/// open, and the pids we could not read that could (for the last-moment check before removal).
pub fn holders_now(sys: &Sys, seg: &Segment, dev: u64, ino: u64) -> (Vec<i32>, Vec<i32>) {
    holders_now_of(sys, &[(seg, dev, ino)])
        .pop()
        .unwrap_or((Vec::new(), vec![0]))
}

/// [`holders_now`] for several objects at once, in one walk of /proc that keeps only their
/// mappings and fds (names and namespaces are read only for the processes that hold one).
pub fn holders_now_of(sys: &Sys, objects: &[(&Segment, u64, u64)]) -> Vec<(Vec<i32>, Vec<i32>)> {
    let target = super::procs::Target {
        inodes: objects.iter().map(|&(_, dev, ino)| (dev, ino)).collect(),
        ..Default::default()
    };
    let Ok(scan) = sys.scan(super::procs::ScanOptions {
        fds: true,
        only: Some(&target),
        ..Default::default()
    }) else {
        // Without a walk of /proc nothing is proven.
        return objects.iter().map(|_| (Vec::new(), vec![0])).collect();
    };
    let unreadable = read_unreadable(sys, &scan.denied_pids);
    objects
        .iter()
        .map(|&(seg, dev, ino)| {
            let mut held: Vec<i32> = scan
                .procs
                .iter()
                .filter(|p| {
                    p.maps
                        .iter()
                        .any(|m| libc::makedev(m.dev_major, m.dev_minor) == dev && m.inode == ino)
                        || p.fds
                            .iter()
                            .any(|f| (f.stat.dev, f.stat.inode) == (dev, ino))
                })
                .map(|p| p.pid)
                .collect();
            held.dedup();
            (held, could_hold(&unreadable, seg))
        })
        .collect()
}

fn set(seg: &mut Segment, verdict: Verdict, ev: Evidence) {
    seg.verdict = verdict;
    seg.stale = verdict == Verdict::Leaked;
    seg.evidence = ev.into();
}

/// Whether this /proc shows every process on the machine: we are in the init pid namespace
/// (its inode is fixed), or the kernel threads are listed (only the init namespace has them;
/// pid 2 is kthreadd). Neither can be faked from inside a container.
pub fn procfs_shows_every_process(sys: &Sys) -> bool {
    let own = std::fs::read_link(sys.proc_root.join("self/ns/pid"));
    if own.is_ok_and(|l| l.as_os_str() == INIT_PID_NS) {
        return true;
    }
    let mut stat = [0u8; 1024];
    let n = std::fs::File::open(sys.pid_path(2, "stat"))
        .and_then(|mut f| f.read(&mut stat))
        .unwrap_or(0);
    stat_flags(&stat[..n]).is_some_and(|f| f & PF_KTHREAD != 0)
}

/// The flags field (9th) of a /proc/PID/stat line.
fn stat_flags(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&c| c == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    // After ')': state (3), ppid, pgrp, session, tty_nr, tpgid, flags (9).
    rest.split_ascii_whitespace().nth(6)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tpostgres\nUid:\t999\t999\t999\t999\nGid:\t998\t998\t998\t998\nGroups:\t44 998 \nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n";

    #[test]
    fn credentials_from_status() {
        let c = parse_creds(STATUS).unwrap();
        assert!(c.uids.contains(&999) && c.gids.contains(&44));
        assert!(!c.dac_cap);
        let root = parse_creds("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n");
        assert!(root.unwrap().dac_cap);
        assert!(parse_creds("Name: x\n").is_none());
    }

    #[test]
    fn who_could_open() {
        let c = parse_creds(STATUS).unwrap();
        // Another user's 0600 object: no.
        assert!(!could_open(Some(&c), Some(1000), Some(1000), 0o600));
        // Its own: yes, whatever the mode.
        assert!(could_open(Some(&c), Some(999), Some(1000), 0o000));
        // World-readable, or group-writable with a shared group: yes.
        assert!(could_open(Some(&c), Some(1000), Some(1000), 0o604));
        assert!(could_open(Some(&c), Some(1000), Some(44), 0o620));
        assert!(!could_open(Some(&c), Some(1000), Some(45), 0o620));
        // Unknown credentials: assume it could.
        assert!(could_open(None, Some(1000), Some(1000), 0o600));
    }

    #[test]
    fn mount_devices() {
        let m = "25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw\n27 1 254:0 / / rw - ext4 /dev/vda rw\n";
        let d = parse_mount_devs(m);
        assert!(d.contains(&libc::makedev(0, 23)));
        assert!(d.contains(&libc::makedev(254, 0)));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn kthread_flag() {
        let kthreadd = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0";
        assert!(stat_flags(kthreadd).unwrap() & PF_KTHREAD != 0);
        let user = b"2 (sh (x)) S 1 2 2 0 -1 4194560 0 0";
        assert_eq!(stat_flags(user).unwrap() & PF_KTHREAD, 0);
    }
}
