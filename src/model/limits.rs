//! The rows of `limits`: the kernel's System V limits, /dev/shm's size, and the use of each, as
//! `limits --json` prints them.

use super::{Kind, RemoveIpc};
use serde::Serialize;

/// The limits and their use; the JSON of `limits --json`.
#[derive(Debug, Serialize)]
pub struct Limits {
    /// Largest segment allowed, bytes (kernel.shmmax).
    pub shmmax: Option<u64>,
    /// Largest segment that exists, bytes.
    pub largest_segment: u64,
    /// Total System V memory allowed, in pages (kernel.shmall).
    pub shmall_pages: Option<u64>,
    /// The same in bytes.
    pub shmall_bytes: Option<u64>,
    /// Pages used by all segments (each rounded up to whole pages, as the kernel counts).
    pub used_pages: u64,
    pub page_size: u64,
    /// Most segments allowed (kernel.shmmni).
    pub shmmni: Option<u64>,
    /// Segments that exist.
    pub segments: u64,
    /// Whether segments nobody attaches are removed when their creator exits.
    pub shm_rmid_forced: Option<bool>,
    pub dev_shm: Option<DevShm>,
    /// Semaphore sets and message queues, System V and POSIX.
    pub ipc: IpcLimits,
    /// shmmax, shmall_pages and shmall_bytes again as decimal strings: the kernel's defaults
    /// (near 2^64) are exact in the numbers above, but a reader that parses JSON numbers as
    /// doubles (JavaScript, jq) rounds anything past 2^53. Null when the number is null.
    pub shmmax_str: Option<String>,
    pub shmall_pages_str: Option<String>,
    pub shmall_bytes_str: Option<String>,
    /// systemd-logind's RemoveIPC and what it would remove here; null without logind.
    pub remove_ipc: Option<IpcRisk>,
    /// With `--all-namespaces`: every container's own /dev/shm (null without).
    pub dev_shm_containers: Option<Vec<OtherDevShm>>,
}

/// logind's RemoveIPC setting and the objects here it would remove at their owner's logout.
#[derive(Debug, Serialize)]
pub struct IpcRisk {
    #[serde(flatten)]
    pub setting: RemoveIpc,
    /// System V segments and /dev/shm objects of regular users (uid > sys_uid_max), when on.
    pub at_risk: Vec<AtRisk>,
}

/// One object logind would remove when its owner's last session ends.
#[derive(Debug, Serialize)]
pub struct AtRisk {
    /// `sysv` or `posix`.
    pub kind: Kind,
    pub id: Option<i64>,
    pub path: Option<String>,
    pub uid: u32,
    /// The owner's name, as the warning line names it (null when the uid has none).
    pub user: Option<String>,
}

/// The limits of the other IPC objects and their use in this IPC namespace.
#[derive(Debug, Default, Serialize)]
pub struct IpcLimits {
    /// Most semaphore sets (kernel.sem, 4th field).
    pub semmni: Option<u64>,
    /// Most semaphores in all sets together (kernel.sem, 2nd field).
    pub semmns: Option<u64>,
    /// Most semaphores in one set (kernel.sem, 1st field).
    pub semmsl: Option<u64>,
    pub sem_sets: u64,
    pub semaphores: u64,
    /// Most System V message queues (kernel.msgmni).
    pub msgmni: Option<u64>,
    pub msg_queues: u64,
    /// Most bytes in one queue (kernel.msgmnb).
    pub msgmnb: Option<u64>,
    /// Most POSIX message queues (fs.mqueue.queues_max; root is exempt).
    pub mqueue_queues_max: Option<u64>,
    /// POSIX queues that exist (null when no mqueue filesystem is mounted to count them).
    pub mqueues: Option<u64>,
    /// Most messages in one POSIX queue, and largest message (fs.mqueue.msg_max, msgsize_max).
    pub mqueue_msg_max: Option<u64>,
    pub mqueue_msgsize_max: Option<u64>,
}

/// Size and use of the /dev/shm filesystem.
#[derive(Debug, Serialize)]
pub struct DevShm {
    pub path: String,
    pub size: u64,
    pub used: u64,
    pub available: u64,
    pub inodes: u64,
    pub inodes_used: u64,
    /// Objects on this filesystem that `ls` lists (files, deleted files still held open).
    pub objects: Option<u64>,
    /// Bytes those objects hold (their allocated blocks).
    pub explained: Option<u64>,
    /// Use no listed object explains: files held by processes we could not read, or kept by
    /// the filesystem itself. 0 (within a page per object) where every holder can be read.
    pub unexplained: Option<u64>,
    /// Processes whose fds could not be read (they may hold what is unexplained).
    pub hidden_procs: Option<u64>,
}

/// Above this share of its size, a /dev/shm is called nearly full.
pub const FULL_SHARE: f64 = 0.9;

/// Whether `used` of `size` is past [`FULL_SHARE`].
pub fn nearly_full(used: u64, size: u64) -> bool {
    size > 0 && used as f64 > size as f64 * FULL_SHARE
}

impl DevShm {
    pub fn nearly_full(&self) -> bool {
        nearly_full(self.used, self.size)
    }
}

/// Another mount namespace's /dev/shm (a container's), as `limits --all-namespaces` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OtherDevShm {
    /// The container that has it (from the cgroup of a process that sees it), else
    /// `pid N (comm)`.
    pub name: String,
    /// A process that sees it.
    pub pid: i32,
    pub size: u64,
    pub used: u64,
    pub available: u64,
}
