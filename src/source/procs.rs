//! Walking /proc: which processes map what, their names, namespaces and start times.

use super::maps::{self, MapLine};
use super::Sys;
use std::io::{ErrorKind, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

/// A process holding an open fd on the object (device, inode).
pub type FdHolder = ((u64, u64), i32);

/// What stat says about a file, kept from the scan so nothing is stat'ed twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub dev: u64,
    pub inode: u64,
    pub size: u64,
    /// Allocated bytes (st_blocks × 512): for tmpfs and memfds, resident plus swapped.
    pub allocated: u64,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub mtime: i64,
    /// Birth time (statx btime), where the filesystem keeps one.
    pub btime: Option<i64>,
}

impl FileStat {
    pub fn from_metadata(m: &std::fs::Metadata) -> FileStat {
        FileStat {
            dev: m.dev(),
            inode: m.ino(),
            size: m.size(),
            allocated: m.blocks() * 512,
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode(),
            mtime: m.mtime(),
            btime: m
                .created()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64),
        }
    }
}

/// An open file descriptor on shared memory: a memfd, or a file in /dev/shm (deleted or not).
#[derive(Debug, Clone)]
pub struct OpenFd {
    pub fd: i32,
    /// The link's target, without the ` (deleted)` suffix.
    pub path: Vec<u8>,
    pub deleted: bool,
    pub memfd: bool,
    /// A POSIX message queue (the fd's file is on the mqueue filesystem).
    pub mqueue: bool,
    pub stat: FileStat,
}

/// What one walk over /proc reads besides maps.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Also read each process's fd table (same pass, same threads) for fds on shared memory.
    pub fds: bool,
    /// With `fds`: also keep fds on the mqueue filesystem of this device (POSIX queues).
    pub mqueue_dev: Option<u64>,
}

/// The shared mappings of one process.
#[derive(Debug, Clone)]
pub struct ProcShared {
    pub pid: i32,
    pub comm: String,
    /// Real owner of the process, where it was looked up (see [`Sys::proc_uid`]).
    pub uid: Option<u32>,
    /// Inode of /proc/<pid>/ns/ipc, when it could be read.
    pub ipc_ns: Option<u64>,
    pub maps: Vec<MapLine>,
    /// Open fds on memfds and /dev/shm files (only when the scan was asked for them).
    pub fds: Vec<OpenFd>,
    /// The container or service it runs in, from /proc/PID/cgroup.
    pub container: Option<super::cgroup::Container>,
}

/// Result of one walk over /proc.
#[derive(Debug, Default)]
pub struct Scan {
    pub procs: Vec<ProcShared>,
    /// Processes whose maps we were not allowed to read.
    pub denied: usize,
    /// Their pids (maps or fd table unreadable), ascending: verdicts name them.
    pub denied_pids: Vec<i32>,
    /// Our own IPC namespace.
    pub self_ns: Option<u64>,
}

impl Scan {
    /// Whether `p` lives in the IPC namespace we list. Unknown counts as ours.
    pub fn same_ipc_ns(&self, p: &ProcShared) -> bool {
        match (self.self_ns, p.ipc_ns) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

/// What happened when we tried to read a process's file.
#[derive(Debug)]
pub enum ReadError {
    /// The process is gone (or was never there).
    Gone,
    /// Not ours to read.
    Denied,
    Other(std::io::Error),
}

pub(crate) fn classify_io(e: std::io::Error) -> ReadError {
    match e.kind() {
        ErrorKind::NotFound => ReadError::Gone,
        ErrorKind::PermissionDenied => ReadError::Denied,
        _ if e.raw_os_error() == Some(libc::ESRCH) => ReadError::Gone,
        _ if e.raw_os_error() == Some(libc::EPERM) => ReadError::Denied,
        _ => ReadError::Other(e),
    }
}

/// How many pids a message names before "and N more": a refusal with 4001 holders stays one
/// readable line (`ls --json`/`show` list every one).
pub const DESCRIBED_PIDS: usize = 10;

impl Sys {
    /// Every process id under the proc root, ascending.
    pub fn pids(&self) -> std::io::Result<Vec<i32>> {
        let mut pids: Vec<i32> = std::fs::read_dir(&self.proc_root)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// Read a whole /proc file into `buf` (cleared first).
    pub fn read_pid_file(&self, pid: i32, name: &str, buf: &mut Vec<u8>) -> Result<(), ReadError> {
        self.open_and_read(pid, name, buf).map(|_| ())
    }

    /// Open a /proc file, read all of it into `buf`, and hand back the open file (for fstat).
    fn open_and_read(
        &self,
        pid: i32,
        name: &str,
        buf: &mut Vec<u8>,
    ) -> Result<std::fs::File, ReadError> {
        buf.clear();
        let mut f = std::fs::File::open(self.pid_path(pid, name)).map_err(classify_io)?;
        // Not read_to_end: its size probe costs a statx and an lseek per file, which on /proc
        // (sizes are 0) buys nothing and was a tenth of `ls`'s system time over 1000 processes.
        let mut filled = 0;
        loop {
            if buf.len() - filled < 16 * 1024 {
                buf.resize(filled + 64 * 1024, 0);
            }
            match f.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.truncate(filled);
                    return Err(classify_io(e));
                }
            }
        }
        buf.truncate(filled);
        Ok(f)
    }

    /// Every mapping of one process.
    pub fn maps_of(&self, pid: i32) -> Result<Vec<MapLine>, ReadError> {
        let mut buf = Vec::new();
        self.read_pid_file(pid, "maps", &mut buf)?;
        Ok(maps::parse(&buf))
    }

    /// The container or service a process runs in (None: the host's root cgroup, or gone).
    pub fn container_of(&self, pid: i32, buf: &mut Vec<u8>) -> Option<super::cgroup::Container> {
        self.read_pid_file(pid, "cgroup", buf).ok()?;
        super::cgroup::parse(std::str::from_utf8(buf).ok()?)
    }

    /// The process's command name, or `?` if it went away.
    pub fn comm(&self, pid: i32) -> String {
        // comm is at most 16 bytes: one read gets it all.
        let mut b = [0u8; 64];
        let n = std::fs::File::open(self.pid_path(pid, "comm"))
            .and_then(|mut f| f.read(&mut b))
            .unwrap_or(0);
        if n == 0 {
            return "?".to_string();
        }
        let b = &b[..n];
        super::bytes_to_string(b.strip_suffix(b"\n").unwrap_or(b))
    }

    /// The real owner of a process (owner of /proc/<pid>).
    pub fn proc_uid(&self, pid: i32) -> Option<u32> {
        std::fs::metadata(self.pid_path(pid, ""))
            .ok()
            .map(|m| m.uid())
    }

    /// Inode of a namespace link such as `ns/ipc` (`ipc:[4026531839]`).
    pub fn ns_inode(&self, pid: Option<i32>, ns: &str) -> Option<u64> {
        let base = match pid {
            Some(p) => self.pid_path(p, ""),
            None => self.proc_root.join("self"),
        };
        let link = std::fs::read_link(base.join("ns").join(ns)).ok()?;
        let s = link.to_str()?;
        let inner = s.split_once('[')?.1.strip_suffix(']')?;
        inner.parse().ok()
    }

    /// Processes as people read them: `4242 (writer), 4250 (reader)`.
    pub fn describe_pids(&self, pids: &[i32]) -> String {
        let shown = pids.len().min(DESCRIBED_PIDS);
        let mut s = pids[..shown]
            .iter()
            .map(|&p| format!("{p} ({})", self.comm(p)))
            .collect::<Vec<_>>()
            .join(", ");
        if pids.len() > shown {
            s.push_str(&format!(" and {} more", pids.len() - shown));
        }
        s
    }

    /// Whether a process has exited: its stat is gone, or says zombie or dead. Its mappings
    /// are gone then, so an smaps read that overlapped the exit may have been cut short.
    pub fn exited(&self, pid: i32) -> bool {
        let Ok(stat) = std::fs::read(self.pid_path(pid, "stat")) else {
            return true;
        };
        // comm may hold spaces and parentheses: the state follows the last ')'.
        let state = stat
            .iter()
            .rposition(|&c| c == b')')
            .and_then(|close| stat[close + 1..].iter().find(|c| !c.is_ascii_whitespace()));
        matches!(state, Some(b'Z' | b'X' | b'x'))
    }

    /// Whether a process exists now.
    pub fn alive(&self, pid: i32) -> bool {
        pid > 0 && self.pid_path(pid, "stat").exists()
    }

    /// When a process started, in seconds since the epoch.
    pub fn start_time(&self, pid: i32) -> Option<i64> {
        self.start_time_since_boot(pid, self.boot_time()?)
    }

    /// The same, with the boot time already known (reading /proc/stat once per process
    /// would make judging thousands of segments slow).
    pub fn start_time_since_boot(&self, pid: i32, boot: i64) -> Option<i64> {
        let mut stat = [0u8; 1024];
        let n = std::fs::File::open(self.pid_path(pid, "stat"))
            .and_then(|mut f| f.read(&mut stat))
            .ok()?;
        let stat = &stat[..n];
        // comm may contain spaces and parentheses: fields resume after the last ')'.
        let close = stat.iter().rposition(|&c| c == b')')?;
        let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
        // After ')': state is field 3; starttime is field 22, so the 20th here (index 19).
        let ticks: u64 = rest.split_ascii_whitespace().nth(19)?.parse().ok()?;
        let hz = procfs::ticks_per_second().max(1);
        Some(boot + (ticks / hz) as i64)
    }

    /// Boot time from the `btime` line of /proc/stat.
    pub fn boot_time(&self) -> Option<i64> {
        let text = std::fs::read_to_string(self.proc_root.join("stat")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Walk every process and keep its shared mappings. Processes that vanish mid-walk, kernel
    /// threads (empty maps) and our own process are skipped; unreadable ones are counted.
    ///
    /// The walk is split over a few threads: nearly all of its time is the kernel formatting
    /// maps text, which runs on the calling thread's CPU.
    pub fn scan_shared(&self) -> std::io::Result<Scan> {
        self.scan(ScanOptions::default())
    }

    /// The walk, reading what `opts` asks for besides maps.
    pub fn scan(&self, opts: ScanOptions) -> std::io::Result<Scan> {
        let pids = self.pids()?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
            .min(pids.len() / 64 + 1);
        let parts: Vec<(Vec<ProcShared>, Vec<i32>)> = if threads <= 1 {
            vec![self.scan_some(pids.iter().copied(), opts)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let pids = &pids;
                        s.spawn(move || {
                            self.scan_some(pids.iter().copied().skip(t).step_by(threads), opts)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        let mut scan = Scan {
            self_ns: self.ns_inode(None, "ipc"),
            ..Scan::default()
        };
        for (procs, denied) in parts {
            scan.procs.extend(procs);
            scan.denied += denied.len();
            scan.denied_pids.extend(denied);
        }
        scan.procs.sort_by_key(|p| p.pid);
        scan.denied_pids.sort_unstable();
        super::cgroup::name_pods(
            scan.procs.iter_mut().filter_map(|p| p.container.as_mut()),
            std::path::Path::new(super::cgroup::POD_LOG_DIR),
        );
        Ok(scan)
    }

    fn scan_some(
        &self,
        pids: impl Iterator<Item = i32>,
        opts: ScanOptions,
    ) -> (Vec<ProcShared>, Vec<i32>) {
        let me = std::process::id() as i32;
        let mut out = Vec::new();
        let mut denied = Vec::new();
        let mut buf = Vec::with_capacity(64 * 1024);
        let shm_dir = self.shm_maps_dir.as_os_str().as_bytes().to_vec();
        for pid in pids {
            if pid == me {
                continue;
            }
            let maps_file = match self.open_and_read(pid, "maps", &mut buf) {
                Ok(f) => f,
                Err(ReadError::Denied) => {
                    denied.push(pid);
                    continue;
                }
                Err(_) => continue,
            };
            // A kernel thread: no memory of its own, no fds worth reading.
            if buf.is_empty() {
                continue;
            }
            let mut shared = Vec::new();
            maps::parse_shared(&buf, &mut shared);
            let fds = if opts.fds {
                match self.shm_fds(pid, &shm_dir, opts.mqueue_dev) {
                    Ok(fds) => fds,
                    Err(ReadError::Denied) => {
                        denied.push(pid);
                        Vec::new()
                    }
                    Err(_) => Vec::new(),
                }
            } else {
                Vec::new()
            };
            if shared.is_empty() && fds.is_empty() {
                continue;
            }
            self.disambiguate_paths(pid, &mut shared);
            out.push(ProcShared {
                pid,
                comm: self.comm(pid),
                // The maps file belongs to the process's owner; fstat on the open file costs no
                // path lookup (a stat of /proc/<pid> per process was a tenth of `ls`).
                uid: maps_file.metadata().ok().map(|m| m.uid()),
                // Joins System V attachments to the right namespace's ids, and marks
                // processes of other namespaces.
                ipc_ns: self.ns_inode(Some(pid), "ipc"),
                maps: shared,
                fds,
                container: self.container_of(pid, &mut buf),
            });
        }
        (out, denied)
    }

    /// maps prints a newline in a name as `\012`, and a literal `\012` the same way. Where a
    /// path held that escape, ask `map_files` (which escapes nothing) for the exact name; where
    /// we may not, keep the newline reading.
    pub(crate) fn disambiguate_paths(&self, pid: i32, maps: &mut [MapLine]) {
        for m in maps.iter_mut().filter(|m| m.path.contains(&b'\n')) {
            let link = self.map_files_path(pid, m.start, m.end);
            if let Ok(exact) = std::fs::read_link(link) {
                m.path = std::os::unix::ffi::OsStrExt::as_bytes(exact.as_os_str()).to_vec();
            }
        }
    }

    /// The open fds of one process that are on shared memory: memfds, and files in the shm
    /// directory (deleted or not). One readlink per fd; stat only for those kept.
    fn shm_fds(
        &self,
        pid: i32,
        shm_dir: &[u8],
        mqueue_dev: Option<u64>,
    ) -> Result<Vec<OpenFd>, ReadError> {
        let dir = self.pid_path(pid, "fd");
        let entries = std::fs::read_dir(&dir).map_err(classify_io)?;
        let mut out = Vec::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name();
            let Some(fd) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(target) = std::fs::read_link(entry.path()) else {
                continue;
            };
            let target = target.as_os_str().as_bytes();
            // Cheap test first: most fds are sockets, pipes and regular files elsewhere.
            let memfd = target.starts_with(b"/memfd:");
            // mq_open's fds name the queue as `/NAME`, relative to the mqueue filesystem.
            let maybe_mq = mqueue_dev.is_some()
                && target.len() > 1
                && !target[1..].contains(&b'/')
                && !target.ends_with(b" (deleted)");
            if !memfd && !maybe_mq && !super::classify::in_dir(target, shm_dir) {
                continue;
            }
            let (path, deleted) = match target.strip_suffix(b" (deleted)") {
                Some(stem) => (stem, true),
                None => (target, false),
            };
            // stat follows the magic link to the open file itself, deleted or not.
            let Ok(md) = std::fs::metadata(entry.path()) else {
                continue;
            };
            let mqueue = maybe_mq && Some(md.dev()) == mqueue_dev;
            if maybe_mq && !mqueue && !super::classify::in_dir(target, shm_dir) {
                continue;
            }
            if !md.file_type().is_file() {
                continue;
            }
            out.push(OpenFd {
                fd,
                path: path.to_vec(),
                deleted,
                memfd,
                mqueue,
                stat: FileStat::from_metadata(&md),
            });
        }
        Ok(out)
    }

    /// Pids that hold an open file descriptor on any of `targets` (device, inode), and how many
    /// processes' fd tables could not be read.
    pub fn fd_holders(
        &self,
        targets: &std::collections::HashSet<(u64, u64)>,
    ) -> (Vec<FdHolder>, usize) {
        let mut found = Vec::new();
        let mut denied = 0;
        if targets.is_empty() {
            return (found, 0);
        }
        let me = std::process::id() as i32;
        for pid in self.pids().unwrap_or_default() {
            if pid == me {
                continue;
            }
            let dir = match std::fs::read_dir(self.pid_path(pid, "fd")) {
                Ok(d) => d,
                Err(e) => {
                    if matches!(classify_io(e), ReadError::Denied) {
                        denied += 1;
                    }
                    continue;
                }
            };
            for entry in dir.filter_map(|e| e.ok()) {
                // stat follows the magic link to the open file itself, deleted or not.
                if let Ok(m) = std::fs::metadata(entry.path()) {
                    let id = (m.dev(), m.ino());
                    if targets.contains(&id) {
                        found.push((id, pid));
                    }
                }
            }
        }
        (found, denied)
    }
}

#[cfg(test)]
mod describe_tests {
    #[test]
    fn long_holder_lists_are_cut_with_and_n_more() {
        let empty = tempfile::tempdir().unwrap();
        let sys = super::Sys::new(empty.path(), empty.path());
        let pids: Vec<i32> = (1..=4001).collect();
        let s = sys.describe_pids(&pids);
        assert!(s.ends_with(" and 3991 more"), "{s}");
        assert_eq!(s.matches(", ").count(), super::DESCRIBED_PIDS - 1, "{s}");
        assert!(s.len() < 300, "{s}");
        let few = sys.describe_pids(&[7, 8]);
        assert!(!few.contains("more"), "{few}");
    }
}
