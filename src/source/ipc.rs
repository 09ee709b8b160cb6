//! The rest of System V and POSIX IPC: semaphore sets (`/proc/sysvipc/sem`), message queues
//! (`/proc/sysvipc/msg`) and POSIX message queues (the files of an mqueue filesystem, usually
//! mounted at /dev/mqueue). Parsers are pure functions over text; reading lives in [`Sys`].

use super::inventory::{gone_since, Lives};
use super::procs::Scan;
use super::Sys;
use crate::model::{Dev, FdHolder, IpcCounts, Kind, Mode, Segment};
use crate::units::local_time;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One System V semaphore set as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemRecord {
    pub key: u32,
    pub semid: i64,
    pub mode: u32,
    pub nsems: u64,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// Last semop, or 0 when never.
    pub otime: i64,
    pub ctime: i64,
}

/// One System V message queue as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgRecord {
    pub key: u32,
    pub msqid: i64,
    pub mode: u32,
    /// Bytes of messages waiting.
    pub cbytes: u64,
    /// Messages waiting.
    pub qnum: u64,
    /// Last sender and receiver (0: none yet).
    pub lspid: i32,
    pub lrpid: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
}

/// Fields of one line, by name of the header: kernels have added columns over time, so
/// positions are looked up rather than assumed.
struct Columns<'a> {
    names: Vec<&'a str>,
}

impl<'a> Columns<'a> {
    fn new(header: &'a str) -> Columns<'a> {
        Columns {
            names: header.split_ascii_whitespace().collect(),
        }
    }

    fn get<T: std::str::FromStr>(&self, fields: &[&str], name: &str) -> Option<T> {
        let i = self.names.iter().position(|n| *n == name)?;
        fields.get(i)?.parse().ok()
    }

    fn octal(&self, fields: &[&str], name: &str) -> Option<u32> {
        let i = self.names.iter().position(|n| *n == name)?;
        u32::from_str_radix(fields.get(i)?, 8).ok()
    }
}

/// The kernel prints key_t signed.
fn key(cols: &Columns, fields: &[&str]) -> Option<u32> {
    cols.get::<i64>(fields, "key").map(|k| k as u32)
}

/// Every record of a /proc/sysvipc table: `one` reads a line's fields by header name, and
/// a line it cannot read (None) is skipped.
fn parse_table<T>(text: &str, one: impl Fn(&Columns, &[&str]) -> Option<T>) -> Vec<T> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let c = Columns::new(header);
    lines
        .filter_map(|l| one(&c, &l.split_ascii_whitespace().collect::<Vec<_>>()))
        .collect()
}

/// Parse `/proc/sysvipc/sem`; malformed lines are skipped.
pub fn parse_sem(text: &str) -> Vec<SemRecord> {
    parse_table(text, |c, f| {
        Some(SemRecord {
            key: key(c, f)?,
            semid: c.get(f, "semid")?,
            mode: c.octal(f, "perms")?,
            nsems: c.get(f, "nsems")?,
            uid: c.get(f, "uid")?,
            gid: c.get(f, "gid")?,
            cuid: c.get(f, "cuid")?,
            cgid: c.get(f, "cgid")?,
            otime: c.get(f, "otime")?,
            ctime: c.get(f, "ctime")?,
        })
    })
}

/// Parse `/proc/sysvipc/msg`; malformed lines are skipped.
pub fn parse_msg(text: &str) -> Vec<MsgRecord> {
    parse_table(text, |c, f| {
        Some(MsgRecord {
            key: key(c, f)?,
            msqid: c.get(f, "msqid")?,
            mode: c.octal(f, "perms")?,
            cbytes: c.get(f, "cbytes")?,
            qnum: c.get(f, "qnum")?,
            lspid: c.get(f, "lspid")?,
            lrpid: c.get(f, "lrpid")?,
            uid: c.get(f, "uid")?,
            gid: c.get(f, "gid")?,
            cuid: c.get(f, "cuid")?,
            cgid: c.get(f, "cgid")?,
            stime: c.get(f, "stime")?,
            rtime: c.get(f, "rtime")?,
            ctime: c.get(f, "ctime")?,
        })
    })
}

/// What reading a queue's file says: `QSIZE:129 NOTIFY:0 SIGNO:0 NOTIFY_PID:0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MqStatus {
    /// Bytes of messages waiting.
    pub qsize: u64,
    /// The process registered for notification (mq_notify), 0 when none.
    pub notify_pid: i32,
}

pub fn parse_mq_status(text: &str) -> Option<MqStatus> {
    let mut st = MqStatus::default();
    let mut seen = false;
    for word in text.split_ascii_whitespace() {
        let (k, v) = word.split_once(':')?;
        match k {
            "QSIZE" => {
                st.qsize = v.parse().ok()?;
                seen = true;
            }
            "NOTIFY_PID" => st.notify_pid = v.parse().ok()?,
            _ => {}
        }
    }
    seen.then_some(st)
}

/// One POSIX message queue.
#[derive(Debug, Clone)]
pub struct MqFile {
    /// Its file in the mqueue filesystem.
    pub path: PathBuf,
    pub status: MqStatus,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub btime: Option<i64>,
    pub mtime: i64,
    pub dev: u64,
    pub inode: u64,
}

impl MqFile {
    /// The name as `mq_open` takes it: `/NAME`.
    pub fn name(&self) -> String {
        let n = self.path.file_name().map(|n| n.as_bytes()).unwrap_or(b"");
        format!("/{}", crate::text::bytes_to_string(n))
    }
}

impl Sys {
    fn sysvipc(&self, name: &str) -> String {
        std::fs::read_to_string(self.proc_root.join("sysvipc").join(name)).unwrap_or_default()
    }

    /// The System V semaphore sets of our IPC namespace.
    pub fn sem_records(&self) -> Vec<SemRecord> {
        parse_sem(&self.sysvipc("sem"))
    }

    /// The System V message queues of our IPC namespace.
    pub fn msg_records(&self) -> Vec<MsgRecord> {
        parse_msg(&self.sysvipc("msg"))
    }

    /// Whether an mqueue filesystem is mounted where we look for POSIX queues.
    pub fn has_mqueue_fs(&self) -> bool {
        self.mqueue_fd().is_some()
    }

    /// The device of the mqueue filesystem, when one is mounted where we look.
    pub fn mqueue_dev(&self) -> Option<u64> {
        use std::os::fd::AsFd;
        let fd = self.mqueue_fd()?;
        super::root::stat_fd(fd.as_fd()).ok().map(|st| st.dev)
    }

    /// The mqueue directory, opened through the root layer ([`Sys::open_mqueue_dir`]: with
    /// `--ns`, the target's own mount beneath its pinned root, through no symlink), if an
    /// mqueue filesystem is mounted there. An mqueue mount shows the queues of the IPC
    /// namespace that mounted it: the target's mount lists the target's queues.
    fn mqueue_fd(&self) -> Option<std::os::fd::OwnedFd> {
        let fd = self.open_mqueue_dir().ok()?;
        is_mqueue(&fd).then_some(fd)
    }

    /// Every POSIX message queue (None: no mqueue filesystem is mounted there). Listed through
    /// the directory's fd; each queue's status is read from its file opened beneath it.
    pub fn mqueues(&self) -> Option<Vec<MqFile>> {
        use std::os::fd::AsFd;
        let dir = self.mqueue_fd()?;
        let mut out = Vec::new();
        for e in super::root::list_dir(dir.as_fd()).ok()? {
            if !e.stat.is_file() {
                continue;
            }
            // Reading a queue's file reports its state; it takes no message.
            let flags = nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK;
            let status = super::root::open_beneath(dir.as_fd(), Path::new(&e.name), flags)
                .ok()
                .and_then(|fd| std::io::read_to_string(std::fs::File::from(fd)).ok())
                .and_then(|t| parse_mq_status(&t))
                .unwrap_or_default();
            let st = e.stat;
            out.push(MqFile {
                path: self.mqueue_dir.join(&e.name),
                status,
                uid: st.uid,
                gid: st.gid,
                mode: st.mode,
                btime: st.btime,
                mtime: st.mtime,
                dev: st.dev,
                inode: st.ino,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Some(out)
    }
}

/// Whether an open directory is the root of an mqueue filesystem (statfs magic 0x19800202).
fn is_mqueue(dir: &std::os::fd::OwnedFd) -> bool {
    const MQUEUE_MAGIC: i64 = 0x1980_0202;
    // The magic's integer type differs between targets.
    #[allow(clippy::unnecessary_cast)]
    nix::sys::statfs::fstatfs(dir)
        .map(|s| s.filesystem_type().0 as i64 == MQUEUE_MAGIC)
        .unwrap_or(false)
}

/// One semaphore's last operating process (semctl GETPID; reads only). None: not readable.
pub fn sem_last_pid(semid: i64, num: u64) -> Option<i32> {
    // SAFETY: GETPID takes no fourth argument and writes nothing of ours.
    let r = unsafe { libc::semctl(semid as i32, num as i32, libc::GETPID) };
    (r >= 0).then_some(r)
}

/// Processes waiting on one semaphore (GETNCNT + GETZCNT; reads only).
pub fn sem_waiters(semid: i64, num: u64) -> Option<i32> {
    // SAFETY: as above.
    let n = unsafe { libc::semctl(semid as i32, num as i32, libc::GETNCNT) };
    let z = unsafe { libc::semctl(semid as i32, num as i32, libc::GETZCNT) };
    (n >= 0 && z >= 0).then_some(n + z)
}

/// Semaphores read per set at most: a verdict on a bigger set is left unknown.
const MAX_SEMS_READ: u64 = 4096;

/// Rows for every semaphore set, message queue and POSIX queue, judged.
pub fn rows(sys: &Sys, scan: &Scan) -> Vec<Segment> {
    let lives = Lives::new(sys);
    let mut out: Vec<Segment> = sys
        .sem_records()
        .iter()
        .map(|r| sem_row(&lives, r))
        .collect();
    out.extend(sys.msg_records().iter().map(|r| msg_row(&lives, r)));
    if let Some(queues) = sys.mqueues() {
        out.extend(queues.iter().map(|q| mq_row(sys, scan, q)));
    }
    out
}

fn ipc_base(kind: Kind, id: i64, key: u32, mode: u32, uid: u32, gid: u32, ctime: i64) -> Segment {
    let mut s = Segment::new(kind);
    s.id = Some(id);
    s.key = Some(key);
    s.uid = Some(uid);
    s.gid = Some(gid);
    s.perms = Some(Mode(mode & 0o777));
    s.ctime = (ctime != 0).then_some(ctime);
    s.ctime_source = s.ctime.map(|_| crate::model::CtimeSource::IpcCtime);
    s
}

fn sem_row(lives: &Lives, r: &SemRecord) -> Segment {
    let mut s = ipc_base(Kind::Sem, r.semid, r.key, r.mode, r.uid, r.gid, r.ctime);
    s.atime = (r.otime != 0).then_some(r.otime);
    s.ipc = Some(IpcCounts {
        nsems: Some(r.nsems),
        ..IpcCounts::default()
    });
    judge_sem(lives, &mut s, r);
    s
}

/// A semaphore set is leaked when every semaphore was last operated on by a process that is
/// gone, and nobody waits on it. The kernel does not record its creator, so a set never
/// operated on has no evidence either way and is left alone.
fn judge_sem(lives: &Lives, s: &mut Segment, r: &SemRecord) {
    if r.nsems > MAX_SEMS_READ {
        s.note = Some(format!("{} semaphores: not judged", r.nsems));
        return;
    }
    let mut pids = Vec::new();
    let mut waiters = 0;
    for n in 0..r.nsems {
        let (Some(pid), Some(w)) = (sem_last_pid(r.semid, n), sem_waiters(r.semid, n)) else {
            s.note = Some("its semaphores could not be read (permission denied)".into());
            return;
        };
        pids.push(pid);
        waiters += w;
    }
    pids.sort_unstable();
    pids.dedup();
    if waiters > 0 {
        s.note = Some(format!("{waiters} process(es) waiting on it"));
        return;
    }
    if pids.is_empty() || pids.contains(&0) {
        s.note = Some("never operated on (the kernel keeps no creator pid for a set)".into());
        return;
    }
    let since = if r.otime > 0 { r.otime } else { r.ctime };
    let alive: Vec<i32> = pids
        .iter()
        .copied()
        .filter(|&p| !gone_since(lives, p, since))
        .collect();
    if !alive.is_empty() {
        s.note = Some(format!("last used by {}", lives.sys.describe_pids(&alive)));
        return;
    }
    let pid_list = pids
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    s.stale = true;
    s.stale_reason = Some(format!(
        "every process that last operated on it is gone ({pid_list}); nobody waits on it; last operation {}",
        local_time(since)
    )
    .into());
}

fn msg_row(lives: &Lives, r: &MsgRecord) -> Segment {
    let mut s = ipc_base(Kind::Msg, r.msqid, r.key, r.mode, r.uid, r.gid, r.ctime);
    s.size = r.cbytes;
    s.atime = (r.stime != 0).then_some(r.stime);
    s.dtime = (r.rtime != 0).then_some(r.rtime);
    s.lpid = Some(r.lspid.max(r.lrpid));
    s.ipc = Some(IpcCounts {
        messages: Some(r.qnum),
        last_send_pid: Some(r.lspid),
        last_recv_pid: Some(r.lrpid),
        ..IpcCounts::default()
    });
    judge_msg(lives, &mut s, r);
    s
}

/// A message queue is leaked when its last sender and last receiver (those it had) are gone:
/// the same rule as a segment whose creator and last user are gone.
fn judge_msg(lives: &Lives, s: &mut Segment, r: &MsgRecord) {
    if r.lspid == 0 && r.lrpid == 0 {
        s.note = Some("never used (the kernel keeps no creator pid for a queue)".into());
        return;
    }
    let users = [(r.lspid, r.stime), (r.lrpid, r.rtime)];
    let alive: Vec<i32> = users
        .iter()
        .filter(|(p, _)| *p != 0)
        .filter(|(p, t)| !gone_since(lives, *p, if *t > 0 { *t } else { r.ctime }))
        .map(|(p, _)| *p)
        .collect();
    if !alive.is_empty() {
        s.note = Some(format!("last used by {}", lives.sys.describe_pids(&alive)));
        return;
    }
    s.stale = true;
    let who = match (r.lspid, r.lrpid) {
        (sp, 0) => format!("its last sender {sp} is gone and nothing ever received"),
        (0, rp) => format!("its last receiver {rp} is gone and nothing was sent since"),
        (sp, rp) => format!("its last sender {sp} and last receiver {rp} are gone"),
    };
    s.stale_reason = Some(format!("{who}; {} message(s) waiting", r.qnum).into());
}

fn mq_row(sys: &Sys, scan: &Scan, q: &MqFile) -> Segment {
    let mut s = Segment::new(Kind::Mqueue);
    s.path = Some(crate::text::bytes_to_string(q.path.as_os_str().as_bytes()));
    s.size = q.status.qsize;
    s.uid = Some(q.uid);
    s.gid = Some(q.gid);
    s.perms = Some(Mode(q.mode & 0o777));
    s.ctime = Some(q.btime.unwrap_or(q.mtime));
    s.ctime_source = Some(crate::model::CtimeSource::of_file(q.btime.is_some()));
    s.dev = Some(Dev(q.dev));
    s.inode = Some(q.inode);
    s.ipc = Some(IpcCounts {
        notify_pid: Some(q.status.notify_pid),
        ..IpcCounts::default()
    });
    for p in &scan.procs {
        for f in p.fds.iter().filter(|f| f.mqueue) {
            if (f.stat.dev, f.stat.inode) == (q.dev, q.inode) {
                s.fd_holders.push(FdHolder {
                    pid: p.pid,
                    comm: p.comm.clone(),
                    fd: f.fd,
                    container: p.container.as_ref().map(|c| c.to_string()),
                });
            }
        }
    }
    let mut holders: Vec<i32> = s.fd_holders.iter().map(|h| h.pid).collect();
    holders.dedup();
    if q.status.notify_pid > 0 && sys.alive(q.status.notify_pid) {
        holders.push(q.status.notify_pid);
    }
    if !holders.is_empty() {
        s.note = Some(format!("open in {}", sys.describe_pids(&holders)));
        return s;
    }
    // As a /dev/shm object: nobody holds it, and the name is all that keeps it.
    s.stale = true;
    let caveat = if scan.denied > 0 {
        format!(" ({} process(es) could not be checked)", scan.denied)
    } else {
        String::new()
    };
    s.stale_reason = Some(
        format!(
            "no process holds it open; made {}{caveat}",
            local_time(s.ctime.unwrap_or(0))
        )
        .into(),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEM: &str =
        "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime
 1627389697          0   600          3     0     0     0     0 1763800100 1763800000
          0          1   666          1  1000  1000  1000  1000          0 1763800050
        -17     100002  1600          2 165536 165536 165536 165536 1763800200 1763800001
garbage
";

    const MSG: &str = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime
 1627389698          0   644         300          2  4242     0     0     0     0     0 1763800100          0 1763800000
          0          1   600           0          0     0     0  1000  1000  1000  1000          0          0 1763800050
";

    #[test]
    fn semaphore_sets() {
        let s = parse_sem(SEM);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].key, 1627389697);
        assert_eq!(s[0].semid, 0);
        assert_eq!(s[0].mode, 0o600);
        assert_eq!(s[0].nsems, 3);
        assert_eq!(s[0].otime, 1763800100);
        assert_eq!(s[1].otime, 0);
        assert_eq!(s[1].uid, 1000);
        // Signed keys and uids past 65535 (rootless containers).
        assert_eq!(s[2].key, (-17i32) as u32);
        assert_eq!(s[2].uid, 165536);
        assert_eq!(s[2].mode, 0o1600);
    }

    #[test]
    fn message_queues() {
        let q = parse_msg(MSG);
        assert_eq!(q.len(), 2);
        assert_eq!(
            q[0],
            MsgRecord {
                key: 1627389698,
                msqid: 0,
                mode: 0o644,
                cbytes: 300,
                qnum: 2,
                lspid: 4242,
                lrpid: 0,
                uid: 0,
                gid: 0,
                cuid: 0,
                cgid: 0,
                stime: 1763800100,
                rtime: 0,
                ctime: 1763800000,
            }
        );
        assert_eq!(q[1].uid, 1000);
    }

    #[test]
    fn empty_and_garbage() {
        assert!(parse_sem("").is_empty());
        assert!(parse_msg("key msqid\n1 2 3\n").is_empty());
    }

    #[test]
    fn queue_status() {
        let st = parse_mq_status("QSIZE:129        NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n");
        assert_eq!(
            st,
            Some(MqStatus {
                qsize: 129,
                notify_pid: 0
            })
        );
        let st = parse_mq_status("QSIZE:0 NOTIFY:2 SIGNO:10 NOTIFY_PID:4242\n").unwrap();
        assert_eq!(st.notify_pid, 4242);
        assert_eq!(parse_mq_status("nonsense"), None);
    }
}
