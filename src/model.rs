//! Plain data that flows from `source` to `render`: no I/O here.
//!
//! Field names and meanings of [`Segment`] and [`Mapping`] are the JSON schema fixed by the
//! contract; absent values serialise as `null`, never as a missing key.

use serde::{Deserialize, Serialize};
use std::fmt;

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

    pub fn as_str(self) -> &'static str {
        match self {
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
    pub start: String,
    /// One past the last address, as `"0x…"`.
    pub end: String,
    /// As maps prints them, e.g. `rw-s`.
    pub perms: String,
    /// Offset of the mapping into the object.
    #[serde(default)]
    pub offset: u64,
    /// The process is in another IPC namespace than the one listed.
    #[serde(default)]
    pub other_ipc_ns: bool,
}

/// A process holding the object through an open file descriptor (mapped or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdHolder {
    pub pid: i32,
    pub comm: String,
    pub fd: i32,
}

/// One shared-memory object, a row of `ls` and the body of `show`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub kind: Kind,
    pub id: Option<i64>,
    pub key: Option<String>,
    pub former_key: Option<String>,
    pub path: Option<String>,
    pub size: u64,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub perms: Option<String>,
    pub nattch: Option<u64>,
    pub status: Vec<String>,
    pub cpid: Option<i32>,
    pub lpid: Option<i32>,
    /// Last attach, seconds since the epoch (sysv), or null when never.
    pub atime: Option<i64>,
    /// Last detach (sysv), or null when never.
    pub dtime: Option<i64>,
    /// Last change: creation or IPC_SET (sysv); birth time for files where the filesystem
    /// keeps one, else modification time (`ctime_source` says which).
    pub ctime: Option<i64>,
    /// What `ctime` is: `"ipc_ctime"` (System V: creation or last IPC_SET), `"btime"` (statx
    /// birth time: when the file was made), `"mtime"` (last modification: no birth time kept).
    #[serde(default)]
    pub ctime_source: Option<String>,
    pub rss: Option<u64>,
    pub swap: Option<u64>,
    /// Device and inode that identify the object in maps, as `"MAJ:MIN"` and a number.
    pub dev: Option<String>,
    pub inode: Option<u64>,
    pub attachers: Vec<Attacher>,
    /// Processes holding it through an open fd (memfds and /dev/shm files), mapped or not.
    #[serde(default)]
    pub fd_holders: Vec<FdHolder>,
    /// The containers or services of the processes that map or hold it (from their cgroups).
    #[serde(default)]
    pub containers: Vec<String>,
    /// The IPC namespace (inode of its nsfs file) a System V segment belongs to.
    pub ipc_ns: Option<u64>,
    /// True only when `verdict` is leaked.
    pub stale: bool,
    /// The verdict in one line of words (made by `render::verdict`), for leaked objects.
    pub stale_reason: Option<String>,
    /// In use, idle, leaked or unknown; see [`Verdict`].
    #[serde(default)]
    pub verdict: Verdict,
    /// The facts the verdict rests on.
    #[serde(default)]
    pub evidence: Evidence,
    /// Anything else worth knowing, one line (e.g. who keeps a removed segment alive).
    pub note: Option<String>,
}

impl Segment {
    /// An empty row of the given kind; callers fill in what they know.
    pub fn new(kind: Kind) -> Segment {
        Segment {
            kind,
            id: None,
            key: None,
            former_key: None,
            path: None,
            size: 0,
            uid: None,
            gid: None,
            perms: None,
            nattch: None,
            status: Vec::new(),
            cpid: None,
            lpid: None,
            atime: None,
            dtime: None,
            ctime: None,
            ctime_source: None,
            rss: None,
            swap: None,
            dev: None,
            inode: None,
            attachers: Vec::new(),
            fd_holders: Vec::new(),
            containers: Vec::new(),
            ipc_ns: None,
            stale: false,
            stale_reason: None,
            verdict: Verdict::Unknown,
            evidence: Evidence::default(),
            note: None,
        }
    }

    /// Distinct attaching pids, in order.
    pub fn attacher_pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self.attachers.iter().map(|a| a.pid).collect();
        pids.sort_unstable();
        pids.dedup();
        pids
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
    pub fn known_key(&self) -> Option<&str> {
        self.former_key.as_deref().or(self.key.as_deref())
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
    /// A /dev/shm object nobody maps or holds open, all possible holders seen.
    NoHolder,
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
    /// Live processes of that program run by the object's owner.
    pub owner_alive: Vec<i32>,
}

/// One line of `/proc/<pid>/maps`, with smaps figures when they were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub start: String,
    pub end: String,
    pub perms: String,
    pub offset: u64,
    pub dev: String,
    pub inode: u64,
    pub path: Option<String>,
    /// A shared-memory kind for shared mappings; for private ones `heap`, `stack`,
    /// `anon-private`, `file-private`, or `special` (`[vdso]` and the like).
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
