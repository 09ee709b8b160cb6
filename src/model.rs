//! Plain data that flows from `source` to `render`: no I/O here.
//!
//! Field names and meanings of [`Segment`] and [`Mapping`] are the JSON schema fixed by the
//! contract; absent values serialise as `null`, never as a missing key.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

mod limits;
pub use limits::*;

/// What kind of shared-memory object a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A System V segment (`/proc/sysvipc/shm`).
    Sysv,
    /// A file under `/dev/shm`.
    Posix,
    /// A memfd (`/memfd:NAME (deleted)`).
    Memfd,
    /// `MAP_SHARED|MAP_ANONYMOUS` memory (`/dev/zero (deleted)`).
    Anon,
    /// A regular file mapped `MAP_SHARED`.
    File,
    /// A file unlinked while still mapped shared.
    Deleted,
    /// A POSIX named semaphore (`/dev/shm/sem.NAME`).
    Psem,
    /// A System V semaphore set (`/proc/sysvipc/sem`).
    Sem,
    /// A System V message queue (`/proc/sysvipc/msg`).
    Msg,
    /// A POSIX message queue (a file of the mqueue filesystem, /dev/mqueue).
    Mqueue,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Sysv,
        Kind::Posix,
        Kind::Memfd,
        Kind::Anon,
        Kind::File,
        Kind::Deleted,
        Kind::Psem,
    ];

    /// The kinds that are not shared memory: listed only when asked for (`--kind`, `--ipc all`).
    pub const MESSAGING: [Kind; 3] = [Kind::Sem, Kind::Msg, Kind::Mqueue];

    pub fn is_messaging(self) -> bool {
        Kind::MESSAGING.contains(&self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sem => "sem",
            Kind::Msg => "msg",
            Kind::Mqueue => "mqueue",
            Kind::Sysv => "sysv",
            Kind::Posix => "posix",
            Kind::Memfd => "memfd",
            Kind::Anon => "anon",
            Kind::File => "file",
            Kind::Deleted => "deleted",
            Kind::Psem => "psem",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A process that has the object mapped, one per mapping (a process may map it twice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attacher {
    pub pid: i32,
    pub comm: String,
    /// First address, as `"0x…"`.
    #[serde(with = "hex")]
    pub start: u64,
    /// One past the last address, as `"0x…"`.
    #[serde(with = "hex")]
    pub end: u64,
    /// As maps prints them, e.g. `rw-s`.
    pub perms: String,
    /// Offset of the mapping into the object.
    #[serde(default)]
    pub offset: u64,
    /// The process is in another IPC namespace than the one listed.
    #[serde(default)]
    pub other_ipc_ns: bool,
    /// The container or service the process belongs to (from its cgroup), e.g.
    /// `docker:4f3c1b2a9d8e`, `pod:<namespace>/<name>/<id>` (`pod:<uid>/<id>` where the node
    /// does not name the pod), `nginx.service`, `session 3`.
    #[serde(default)]
    pub container: Option<String>,
}

/// A process holding the object through an open file descriptor (mapped or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdHolder {
    pub pid: i32,
    pub comm: String,
    pub fd: i32,
    /// As [`Attacher::container`].
    #[serde(default)]
    pub container: Option<String>,
}

/// Counts that only the messaging kinds have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcCounts {
    /// Semaphores in a set.
    pub nsems: Option<u64>,
    /// Messages waiting in a queue (System V; POSIX queues do not say without opening them).
    pub messages: Option<u64>,
    /// Last sender and last receiver of a System V queue.
    pub last_send_pid: Option<i32>,
    pub last_recv_pid: Option<i32>,
    /// The process registered with mq_notify on a POSIX queue.
    pub notify_pid: Option<i32>,
}

/// One semaphore of a System V set, as `show sem:ID` reads it (semctl; nothing is changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Semaphore {
    /// Its number in the set, from 0.
    pub num: u64,
    pub value: i32,
    /// The last process to operate on it (0: none yet).
    pub pid: i32,
    /// Processes waiting for its value to grow, and for it to reach zero.
    pub ncnt: i32,
    pub zcnt: i32,
}

/// A System V message queue's counts, as `show msg:ID` reads them (msgctl IPC_STAT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgQueue {
    /// Messages waiting, and their bytes.
    pub qnum: u64,
    pub cbytes: u64,
    /// The most bytes the queue may hold.
    pub qbytes: Option<u64>,
    /// Last sender and receiver (0: none yet).
    pub lspid: i32,
    pub lrpid: i32,
    /// Last send, last receive, last change (creation or IPC_SET); null when never.
    pub stime: Option<i64>,
    pub rtime: Option<i64>,
    pub ctime: Option<i64>,
}

/// One shared-memory object, a row of `ls` and the body of `show`.
///
/// `ls` holds every row at once (any user can make 200,000 files in /dev/shm), so a row is
/// small: what every row has is here, and what few rows have (System V fields, holders,
/// containers, notes) is in [`More`], boxed and allocated only when one of its fields is
/// written. Those fields read and write as if they were here (`seg.cpid`, `seg.attachers.push`)
/// through `Deref` to [`More`]; reading an absent part reads empty defaults. The JSON is one
/// flat object in the contract's field order ([`SegmentJson`]).
#[derive(Clone)]
pub struct Segment {
    pub kind: Kind,
    /// True only when `verdict` is leaked.
    pub stale: bool,
    /// In use, idle, leaked or unknown; see [`Verdict`].
    pub verdict: Verdict,
    /// What `ctime` is (see [`CtimeSource`]).
    pub ctime_source: Option<CtimeSource>,
    pub path: Option<String>,
    pub size: u64,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub perms: Option<Mode>,
    /// Last change: creation or IPC_SET (sysv); birth time for files where the filesystem
    /// keeps one, else modification time (`ctime_source` says which).
    pub ctime: Option<i64>,
    pub rss: Option<u64>,
    pub swap: Option<u64>,
    /// Device and inode that identify the object in maps, as `"MAJ:MIN"` and a number.
    pub dev: Option<Dev>,
    pub inode: Option<u64>,
    /// The verdict in one line of words (made by `render::verdict`), for leaked objects; rows
    /// with the same words share them.
    pub stale_reason: Option<Arc<str>>,
    /// The facts the verdict rests on.
    pub evidence: Facts,
    more: Option<Box<More>>,
}

/// The fields of a [`Segment`] that few rows have; read and written through the segment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct More {
    pub id: Option<i64>,
    pub key: Option<u32>,
    pub former_key: Option<u32>,
    pub nattch: Option<u64>,
    pub status: Vec<Status>,
    pub cpid: Option<i32>,
    pub lpid: Option<i32>,
    /// Last attach, seconds since the epoch (sysv), or null when never.
    pub atime: Option<i64>,
    /// Last detach (sysv), or null when never.
    pub dtime: Option<i64>,
    pub attachers: Vec<Attacher>,
    /// Processes holding it through an open fd (memfds and /dev/shm files), mapped or not.
    pub fd_holders: Vec<FdHolder>,
    /// The containers (not host services) of the processes that map or hold it, distinct.
    pub containers: Vec<String>,
    /// Every name of a file under /dev/shm with more than one (hard links: one object,
    /// several names), `path` first; empty when `path` is its only name.
    pub names: Vec<String>,
    /// Semaphore sets and message queues: their counts (null for shared memory).
    pub ipc: Option<IpcCounts>,
    /// With `--all-namespaces`: the container whose own /dev/shm holds it (null: the one
    /// listed, the host's).
    pub shm_mount: Option<String>,
    /// The IPC namespace (inode of its nsfs file) a System V segment belongs to.
    pub ipc_ns: Option<u64>,
    /// Anything else worth knowing, one line (e.g. who keeps a removed segment alive).
    pub note: Option<String>,
}

/// What a row without a [`More`] reads.
static NO_MORE: More = More {
    id: None,
    key: None,
    former_key: None,
    nattch: None,
    status: Vec::new(),
    cpid: None,
    lpid: None,
    atime: None,
    dtime: None,
    attachers: Vec::new(),
    fd_holders: Vec::new(),
    containers: Vec::new(),
    names: Vec::new(),
    ipc: None,
    shm_mount: None,
    ipc_ns: None,
    note: None,
};

impl std::ops::Deref for Segment {
    type Target = More;
    fn deref(&self) -> &More {
        self.more.as_deref().unwrap_or(&NO_MORE)
    }
}

impl std::ops::DerefMut for Segment {
    /// Allocates the part on its first write.
    fn deref_mut(&mut self) -> &mut More {
        self.more.get_or_insert_with(Default::default)
    }
}

/// What `ctime` of a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CtimeSource {
    /// System V: creation or last IPC_SET.
    IpcCtime,
    /// statx birth time: when the file was made.
    Btime,
    /// Last modification: no birth time kept.
    Mtime,
}

impl CtimeSource {
    /// A file's: its birth time where the filesystem keeps one, else its modification time.
    pub fn of_file(has_btime: bool) -> CtimeSource {
        if has_btime {
            CtimeSource::Btime
        } else {
            CtimeSource::Mtime
        }
    }
}

/// The JSON of a [`Segment`], field by field in the contract's order (absent values are `null`,
/// never missing keys). Serialised from borrowed fields, so writing a row copies nothing.
#[derive(Debug, PartialEq, Serialize)]
pub struct SegmentJson<'a> {
    pub kind: Kind,
    pub id: Option<i64>,
    #[serde(with = "opt_key")]
    pub key: Option<u32>,
    #[serde(with = "opt_key")]
    pub former_key: Option<u32>,
    pub path: &'a Option<String>,
    pub names: &'a [String],
    pub size: u64,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub perms: Option<Mode>,
    pub nattch: Option<u64>,
    pub status: &'a [Status],
    pub cpid: Option<i32>,
    pub lpid: Option<i32>,
    pub atime: Option<i64>,
    pub dtime: Option<i64>,
    pub ctime: Option<i64>,
    pub ctime_source: Option<CtimeSource>,
    pub rss: Option<u64>,
    pub swap: Option<u64>,
    pub dev: Option<Dev>,
    pub inode: Option<u64>,
    pub attachers: &'a [Attacher],
    pub fd_holders: &'a [FdHolder],
    pub containers: &'a [String],
    pub ipc: &'a Option<IpcCounts>,
    pub shm_mount: &'a Option<String>,
    pub ipc_ns: Option<u64>,
    pub stale: bool,
    pub stale_reason: &'a Option<Arc<str>>,
    pub verdict: Verdict,
    pub evidence: &'a Evidence,
    pub note: &'a Option<String>,
}

impl<'a> From<&'a Segment> for SegmentJson<'a> {
    fn from(s: &'a Segment) -> SegmentJson<'a> {
        SegmentJson {
            kind: s.kind,
            id: s.id,
            key: s.key,
            former_key: s.former_key,
            path: &s.path,
            names: &s.names,
            size: s.size,
            uid: s.uid,
            gid: s.gid,
            perms: s.perms,
            nattch: s.nattch,
            status: &s.status,
            cpid: s.cpid,
            lpid: s.lpid,
            atime: s.atime,
            dtime: s.dtime,
            ctime: s.ctime,
            ctime_source: s.ctime_source,
            rss: s.rss,
            swap: s.swap,
            dev: s.dev,
            inode: s.inode,
            attachers: &s.attachers,
            fd_holders: &s.fd_holders,
            containers: &s.containers,
            ipc: &s.ipc,
            shm_mount: &s.shm_mount,
            ipc_ns: s.ipc_ns,
            stale: s.stale,
            stale_reason: &s.stale_reason,
            verdict: s.verdict,
            evidence: &s.evidence,
            note: &s.note,
        }
    }
}

impl Serialize for Segment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SegmentJson::from(self).serialize(s)
    }
}

impl PartialEq for Segment {
    fn eq(&self, other: &Segment) -> bool {
        SegmentJson::from(self) == SegmentJson::from(other)
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SegmentJson::from(self).fmt(f)
    }
}

/// A row as JSON gives it back (`show --json`, saved rows): the owned form of [`SegmentJson`].
#[derive(Deserialize)]
struct SegmentIn {
    kind: Kind,
    id: Option<i64>,
    #[serde(with = "opt_key")]
    key: Option<u32>,
    #[serde(with = "opt_key")]
    former_key: Option<u32>,
    path: Option<String>,
    #[serde(default)]
    names: Vec<String>,
    size: u64,
    uid: Option<u32>,
    gid: Option<u32>,
    perms: Option<Mode>,
    nattch: Option<u64>,
    status: Vec<Status>,
    cpid: Option<i32>,
    lpid: Option<i32>,
    atime: Option<i64>,
    dtime: Option<i64>,
    ctime: Option<i64>,
    #[serde(default)]
    ctime_source: Option<CtimeSource>,
    rss: Option<u64>,
    swap: Option<u64>,
    dev: Option<Dev>,
    inode: Option<u64>,
    attachers: Vec<Attacher>,
    #[serde(default)]
    fd_holders: Vec<FdHolder>,
    #[serde(default)]
    containers: Vec<String>,
    #[serde(default)]
    ipc: Option<IpcCounts>,
    #[serde(default)]
    shm_mount: Option<String>,
    ipc_ns: Option<u64>,
    stale: bool,
    stale_reason: Option<String>,
    #[serde(default)]
    verdict: Verdict,
    #[serde(default)]
    evidence: Evidence,
    note: Option<String>,
}

impl<'de> Deserialize<'de> for Segment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Segment, D::Error> {
        let i = SegmentIn::deserialize(d)?;
        let more = More {
            id: i.id,
            key: i.key,
            former_key: i.former_key,
            nattch: i.nattch,
            status: i.status,
            cpid: i.cpid,
            lpid: i.lpid,
            atime: i.atime,
            dtime: i.dtime,
            attachers: i.attachers,
            fd_holders: i.fd_holders,
            containers: i.containers,
            names: i.names,
            ipc: i.ipc,
            shm_mount: i.shm_mount,
            ipc_ns: i.ipc_ns,
            note: i.note,
        };
        Ok(Segment {
            kind: i.kind,
            stale: i.stale,
            verdict: i.verdict,
            ctime_source: i.ctime_source,
            path: i.path,
            size: i.size,
            uid: i.uid,
            gid: i.gid,
            perms: i.perms,
            ctime: i.ctime,
            rss: i.rss,
            swap: i.swap,
            dev: i.dev,
            inode: i.inode,
            stale_reason: i.stale_reason.map(Arc::from),
            evidence: i.evidence.into(),
            more: (more != NO_MORE).then(|| Box::new(more)),
        })
    }
}

impl Segment {
    /// An empty row of the given kind; callers fill in what they know.
    pub fn new(kind: Kind) -> Segment {
        Segment {
            kind,
            stale: false,
            verdict: Verdict::Unknown,
            ctime_source: None,
            path: None,
            size: 0,
            uid: None,
            gid: None,
            perms: None,
            ctime: None,
            rss: None,
            swap: None,
            dev: None,
            inode: None,
            stale_reason: None,
            evidence: Facts::default(),
            more: None,
        }
    }
    /// Distinct attaching pids, in order.
    pub fn attacher_pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self.attachers.iter().map(|a| a.pid).collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Whether `name` is one of its names (`path`, or another hard link's).
    pub fn has_name(&self, name: &str) -> bool {
        self.path.as_deref() == Some(name) || self.names.iter().any(|n| n == name)
    }

    /// Distinct pids that map it or hold it open, in order.
    pub fn holder_pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .attachers
            .iter()
            .map(|a| a.pid)
            .chain(self.fd_holders.iter().map(|h| h.pid))
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// The key the user knows: the current one, or for a removed segment the one it was made with.
    pub fn known_key(&self) -> Option<u32> {
        self.former_key.or(self.key)
    }

    /// Whether the kernel has marked it for removal (`IPC_RMID` with attachers left).
    pub fn is_dest(&self) -> bool {
        self.status.contains(&Status::Dest)
    }
}

/// Whether an object can be removed, and why: the answer `ls`, `show` and `rm --stale` give.
/// Only `Leaked` is ever removed by `--stale`; when shmtool cannot see enough the answer is
/// `Unknown`, never `Leaked`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Verdict {
    /// Some process maps it, holds it open or is attached.
    #[serde(rename = "in use")]
    InUse,
    /// Nobody holds it now, but something alive could come back for it.
    #[serde(rename = "idle")]
    Idle,
    /// Nobody holds it and nothing alive can or will.
    #[serde(rename = "leaked")]
    Leaked,
    /// shmtool could not see enough to tell.
    #[default]
    #[serde(rename = "unknown")]
    Unknown,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [
        Verdict::InUse,
        Verdict::Idle,
        Verdict::Leaked,
        Verdict::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::InUse => "in use",
            Verdict::Idle => "idle",
            Verdict::Leaked => "leaked",
            Verdict::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule that decided a verdict; each is a row of the README's verdict table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Not judged (no rule applied yet).
    #[default]
    NotJudged,
    /// A process maps it or is attached (System V: the kernel's nattch).
    Mapped,
    /// A process holds it through an open file descriptor.
    OpenFd,
    /// A System V segment marked for removal: the kernel frees it when the last one detaches.
    MarkedForRemoval,
    /// A well-known owner program of its user runs and reopens such objects by name.
    OwnerProgramAlive,
    /// Its creator is alive (and could attach it again).
    CreatorAlive,
    /// Its last user is alive and knows its key.
    LastUserAlive,
    /// A process that could hold it could not be read.
    UnreadableProcesses,
    /// Processes outside this pid namespace exist and cannot be seen.
    ProcessesNotVisible,
    /// Its creator or last user is outside this pid namespace (the kernel reports pid 0).
    PidNotVisible,
    /// A live process has the creator's or last user's pid, and only the wall clock says it
    /// started later; a clock step could make a live creator look like that.
    PidIdentityUncertain,
    /// A file below a subdirectory of /dev/shm: `shm_open` never makes those.
    NotShmObject,
    /// IPC_PRIVATE, nattch 0, creator gone: nobody can find it again by key.
    PrivateCreatorGone,
    /// Keyed, nattch 0, creator and last user gone.
    CreatorAndLastUserGone,
    /// A /dev/shm object of a well-known program that no longer runs, and nobody holds it.
    OwnerProgramGone,
    /// A /dev/shm object (or POSIX queue) nobody maps or holds open, all possible holders seen.
    NoHolder,
    /// A semaphore set or message queue whose every recorded user is gone.
    LastUsersGone,
    /// A semaphore set or message queue with no proof either way (never used, waiters, a user
    /// alive): left alone.
    NotProven,
}

/// What became of a pid a System V segment names (creator or last user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PidState {
    /// A process with that pid runs and nothing proves it is another one.
    Alive,
    /// No process has that pid, or it is a zombie.
    Gone,
    /// A process has that pid, but by the wall clock it started after the segment's event.
    Uncertain,
    /// The kernel reported pid 0: the process is outside this pid namespace.
    NotVisible,
}

/// One pid a verdict looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidCheck {
    pub pid: i32,
    pub state: PidState,
    /// Its command name when it runs.
    pub comm: Option<String>,
}

/// The facts behind a verdict (the JSON `evidence` object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The rule that decided it.
    pub rule: Rule,
    /// Pids that map it, hold it open or are attached.
    pub holders: Vec<i32>,
    /// Attachments the kernel counts (System V nattch) whether or not we see who.
    pub nattch: Option<u64>,
    /// Pids that could hold it but whose maps or fds could not be read.
    pub unreadable: Vec<i32>,
    /// Processes exist that this /proc does not show (we are in a child pid namespace).
    pub processes_not_visible: bool,
    /// The System V creator, and the last process to attach or detach.
    pub creator: Option<PidCheck>,
    pub last_user: Option<PidCheck>,
    /// IPC_PRIVATE (key 0): no one can find it by key.
    pub private_key: bool,
    /// The well-known program whose objects have this name (`show`, `ls --program`).
    pub owner_program: Option<String>,
    /// Live processes that keep it: of that program, run by the object's owner (by anyone,
    /// for an any-user rule), or the process whose pid the object's name carries.
    pub owner_alive: Vec<i32>,
}

/// A row's [`Evidence`], shared: rows with equal evidence one after another (thousands of
/// files judged alike) point at one copy, and every row whose evidence is its rule alone (most
/// rows: a /dev/shm file nobody holds) at that rule's one copy. Reads and writes as an
/// [`Evidence`] through `Deref`; a write makes it the row's own.
#[derive(Clone)]
pub struct Facts(Arc<Evidence>);

thread_local! {
    /// Evidence that the next rows may share.
    static SHARED: std::cell::RefCell<Vec<Arc<Evidence>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Evidence {
    /// The evidence of `rule` with no other fact.
    pub const fn bare(rule: Rule) -> Evidence {
        Evidence {
            rule,
            holders: Vec::new(),
            nattch: None,
            unreadable: Vec::new(),
            processes_not_visible: false,
            creator: None,
            last_user: None,
            private_key: false,
            owner_program: None,
            owner_alive: Vec::new(),
        }
    }
}

impl From<Evidence> for Facts {
    fn from(ev: Evidence) -> Facts {
        SHARED.with(|shared| {
            let mut shared = shared.borrow_mut();
            // The last one made first: equal rows come one after another.
            if let Some(same) = shared.iter().rev().find(|s| ***s == ev) {
                return Facts(same.clone());
            }
            // Kept: the bare evidence of each rule met so far, and one other (the last made).
            let is_bare = |e: &Evidence| *e == Evidence::bare(e.rule);
            let made = Arc::new(ev);
            match shared.iter().position(|s| !is_bare(s)) {
                Some(i) if !is_bare(&made) => shared[i] = made.clone(),
                _ => shared.push(made.clone()),
            }
            Facts(made)
        })
    }
}

impl Default for Facts {
    fn default() -> Facts {
        Evidence::default().into()
    }
}

impl std::ops::Deref for Facts {
    type Target = Evidence;
    fn deref(&self) -> &Evidence {
        &self.0
    }
}

impl std::ops::DerefMut for Facts {
    fn deref_mut(&mut self) -> &mut Evidence {
        Arc::make_mut(&mut self.0)
    }
}

impl PartialEq for Facts {
    fn eq(&self, other: &Facts) -> bool {
        **self == **other
    }
}

impl Eq for Facts {}

impl fmt::Debug for Facts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl Serialize for Facts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Facts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Facts, D::Error> {
        Evidence::deserialize(d).map(Facts::from)
    }
}

/// One line of `/proc/<pid>/maps`, with smaps figures when they were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    #[serde(with = "hex")]
    pub start: u64,
    #[serde(with = "hex")]
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub dev: Dev,
    pub inode: u64,
    /// As /proc/PID/maps prints it, ` (deleted)` included (the contract's field).
    pub path: Option<String>,
    /// The same without the kernel's ` (deleted)` (`deleted` says it was there): the path `ls`
    /// gives the object.
    #[serde(default)]
    pub clean_path: Option<String>,
    /// The mapped file, segment or memfd is gone from the filesystem (maps says ` (deleted)`).
    #[serde(default)]
    pub deleted: bool,
    /// A shared-memory kind for shared mappings, the same word `ls` uses; for private ones
    /// `heap`, `stack`, `anon-private`, `file-private`, or `special` (`[vdso]` and the like).
    pub kind: String,
    pub size: u64,
    pub rss: Option<u64>,
    pub pss: Option<u64>,
    pub swap: Option<u64>,
}

/// Format an address the way the contract's JSON wants it.
pub fn hex_addr(addr: u64) -> String {
    format!("0x{addr:x}")
}

/// Format a System V key as ipcs prints it.
pub fn key_string(key: u32) -> String {
    format!("0x{key:08x}")
}

/// systemd-logind's RemoveIPC= as configured: when on, logind removes a regular user's System V
/// objects and POSIX shared memory when their last session ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveIpc {
    /// Whether logind would remove a departing user's IPC: true (on), false (off).
    pub enabled: bool,
    /// Users above this uid are "regular" ones whose IPC logind removes (login.defs
    /// SYS_UID_MAX, or UID_MIN - 1, or 999).
    pub sys_uid_max: u32,
    /// The file whose setting decided it, or null for the built-in default.
    pub source: Option<String>,
}

impl RemoveIpc {
    /// Whether an object owned by `uid` is at risk: a regular user's, not nobody's (who never
    /// has a session).
    pub fn at_risk(&self, uid: u32) -> bool {
        self.enabled && uid > self.sys_uid_max && uid != 65534
    }
}

/// One shared-memory lifecycle event, as `trace --json` prints it and `trace --log` stores it
/// (one JSON object per line). Absent values are `null`, never missing keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Wall-clock time, RFC 3339 in UTC with nanoseconds.
    pub time: String,
    /// CLOCK_MONOTONIC nanoseconds: events are ordered by this.
    pub mono_ns: u64,
    /// create, open, attach, detach, remove, set, unlink, memfd, mmap, resize, exit.
    pub event: String,
    /// The process (thread group id) that made the call.
    pub pid: i32,
    /// The thread that made it.
    pub tid: i32,
    pub comm: String,
    pub uid: u32,
    pub user: String,
    /// The container or service the caller runs in, named as `ls` names an attacher's (from its
    /// cgroup v2 id; null on a cgroup v1 machine or in the root cgroup).
    pub container: Option<String>,
    /// The object's kind as `ls` names it: sysv, posix, psem, memfd, file.
    pub kind: String,
    /// shmid (sysv).
    pub id: Option<i64>,
    /// System V key as "0x%08x".
    pub key: Option<String>,
    /// Path under /dev/shm, `memfd:NAME`, or a file's path.
    pub path: Option<String>,
    /// Bytes: the size asked for (shmget, ftruncate) or mapped (mmap).
    pub size: Option<u64>,
    /// Where it was attached or mapped, as "0x…".
    pub addr: Option<String>,
    /// The call's flags or mode in words (e.g. "IPC_CREAT|0600", "read-only").
    pub detail: Option<String>,
}

/// The shared object a lock lives in, named as `ls` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockObject {
    /// An `ls` kind, or `sem` for a System V semaphore set.
    pub kind: String,
    /// shmid or semid.
    pub id: Option<i64>,
    #[serde(with = "opt_key")]
    pub key: Option<u32>,
    pub path: Option<String>,
}

/// The process and thread holding a lock, as far as the lock word says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOwner {
    pub tid: i32,
    /// The process the thread belongs to, when it is alive.
    pub pid: Option<i32>,
    pub comm: Option<String>,
    pub alive: bool,
    /// Whether that process maps the object the lock is in (a process that does not may hold a
    /// reused tid).
    pub maps_object: Option<bool>,
    /// The thread's state as /proc prints it (`S (sleeping)`, `T (stopped)`, …), when alive.
    pub state: Option<String>,
}

/// One thread blocked on a lock in shared memory: a row of `locks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockWait {
    pub pid: i32,
    pub tid: i32,
    pub comm: String,
    /// `futex`, `semop` or `semtimedop`.
    pub call: String,
    /// The futex op as futex(2) names it (`FUTEX_WAIT`, …), null for semop.
    pub op: Option<String>,
    /// The futex address in the waiter, as `"0x…"`.
    #[serde(with = "opt_hex")]
    pub address: Option<u64>,
    pub object: Option<LockObject>,
    /// Offset of the lock word in the object.
    pub offset: Option<u64>,
    /// `mutex`, `semaphore`, `condvar`, `futex` (a word that looks like none of them), or
    /// `sysv-sem`.
    pub lock: String,
    /// The futex word now, as `"0x%08x"`.
    pub word: Option<String>,
    /// The value the waiter went to sleep expecting.
    pub expected: Option<String>,
    /// glibc mutex type (`normal`, `recursive`, `errorcheck`, `adaptive`).
    pub mutex_type: Option<String>,
    pub robust: Option<bool>,
    pub pshared: Option<bool>,
    /// Priority inheritance.
    pub pi: Option<bool>,
    /// For a robust mutex: the kernel set FUTEX_OWNER_DIED in the word.
    pub owner_died: Option<bool>,
    pub owner: Option<LockOwner>,
    /// System V: semaphore number, the operation waited on, the value now and the last pid.
    pub sem_num: Option<u16>,
    pub sem_op: Option<i16>,
    pub sem_value: Option<i32>,
    pub sem_last_pid: Option<i32>,
    /// The struct member holding the lock, from debuginfo.
    pub member: Option<String>,
    /// `owner dead (not robust: waits forever)`, `owner alive`, `cycle: A waits on B waits on A`, …
    pub verdict: String,
    /// The threads of a wait-for cycle this waiter is part of, starting with itself.
    pub cycle: Option<Vec<i32>>,
    /// Anything else worth knowing, one line.
    pub note: Option<String>,
}

/// A device number (`st_dev`), written as maps and the contract write it: `"MAJ:MIN"` in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dev(pub u64);

impl Dev {
    pub fn from_parts(major: u32, minor: u32) -> Dev {
        Dev(libc::makedev(major, minor))
    }
}

impl fmt::Display for Dev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}", libc::major(self.0), libc::minor(self.0))
    }
}

impl std::str::FromStr for Dev {
    type Err = String;
    fn from_str(s: &str) -> Result<Dev, String> {
        let bad = || format!("not a device number (MAJ:MIN in hex): {s:?}");
        let (maj, min) = s.split_once(':').ok_or_else(bad)?;
        let maj = u32::from_str_radix(maj, 16).map_err(|_| bad())?;
        let min = u32::from_str_radix(min, 16).map_err(|_| bad())?;
        Ok(Dev::from_parts(maj, min))
    }
}

impl Serialize for Dev {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dev {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Dev, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Permission bits, written as ipcs writes them: octal digits (`"644"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mode(pub u32);

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:o}", self.0)
    }
}

impl Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Mode, D::Error> {
        let text = String::deserialize(d)?;
        u32::from_str_radix(&text, 8)
            .map(Mode)
            .map_err(|_| serde::de::Error::custom(format!("not an octal mode: {text:?}")))
    }
}

/// A System V segment's state flags, as `ipcs` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Marked for removal (`SHM_DEST`): freed when the last attacher detaches.
    Dest,
    /// Locked in memory (`SHM_LOCKED`).
    Locked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Dest => "dest",
            Status::Locked => "locked",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serde for addresses: `"0x…"` strings in JSON, `u64` in the model.
pub mod hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0x{v:x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not a 0x address: {text:?}")))
    }

    pub(super) fn parse(text: &str) -> Option<u64> {
        u64::from_str_radix(text.strip_prefix("0x")?, 16).ok()
    }
}

/// Serde for optional addresses (see [`hex`]).
pub mod opt_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(&format_args!("0x{v:x}")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| {
                super::hex::parse(&t)
                    .ok_or_else(|| serde::de::Error::custom(format!("not a 0x address: {t:?}")))
            })
            .transpose()
    }
}

/// Serde for System V keys: `"0x%08x"` strings in JSON (as ipcs prints them), `u32` in the model.
pub mod opt_key {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(k) => s.collect_str(&format_args!("0x{k:08x}")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| {
                t.strip_prefix("0x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .ok_or_else(|| serde::de::Error::custom(format!("not a 0x key: {t:?}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod typed_tests {
    use super::*;

    #[test]
    fn rows_judged_alike_share_their_evidence_until_one_is_written() {
        let mut ev = Evidence::bare(Rule::UnreadableProcesses);
        ev.unreadable = vec![1];
        let (mut a, b) = (Facts::from(ev.clone()), Facts::from(ev.clone()));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        // The bare evidence of a rule is shared however rows interleave.
        let (c, d) = (Facts::from(Evidence::bare(Rule::NoHolder)), Facts::from(ev));
        let e = Facts::from(Evidence::bare(Rule::NoHolder));
        assert!(Arc::ptr_eq(&c.0, &e.0) && Arc::ptr_eq(&b.0, &d.0));
        a.holders.push(8);
        assert_eq!((a.holders.len(), b.holders.len()), (1, 0));
        assert_eq!(
            (a.rule, b.rule),
            (Rule::UnreadableProcesses, Rule::UnreadableProcesses)
        );
    }

    #[test]
    fn a_row_is_small_and_its_rare_part_is_made_on_write() {
        // 200,000 rows must fit in well under 64 MiB with their paths (issue 13).
        assert!(
            std::mem::size_of::<Segment>() <= 176,
            "{}",
            std::mem::size_of::<Segment>()
        );
        let mut s = Segment::new(Kind::Posix);
        assert!(s.attachers.is_empty() && s.more.is_none());
        s.cpid = Some(1);
        assert!(s.more.is_some() && s.cpid == Some(1));
    }

    #[test]
    fn typed_fields_serialise_to_the_contract_strings_and_back() {
        let mut s = Segment::new(Kind::Sysv);
        s.key = Some(0x6f20d677);
        s.former_key = Some(1);
        s.perms = Some(Mode(0o644));
        s.status = vec![Status::Dest];
        s.dev = Some(Dev::from_parts(0, 0x1b));
        s.attachers.push(Attacher {
            pid: 1,
            comm: "x".into(),
            start: 0x7f00_0000_1000,
            end: 0x7f00_0000_3000,
            perms: "rw-s".into(),
            offset: 0,
            other_ipc_ns: false,
            container: None,
        });
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["key"], "0x6f20d677");
        assert_eq!(v["former_key"], "0x00000001");
        assert_eq!(v["perms"], "644");
        assert_eq!(v["status"], serde_json::json!(["dest"]));
        assert_eq!(v["dev"], "00:1b");
        assert_eq!(v["attachers"][0]["start"], "0x7f0000001000");
        assert_eq!(v["attachers"][0]["end"], "0x7f0000003000");
        let back: Segment = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
        let mut none = Segment::new(Kind::Posix);
        none.key = None;
        let v = serde_json::to_value(&none).unwrap();
        assert!(v["key"].is_null() && v["dev"].is_null() && v["perms"].is_null());
        assert_eq!(serde_json::from_value::<Segment>(v).unwrap(), none);
        assert_eq!("fd:01".parse::<Dev>().unwrap(), Dev::from_parts(0xfd, 1));
        assert!("x".parse::<Dev>().is_err());
    }
}
