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
pub struct ScanOptions<'a> {
    /// Keep only the mappings and fds of these objects: a process with none of them is left
    /// out before its name, namespace or cgroup is read (`show` of one object).
    pub only: Option<&'a Target>,
    /// Also read each process's fd table (same pass, same threads) for fds on shared memory.
    pub fds: bool,
    /// With `fds`: also keep fds on the mqueue filesystem of this device (POSIX queues).
    pub mqueue_dev: Option<u64>,
    /// Also note every process's IPC namespace ([`Scan::ipc_namespaces`]), in the same visit.
    pub all_namespaces: bool,
}

/// The objects a targeted scan looks for. Every mapping and fd of each of them is kept, so their
/// rows come out as a full scan makes them; rows of other objects may come along (same inode
/// or same printed name), and are whole too.
#[derive(Debug, Default)]
pub struct Target {
    /// System V segments by shmid: maps lines naming `/SYSV<key>` with that inode. (No fds: a
    /// segment cannot be held open.)
    pub shmids: Vec<u64>,
    /// Files (POSIX objects, mapped files) by (device, inode).
    pub inodes: Vec<(u64, u64)>,
    /// Names as rows print them, for objects whose inode cannot be known before the scan:
    /// `memfd:NAME`, the path of a file deleted while held.
    pub names: Vec<String>,
}

impl Target {
    fn keeps_map(&self, m: &MapLine, shm_dir: &[u8]) -> bool {
        use super::classify::{classify, MapClass};
        if self
            .inodes
            .contains(&(libc::makedev(m.dev_major, m.dev_minor), m.inode))
        {
            return !m.path.starts_with(b"/SYSV");
        }
        // A name that ends " (deleted)" may be a file's real name: both readings are tried.
        match classify(m, shm_dir, |_| false) {
            MapClass::Sysv { .. } => self.shmids.contains(&m.inode),
            class => {
                !self.names.is_empty()
                    && (class.object_path().is_some_and(|p| self.names.contains(&p))
                        || self.named(b"", &m.path))
            }
        }
    }

    fn wants_fds(&self) -> bool {
        !self.inodes.is_empty() || !self.names.is_empty()
    }

    fn keeps_fd(&self, f: &OpenFd) -> bool {
        if self.inodes.contains(&(f.stat.dev, f.stat.inode)) {
            return true;
        }
        match f.path.strip_prefix(b"/memfd:") {
            Some(name) if f.memfd => self.named(b"memfd:", name),
            _ => self.named(b"", &f.path),
        }
    }

    /// Whether `prefix` + `name`, printed as rows print it, is one of the names.
    fn named(&self, prefix: &[u8], name: &[u8]) -> bool {
        if self.names.is_empty() {
            return false;
        }
        let printed = super::bytes_to_string(&[prefix, name].concat());
        self.names.contains(&printed)
    }
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
    /// With [`ScanOptions::all_namespaces`]: every IPC namespace some process is in, with the
    /// lowest pid in it to enter it by.
    pub ipc_namespaces: std::collections::BTreeMap<u64, i32>,
}

/// What one scan thread found.
#[derive(Debug, Default)]
struct ScanPart {
    procs: Vec<ProcShared>,
    denied: Vec<i32>,
    namespaces: std::collections::BTreeMap<u64, i32>,
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

/// Read what is left of `f` into `buf` (cleared first). Not read_to_end: its size probe costs a
/// statx and an lseek per file, which on /proc (sizes are 0) buys nothing and was a tenth of
/// `ls`'s system time over 1000 processes. The buffer's spare room is read into as it is, not
/// zeroed first (64 KiB a file was 1% of `ls`).
fn read_all(f: &mut std::fs::File, buf: &mut Vec<u8>) -> Result<(), ReadError> {
    use std::os::fd::AsRawFd;
    buf.clear();
    loop {
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        let spare = buf.spare_capacity_mut();
        // SAFETY: read(2) writes at most `spare.len()` bytes into memory we own; the bytes it
        // reports written are initialised and counted into the length below.
        let n = unsafe { libc::read(f.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
        match n {
            0 => return Ok(()),
            n if n > 0 => {
                // SAFETY: see above: `n` bytes past the old length were just written.
                unsafe { buf.set_len(buf.len() + n as usize) };
            }
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != ErrorKind::Interrupted {
                    return Err(classify_io(e));
                }
            }
        }
    }
}

/// One process's directory under the proc root, opened once (`O_PATH`): its files are then
/// opened and its links read relative to it, which spares the kernel a lookup of the proc root
/// and the pid for each (about a third of each such call), and reads them all from the same
/// process even if its pid is reused meanwhile.
pub(crate) struct PidDir(std::os::fd::OwnedFd);

impl PidDir {
    pub(crate) fn open(root: std::os::fd::BorrowedFd<'_>, pid: i32) -> Result<PidDir, ReadError> {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        nix::fcntl::openat(
            root,
            pid.to_string().as_str(),
            flags,
            nix::sys::stat::Mode::empty(),
        )
        .map(PidDir)
        .map_err(|e| classify_io(e.into()))
    }

    /// Open one of its files.
    pub(crate) fn open_file(&self, name: &str) -> Result<std::fs::File, ReadError> {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
        nix::fcntl::openat(&self.0, name, flags, nix::sys::stat::Mode::empty())
            .map(std::fs::File::from)
            .map_err(|e| classify_io(e.into()))
    }

    /// Read one of its files whole into `buf`, and hand back the open file (for fstat).
    pub(crate) fn read(&self, name: &str, buf: &mut Vec<u8>) -> Result<std::fs::File, ReadError> {
        let mut f = self.open_file(name)?;
        read_all(&mut f, buf)?;
        Ok(f)
    }

    /// Its command name, or `?` if it went away.
    pub(crate) fn comm(&self) -> String {
        let mut b = [0u8; 64];
        let n = self
            .open_file("comm")
            .and_then(|mut f| f.read(&mut b).map_err(classify_io));
        match n {
            Ok(n) if n > 0 => {
                let b = &b[..n];
                super::bytes_to_string(b.strip_suffix(b"\n").unwrap_or(b))
            }
            _ => "?".to_string(),
        }
    }

    /// Inode of a namespace link such as `ns/ipc`.
    pub(crate) fn ns_inode(&self, ns: &str) -> Option<u64> {
        let mut b = [0u8; 64];
        let link = readlinkat(self.0.as_fd(), &format!("ns/{ns}"), &mut b)?;
        parse_ns_link(link)
    }

    /// Its open fd table, as a directory fd for [`for_each_entry`].
    pub(crate) fn fd_dir(&self) -> Result<std::os::fd::OwnedFd, ReadError> {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        nix::fcntl::openat(&self.0, "fd", flags, nix::sys::stat::Mode::empty())
            .map_err(|e| classify_io(e.into()))
    }
}

/// Call `f` with the name of every entry of an open /proc fd directory but `.` and `..`, read with
/// getdents64 straight into one buffer (opendir's fcntl, fstat and rewind cost three system
/// calls more per directory, each as dear as the read).
pub(crate) fn for_each_entry(
    dir: std::os::fd::BorrowedFd<'_>,
    mut f: impl FnMut(&std::ffi::CStr),
) -> Result<(), ReadError> {
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 8192];
    loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes of records into buf.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(classify_io(std::io::Error::last_os_error()));
        }
        if n == 0 {
            return Ok(());
        }
        let mut at = 0;
        let end = n as usize;
        // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name[].
        while at + 19 < end {
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            if reclen == 0 || at + reclen > end {
                break;
            }
            let name = &buf[at + 19..at + reclen];
            if let Ok(name) = std::ffi::CStr::from_bytes_until_nul(name) {
                if name.to_bytes() != b"." && name.to_bytes() != b".." {
                    f(name);
                }
            }
            at += reclen;
        }
        // /proc's fd directories emit entries until the buffer is full: room left for another
        // (names are at most a few digits) means there is none, and spares a read that would
        // return 0 (one system call per process).
        if end + 64 < buf.len() {
            return Ok(());
        }
    }
}

use std::os::fd::AsFd;

/// readlinkat(2) into `buf`: the link's target, or None (gone, not a link, or longer than buf).
pub(crate) fn readlinkat<'b>(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &str,
    buf: &'b mut [u8],
) -> Option<&'b [u8]> {
    use std::os::fd::AsRawFd;
    let name = std::ffi::CString::new(name).ok()?;
    readlinkat_c(dir.as_raw_fd(), &name, buf)
}

fn readlinkat_c<'b>(dir: i32, name: &std::ffi::CStr, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    // SAFETY: `name` is NUL-terminated; readlinkat writes at most `buf.len()` bytes into buf.
    let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    // A target as long as the buffer may have been cut: not trusted.
    (n >= 0 && (n as usize) < buf.len()).then(|| &buf[..n as usize])
}

/// `ipc:[4026531839]` → 4026531839.
fn parse_ns_link(link: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(link).ok()?;
    s.split_once('[')?.1.strip_suffix(']')?.parse().ok()
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
        let mut f = std::fs::File::open(self.pid_path(pid, name)).map_err(classify_io)?;
        read_all(&mut f, buf)?;
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
        parse_ns_link(link.as_os_str().as_bytes())
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
    pub fn scan(&self, opts: ScanOptions<'_>) -> std::io::Result<Scan> {
        let pids = self.pids()?;
        let root = std::fs::File::open(&self.proc_root)?;
        let root = root.as_fd();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
            .min(pids.len() / 64 + 1);
        let parts: Vec<ScanPart> = if threads <= 1 {
            vec![self.scan_some(root, pids.iter().copied(), opts)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let pids = &pids;
                        s.spawn(move || {
                            let some = pids.iter().copied().skip(t).step_by(threads);
                            self.scan_some(root, some, opts)
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
        for part in parts {
            scan.procs.extend(part.procs);
            scan.denied += part.denied.len();
            scan.denied_pids.extend(part.denied);
            for (ns, pid) in part.namespaces {
                let first = scan.ipc_namespaces.entry(ns).or_insert(pid);
                *first = (*first).min(pid);
            }
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
        root: std::os::fd::BorrowedFd<'_>,
        pids: impl Iterator<Item = i32>,
        opts: ScanOptions<'_>,
    ) -> ScanPart {
        let me = std::process::id() as i32;
        let mut part = ScanPart::default();
        let mut buf = Vec::with_capacity(64 * 1024);
        let shm_dir = self.shm_maps_dir.as_os_str().as_bytes().to_vec();
        for pid in pids {
            if pid == me {
                continue;
            }
            let Ok(dir) = PidDir::open(root, pid) else {
                continue;
            };
            // Every namespace, from every process that shows one (kernel threads and
            // unreadable processes too), in the same visit: no second pass over /proc.
            let mut ipc_ns = None;
            if opts.all_namespaces {
                ipc_ns = dir.ns_inode("ipc");
                if let Some(ns) = ipc_ns {
                    let first = part.namespaces.entry(ns).or_insert(pid);
                    *first = (*first).min(pid);
                }
            }
            let maps_file = match dir.read("maps", &mut buf) {
                Ok(f) => f,
                Err(ReadError::Denied) => {
                    part.denied.push(pid);
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
            if let Some(only) = opts.only {
                shared.retain(|m| only.keeps_map(m, &shm_dir));
            }
            let fds = if opts.fds && opts.only.is_none_or(Target::wants_fds) {
                match shm_fds(&dir, &shm_dir, opts.mqueue_dev) {
                    Ok(mut fds) => {
                        if let Some(only) = opts.only {
                            fds.retain(|f| only.keeps_fd(f));
                        }
                        fds
                    }
                    Err(ReadError::Denied) => {
                        part.denied.push(pid);
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
            part.procs.push(ProcShared {
                pid,
                comm: dir.comm(),
                // The maps file belongs to the process's owner; fstat on the open file costs no
                // path lookup (a stat of /proc/<pid> per process was a tenth of `ls`).
                uid: maps_file.metadata().ok().map(|m| m.uid()),
                // Joins System V attachments to the right namespace's ids, and marks
                // processes of other namespaces.
                ipc_ns: ipc_ns.or_else(|| dir.ns_inode("ipc")),
                maps: shared,
                fds,
                container: dir
                    .read("cgroup", &mut buf)
                    .ok()
                    .and_then(|_| super::cgroup::parse(std::str::from_utf8(&buf).ok()?)),
            });
        }
        part
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

/// The open fds of one process that are on shared memory: memfds, and files in the shm
/// directory (deleted or not). One readlink per fd, relative to the fd directory; stat only for
/// those kept.
fn shm_fds(
    dir: &PidDir,
    shm_dir: &[u8],
    mqueue_dev: Option<u64>,
) -> Result<Vec<OpenFd>, ReadError> {
    use std::os::fd::AsRawFd;
    let fd_dir = dir.fd_dir()?;
    let dfd = fd_dir.as_raw_fd();
    let mut out = Vec::new();
    let mut link = [0u8; 4096];
    for_each_entry(fd_dir.as_fd(), |name| {
        let Some(fd) = name.to_str().ok().and_then(|n| n.parse::<i32>().ok()) else {
            return;
        };
        let Some(target) = readlinkat_c(dfd, name, &mut link) else {
            return;
        };
        // Cheap test first: most fds are sockets, pipes and regular files elsewhere.
        let memfd = target.starts_with(b"/memfd:");
        // mq_open's fds name the queue as `/NAME`, relative to the mqueue filesystem.
        let maybe_mq = mqueue_dev.is_some()
            && target.len() > 1
            && !target[1..].contains(&b'/')
            && !target.ends_with(b" (deleted)");
        if !memfd && !maybe_mq && !super::classify::in_dir(target, shm_dir) {
            return;
        }
        let (path, deleted) = match target.strip_suffix(b" (deleted)") {
            Some(stem) => (stem, true),
            None => (target, false),
        };
        // stat follows the magic link to the open file itself, deleted or not.
        let Some(md) = fstatat(dfd, name) else {
            return;
        };
        let mqueue = maybe_mq && Some(md.dev) == mqueue_dev;
        if maybe_mq && !mqueue && !super::classify::in_dir(target, shm_dir) {
            return;
        }
        if md.mode & libc::S_IFMT != libc::S_IFREG {
            return;
        }
        out.push(OpenFd {
            fd,
            path: path.to_vec(),
            deleted,
            memfd,
            mqueue,
            stat: md,
        });
    })?;
    Ok(out)
}

/// statx(2) of `name` in `dir`, following links: what [`FileStat::from_metadata`] keeps.
fn fstatat(dir: i32, name: &std::ffi::CStr) -> Option<FileStat> {
    let mut st = std::mem::MaybeUninit::<libc::statx>::zeroed();
    let mask = libc::STATX_BASIC_STATS | libc::STATX_BTIME;
    // SAFETY: `name` is NUL-terminated and `st` is a statx buffer the call fills.
    let r = unsafe { libc::statx(dir, name.as_ptr(), 0, mask, st.as_mut_ptr()) };
    if r != 0 {
        return None;
    }
    // SAFETY: statx succeeded and filled the buffer (zeroed before, so fully initialised).
    let st = unsafe { st.assume_init() };
    Some(FileStat {
        dev: libc::makedev(st.stx_dev_major, st.stx_dev_minor),
        inode: st.stx_ino,
        size: st.stx_size,
        allocated: st.stx_blocks * 512,
        uid: st.stx_uid,
        gid: st.stx_gid,
        mode: u32::from(st.stx_mode),
        mtime: st.stx_mtime.tv_sec,
        btime: (st.stx_mask & libc::STATX_BTIME != 0).then_some(st.stx_btime.tv_sec),
    })
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

#[cfg(test)]
mod target_tests {
    use super::*;

    const MAPS: &[u8] = b"\
7f0000000000-7f0000010000 rw-s 00000000 00:01 32789 /SYSV6f20d677 (deleted)
7f0000010000-7f0000020000 rw-s 00000000 00:01 5 /SYSV00000000 (deleted)
7f0000020000-7f0000030000 rw-s 00000000 00:1a 77 /dev/shm/psm_1
7f0000030000-7f0000040000 rw-s 00000000 00:1a 78 /dev/shm/renamed
7f0000040000-7f0000050000 rw-s 00000000 00:01 1031 /memfd:pool (deleted)
7f0000050000-7f0000060000 rw-s 00000000 00:01 1032 /memfd:other (deleted)
7f0000060000-7f0000070000 rw-s 00000000 08:01 99 /srv/gone (deleted)
";

    fn kept(t: &Target) -> Vec<u64> {
        let mut lines = Vec::new();
        maps::parse_shared(MAPS, &mut lines);
        lines
            .iter()
            .filter(|m| t.keeps_map(m, b"/dev/shm"))
            .map(|m| m.inode)
            .collect()
    }

    #[test]
    fn a_target_keeps_only_its_own_mappings() {
        let sysv = Target {
            shmids: vec![32789],
            ..Target::default()
        };
        assert_eq!(kept(&sysv), [32789]);
        // By inode, whatever name the mapping shows; a System V line never counts as a file.
        let file = Target {
            inodes: vec![(libc::makedev(0, 0x1a), 78), (libc::makedev(0, 1), 5)],
            ..Target::default()
        };
        assert_eq!(kept(&file), [78]);
        let named = Target {
            names: vec!["memfd:pool".into(), "/srv/gone".into()],
            ..Target::default()
        };
        assert_eq!(kept(&named), [1031, 99]);
        assert!(kept(&Target::default()).is_empty());
    }

    #[test]
    fn namespace_links() {
        assert_eq!(parse_ns_link(b"ipc:[4026531839]"), Some(4026531839));
        assert_eq!(parse_ns_link(b"ipc:4026531839"), None);
    }

    #[test]
    fn fd_directories_list_every_entry() {
        let dir = std::fs::File::open("/proc/self/fd").unwrap();
        let mut names = Vec::new();
        for_each_entry(dir.as_fd(), |n| names.push(n.to_str().unwrap().to_string())).unwrap();
        // At least stdin, stdout, stderr and the directory itself; never `.` or `..`.
        assert!(names.len() >= 4, "{names:?}");
        assert!(names.iter().all(|n| n.parse::<i32>().is_ok()), "{names:?}");
    }
}
