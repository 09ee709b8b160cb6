//! From what the user typed (a pid and address, a shmid, a key, ftok arguments or a path) to a
//! resolved [`Target`]: a range of bytes, the least disturbing way to read them, the processes
//! that map them (for pointer hints), and how to tell that the target has gone.

use super::reader::{shm_stat, Reader, ShmAttachment, ShmStat};
use crate::error::Error;
use crate::source::maps::{MapLine, PathKind};
use crate::source::procs::ReadError;
use crate::source::root::{self, Follow};
use crate::source::sysv::ShmRecord;
use crate::source::Sys;
use anyhow::Context;
use nix::fcntl::OFlag;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// An address as typed: hex, or a symbol with an optional offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrSpec {
    Hex(u64),
    Symbol { name: String, plus: u64 },
}

impl AddrSpec {
    /// `0x7f…`, bare hex digits, or `SYMBOL[+OFF]` (OFF in decimal or 0x hex).
    pub fn parse(text: &str) -> Result<AddrSpec, Error> {
        let t = text.trim();
        if let Some(a) = crate::units::parse_hex_addr(t) {
            return Ok(AddrSpec::Hex(a));
        }
        let (name, plus) = match t.split_once('+') {
            Some((n, off)) => {
                let off = crate::units::parse_size(off).map_err(|_| {
                    Error::BadInput(format!("invalid offset {off:?} in address {text:?}"))
                })?;
                (n.trim(), off)
            }
            None => (t, 0),
        };
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.$@:".contains(c));
        if !ok {
            return Err(Error::BadInput(format!(
                "invalid address {text:?} (expected hex such as 0x7f3a12c00000, or SYMBOL[+OFF])"
            )));
        }
        Ok(AddrSpec::Symbol {
            name: name.to_string(),
            plus,
        })
    }
}

/// Which object the user means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Addr { pid: i32, addr: AddrSpec },
    Shmid(i32),
    Key(u32),
    Ftok { path: PathBuf, proj_id: i32 },
    Path(PathBuf),
}

/// How watch tells that the target went away.
#[derive(Debug, Clone)]
pub enum Liveness {
    /// The process (identified by pid and start time) must still run.
    Process { pid: i32, started: Option<i64> },
    /// The segment must still exist, be the one we resolved (same creator and size), and not
    /// be newly marked for removal. Checked with IPC_STAT, which sees a removed segment even
    /// when we are the last to hold it attached (it then lingers, marked `dest`).
    Sysv {
        shmid: i32,
        cpid: i32,
        size: u64,
        was_dest: bool,
    },
    /// The path must still name the same file.
    File {
        /// As shown.
        path: PathBuf,
        /// As resolved inside the root ([`Sys::open_path`]); None for a holder's /proc link,
        /// which is stat'ed as is.
        inner: Option<PathBuf>,
        dev: u64,
        ino: u64,
    },
}

/// A resolved range of live bytes.
#[derive(Debug)]
pub struct Target {
    /// What to call it in messages.
    pub label: String,
    /// The address (pid targets) or object offset of the first byte, for the address column.
    pub base: u64,
    pub len: u64,
    pub reader: Reader,
    /// Processes that map the object, whose private memory pointers may point into: found
    /// only when asked ([`Mappers::find`]), since that can mean a walk of every process.
    pub mappers: Mappers,
    pub liveness: Liveness,
    /// Something the user should know about how it is read (e.g. that we had to attach).
    pub note: Option<String>,
}

/// Which processes map a target. Reading needs none of them (or finds one cheaply); pointer
/// hints need them all, so the walk of /proc that finds them is done only for hints.
#[derive(Debug, Clone)]
pub enum Mappers {
    /// None that matter: in a process's private memory, pointers into its heap are what they
    /// should be.
    None,
    /// These pids, and every other process that maps this file (device, inode) shared.
    Object { known: Vec<i32>, dev: u64, ino: u64 },
    /// These pids, and every process in our IPC namespace attached to this segment.
    Sysv { known: Vec<i32>, shmid: u64 },
}

impl Mappers {
    /// Every process that maps the target (a walk of /proc unless nothing can).
    pub fn find(&self, sys: &Sys) -> Vec<i32> {
        let known = match self {
            Mappers::None => return Vec::new(),
            Mappers::Object { known, ino: 0, .. } => return known.clone(),
            Mappers::Object { known, .. } | Mappers::Sysv { known, .. } => known,
        };
        let scan = sys.scan_shared().unwrap_or_default();
        let mut pids = known.clone();
        for p in &scan.procs {
            let maps_it = p.maps.iter().any(|m| match self {
                Mappers::Object { dev, ino, .. } => {
                    m.inode == *ino && libc::makedev(m.dev_major, m.dev_minor) == *dev
                }
                Mappers::Sysv { shmid, .. } => {
                    scan.same_ipc_ns(p)
                        && matches!(m.path_kind(), PathKind::Sysv { .. })
                        && m.inode == *shmid
                }
                Mappers::None => false,
            });
            if maps_it {
                pids.push(p.pid);
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }
}

/// `--offset` and `--length`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub offset: u64,
    pub length: Option<u64>,
}

impl Window {
    /// Narrow `[0, avail)` to the window; an offset past the end is an error.
    pub fn apply(&self, avail: u64, what: &str) -> Result<(u64, u64), Error> {
        if self.offset >= avail && !(avail == 0 && self.offset == 0) {
            return Err(Error::BadInput(format!(
                "offset {:#x} is past the end of {what} ({avail} bytes)",
                self.offset
            )));
        }
        let rest = avail - self.offset;
        Ok((self.offset, self.length.map_or(rest, |l| l.min(rest))))
    }
}

/// Turns a symbol name in a process (pid, its mappings) into an address.
pub type SymbolFn<'a> = &'a dyn Fn(i32, &[MapLine], &str) -> anyhow::Result<u64>;

/// Resolve a selector. `symbols` turns a symbol name in a process into an address.
pub fn resolve(
    sys: &Sys,
    sel: &Selector,
    win: Window,
    symbols: SymbolFn,
) -> anyhow::Result<Target> {
    match sel {
        Selector::Addr { pid, addr } => {
            let maps = maps_or_error(sys, *pid)?;
            crate::hooks::pause_point("resolve:maps-read");
            // The process was there a moment ago: if it is gone now, that is what happened,
            // whatever error its going caused (EPERM, ESRCH or ENOENT from /proc).
            resolve_addr(sys, *pid, &maps, addr, win, symbols).map_err(|e| {
                if sys.exited(*pid) {
                    Error::vanished(
                        format!("process {pid}"),
                        "exited while its address was being resolved",
                    )
                    .into()
                } else {
                    e
                }
            })
        }
        Selector::Shmid(id) => {
            let rec = sysv_record(sys, |r| r.shmid == *id as i64)
                .ok_or(Error::NoSuchShmid(*id as i64))?;
            resolve_sysv(sys, &rec, win)
        }
        Selector::Key(key) => {
            if *key == 0 {
                return Err(Error::BadInput(
                    "key 0x00000000 is IPC_PRIVATE and names no single segment; use --shmid".into(),
                )
                .into());
            }
            let rec = sysv_record(sys, |r| r.key == *key)
                .ok_or_else(|| Error::NoSuchKey(crate::model::key_string(*key)))?;
            resolve_sysv(sys, &rec, win)
        }
        Selector::Ftok { path, proj_id } => {
            let key = ftok(sys, path, *proj_id)?;
            let rec = sysv_record(sys, |r| r.key == key).ok_or_else(|| {
                Error::NoSuchKey(format!(
                    "{} (ftok({}, {proj_id}))",
                    crate::model::key_string(key),
                    path.display()
                ))
            })?;
            resolve_sysv(sys, &rec, win)
        }
        Selector::Path(p) => resolve_path(sys, p, win),
    }
}

/// The key `ftok(path, proj_id)` gives (glibc's arithmetic, in `source::ftok`).
/// The path is resolved as `ftok` would in the target (links followed, but never out of its
/// root: [`crate::source::root`]).
fn ftok(sys: &Sys, path: &Path, proj_id: i32) -> anyhow::Result<u32> {
    let st = sys
        .stat_path(path, Follow::InRoot)
        .map_err(|e| anyhow::anyhow!("ftok: {}", root::describe(path, &e)))?;
    Ok(crate::source::ftok::ftok_key(
        st.dev,
        st.ino,
        (proj_id & 0xff) as u8,
    ))
}

fn sysv_record(sys: &Sys, f: impl Fn(&ShmRecord) -> bool) -> Option<ShmRecord> {
    sys.sysv_segments().ok()?.into_iter().find(f)
}

/// Mappings of a process, with its absence and our lack of rights as clean errors.
fn maps_or_error(sys: &Sys, pid: i32) -> anyhow::Result<Vec<MapLine>> {
    match sys.maps_of(pid) {
        Ok(m) => Ok(m),
        Err(ReadError::Gone) => Err(Error::NoSuchProcess(pid).into()),
        Err(ReadError::Denied) => Err(Error::Refused {
            what: format!("cannot read the mappings of pid {pid}"),
            help: ptrace_help(sys, pid),
        }
        .into()),
        Err(ReadError::Other(e)) => Err(e).with_context(|| format!("reading maps of pid {pid}")),
    }
}

fn map_files_path(sys: &Sys, pid: i32, m: &MapLine) -> PathBuf {
    sys.map_files_path(pid, m.start, m.end)
}

/// Open the object behind a mapping through `/proc/<pid>/map_files` (root only), checking that
/// it is the object the maps line names.
fn open_map_file(sys: &Sys, pid: i32, m: &MapLine) -> Option<File> {
    let f = open_noatime(&map_files_path(sys, pid, m)).ok()?;
    let md = f.metadata().ok()?;
    (md.ino() == m.inode).then_some(f)
}

/// Open read-only without updating the access time where we may (owner or CAP_FOWNER).
fn open_noatime(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path)
        .or_else(|_| File::open(path))
}

/// Whether `process_vm_readv` works on this process (we have ptrace rights), with the error
/// when it does not.
fn try_vm_read(pid: i32, addr: u64) -> std::io::Result<()> {
    let r = Reader::Process { pid, addr };
    let mut b = [0u8; 1];
    match r.read_at(0, &mut b)? {
        1 => Ok(()),
        _ => Err(std::io::Error::from_raw_os_error(libc::EFAULT)),
    }
}

fn can_vm_read(pid: i32, addr: u64) -> bool {
    try_vm_read(pid, addr).is_ok()
}

/// What would let us read a process that refused us (PTRACE_MODE_READ / ATTACH rights).
fn ptrace_help(sys: &Sys, pid: i32) -> String {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } == 0 {
        return "root was refused too: kernel.yama.ptrace_scope, a security module, or a \
                missing CAP_SYS_PTRACE in this user namespace forbids it"
            .to_string();
    }
    match sys.proc_uid(pid) {
        Some(uid) => format!("needs CAP_SYS_PTRACE, or to run as uid {uid} (its owner)"),
        None => "needs CAP_SYS_PTRACE, or to run as the process's owner".to_string(),
    }
}

fn resolve_addr(
    sys: &Sys,
    pid: i32,
    maps: &[MapLine],
    spec: &AddrSpec,
    win: Window,
    symbols: SymbolFn,
) -> anyhow::Result<Target> {
    let addr = match spec {
        AddrSpec::Hex(a) => *a,
        AddrSpec::Symbol { name, plus } => symbols(pid, maps, name)?
            .checked_add(*plus)
            .ok_or_else(|| Error::BadInput(format!("{name}+{plus:#x} overflows")))?,
    };
    let m = maps
        .iter()
        .find(|m| m.start <= addr && addr < m.end)
        .ok_or_else(|| {
            Error::BadInput(format!(
                "{addr:#x} is not inside any mapping of pid {pid} (see 'shmtool maps {pid}')"
            ))
        })?;
    let into = addr - m.start;
    let offset = into.checked_add(win.offset).ok_or_else(|| {
        Error::BadInput(format!(
            "offset {:#x} is past the end of the mapping",
            win.offset
        ))
    })?;
    let (off, len) = Window {
        offset,
        length: win.length,
    }
    .apply(m.len(), "the mapping")?;
    let start = m.start + off;
    let started = sys.start_time(pid);
    // Pointer hints are about shared memory: in a process's own private memory, pointers into
    // its heap are what they should be. A shared object may be mapped by others too, and their
    // heaps matter as much as this process's.
    let mappers = if m.is_shared() {
        // Inode 0 (no file behind it): only this process is known to map it.
        Mappers::Object {
            known: vec![pid],
            dev: libc::makedev(m.dev_major, m.dev_minor),
            ino: m.inode,
        }
    } else {
        Mappers::None
    };
    // A shared mapping's bytes are its object's: read the object through map_files and leave
    // the process alone. Private mappings hold their own copies: only the process has them.
    let reader = match (m.is_shared() && m.inode != 0)
        .then(|| open_map_file(sys, pid, m))
        .flatten()
    {
        Some(file) => Reader::File {
            file,
            offset: m.offset + off,
            how: "map_files",
            tail: Some((pid, start)),
        },
        None => Reader::Process { pid, addr: start },
    };
    if let Reader::Process { .. } = reader {
        if m.perms[0] == b'r' {
            if let Err(e) = try_vm_read(pid, start) {
                return Err(vm_read_error(sys, pid, e));
            }
        }
    }
    Ok(Target {
        label: format!("pid {pid} at {start:#x}"),
        base: start,
        len,
        reader,
        mappers,
        liveness: Liveness::Process { pid, started },
        note: (m.perms[0] != b'r')
            .then(|| format!("the mapping at {:#x} is not readable", m.start)),
    })
}

/// The error for a process_vm_readv that failed while resolving, from its errno.
fn vm_read_error(sys: &Sys, pid: i32, e: std::io::Error) -> anyhow::Error {
    match e.raw_os_error() {
        Some(libc::ESRCH) => Error::vanished(
            format!("process {pid}"),
            "exited while its address was being resolved",
        )
        .into(),
        Some(libc::EPERM | libc::EACCES) => Error::Refused {
            what: format!("cannot read the memory of pid {pid} (process_vm_readv)"),
            help: ptrace_help(sys, pid),
        }
        .into(),
        // EFAULT: the page is not there (unmapped since, or the process is exiting).
        _ if sys.exited(pid) => Error::vanished(
            format!("process {pid}"),
            "exited while its address was being resolved",
        )
        .into(),
        _ => anyhow::Error::from(e).context(format!("reading the memory of pid {pid}")),
    }
}

/// The System V attachments of process `pid` to segment `shmid`, if it is in our IPC
/// namespace (a process in another one attaches another segment of that number).
fn sysv_lines(sys: &Sys, pid: i32, shmid: u64) -> Vec<MapLine> {
    if pid <= 0 || sys.ns_inode(Some(pid), "ipc") != sys.ns_inode(None, "ipc") {
        return Vec::new();
    }
    sys.maps_of(pid)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| matches!(m.path_kind(), PathKind::Sysv { .. }) && m.inode == shmid)
        .collect()
}

/// Read through a process that maps the segment: its map_files entry (the segment never
/// notices), else its memory where the mapping covers the range.
fn through_mapper(sys: &Sys, maps: &[(i32, MapLine)], off: u64, len: u64) -> Option<Reader> {
    for (pid, m) in maps {
        if let Some(file) = open_map_file(sys, *pid, m) {
            return Some(Reader::File {
                file,
                offset: off,
                how: "map_files",
                tail: None,
            });
        }
    }
    for (pid, m) in maps {
        let end = off.checked_add(len)?;
        let covers = m.offset <= off && end <= m.offset + m.len();
        let addr = m.start + (off - m.offset.min(off));
        if covers && can_vm_read(*pid, addr) {
            return Some(Reader::Process { pid: *pid, addr });
        }
    }
    None
}

fn resolve_sysv(sys: &Sys, rec: &ShmRecord, win: Window) -> anyhow::Result<Target> {
    let shmid = rec.shmid as i32;
    let (off, len) = win.apply(rec.size, "the segment")?;
    let label = format!("System V segment {shmid}");
    let liveness = Liveness::Sysv {
        shmid,
        cpid: rec.cpid,
        size: rec.size,
        was_dest: rec.is_dest(),
    };
    let target = |reader, known: Vec<i32>, note| Target {
        label: label.clone(),
        base: off,
        len,
        reader,
        mappers: Mappers::Sysv {
            known,
            shmid: rec.shmid as u64,
        },
        liveness: liveness.clone(),
        note,
    };
    let pids = |maps: &[(i32, MapLine)]| {
        let mut p: Vec<i32> = maps.iter().map(|(p, _)| *p).collect();
        p.dedup();
        p
    };
    // Who maps it: its last user and its creator first (usually one of them still does), every
    // process only when neither can be read through, and nobody when nothing is attached.
    let mut quick = vec![rec.lpid, rec.cpid];
    quick.dedup();
    let near: Vec<(i32, MapLine)> = quick
        .iter()
        .flat_map(|&pid| {
            sysv_lines(sys, pid, rec.shmid as u64)
                .into_iter()
                .map(move |m| (pid, m))
        })
        .collect();
    if let Some(reader) = through_mapper(sys, &near, off, len) {
        return Ok(target(reader, pids(&near), None));
    }
    let maps: Vec<(i32, MapLine)> = if rec.nattch == 0 {
        Vec::new()
    } else {
        let scan = sys.scan_shared().unwrap_or_default();
        scan.procs
            .iter()
            .filter(|p| scan.same_ipc_ns(p))
            .flat_map(|p| p.maps.iter().map(move |m| (p.pid, m.clone())))
            .filter(|(_, m)| {
                matches!(m.path_kind(), PathKind::Sysv { .. }) && m.inode == rec.shmid as u64
            })
            .collect()
    };
    if let Some(reader) = through_mapper(sys, &maps, off, len) {
        return Ok(target(reader, pids(&maps), None));
    }
    let mappers = pids(&maps);
    // 3. Attach ourselves, read-only: the only way left, and one the segment records.
    let att = ShmAttachment::attach(shmid).map_err(|e| shmat_error(rec, e))?;
    if !same_segment(rec, &att.stat()) {
        return Err(
            Error::vanished(label, "was removed (its id now names another segment)").into(),
        );
    }
    // The window comes from the kernel's size for what we attached, not from the listing.
    let (off, len) = win.apply(att.size(), "the segment")?;
    let file = att.open_file(&sys.proc_root);
    let how = if file.is_some() {
        "read through its map_files entry"
    } else {
        "read with process_vm_readv, which faults in pages never touched"
    };
    let note = if maps.is_empty() {
        format!("no process maps this segment: attached read-only with shmat, which updates its lpid and atime; {how}")
    } else {
        format!("could not read through a mapping process: attached read-only with shmat, which updates its lpid and atime; {how}")
    };
    Ok(Target {
        base: off,
        len,
        ..target(
            Reader::Shm {
                att,
                offset: off,
                file,
            },
            mappers,
            Some(note),
        )
    })
}

/// Whether what we attached is the segment that was listed (ids are reused once freed).
fn same_segment(rec: &ShmRecord, now: &ShmStat) -> bool {
    // A segment marked for removal since has key IPC_PRIVATE (0) now.
    let key_ok = now.key == rec.key || (now.is_dest() && now.key == 0);
    now.cpid == rec.cpid && now.size == rec.size && key_ok
}

/// The error for a failed shmat, from its errno.
fn shmat_error(rec: &ShmRecord, e: std::io::Error) -> anyhow::Error {
    let shmid = rec.shmid;
    match e.raw_os_error() {
        Some(libc::EINVAL | libc::EIDRM) => {
            Error::vanished(format!("System V segment {shmid}"), "was removed").into()
        }
        Some(libc::EACCES | libc::EPERM) => Error::Refused {
            what: format!("cannot attach System V segment {shmid} read-only"),
            help: format!(
                "it is owned by uid {} with mode {:o}: needs read permission, CAP_IPC_OWNER, or to run as uid {}",
                rec.uid,
                rec.mode & 0o777,
                rec.uid
            ),
        }
        .into(),
        _ => anyhow::Error::from(e).context(format!("shmat({shmid}, SHM_RDONLY)")),
    }
}

/// A path as given, or a bare POSIX name inside /dev/shm, opened `O_PATH` beneath the root
/// (the target's with `--ns`) through no symlink; with the path it is shown by.
/// The path it is shown by, the path inside the root, and the fd.
fn find_path(sys: &Sys, p: &Path) -> anyhow::Result<(PathBuf, Option<PathBuf>, OwnedFd)> {
    let refused = |e: &std::io::Error| -> anyhow::Error {
        match e.raw_os_error() {
            Some(libc::EACCES | libc::EPERM) => {
                Error::PermissionDenied(format!("cannot open {}", p.display())).into()
            }
            _ => Error::BadInput(root::describe(p, e)).into(),
        }
    };
    match sys.open_path(p, Follow::Never) {
        Ok(fd) => return Ok((sys.ns_path(p), Some(p.to_path_buf()), fd)),
        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Err(refused(&e)),
        Err(_) => {}
    }
    let bare = p.to_str().map(|s| s.trim_start_matches('/'));
    if let Some(name) = bare.filter(|n| !n.is_empty() && !n.contains('/')) {
        let inside = sys
            .open_shm_dir()
            .and_then(|dir| root::open_beneath(dir.as_fd(), Path::new(name), OFlag::O_PATH));
        match inside {
            Ok(fd) => {
                let inner = sys.shm_dir.join(name);
                return Ok((inner.clone(), Some(inner), fd));
            }
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Err(refused(&e)),
            Err(_) => {}
        }
    }
    // Every path ls and show print: a memfd or a deleted file is opened through a holder.
    if let Some(printed) = p.to_str() {
        if let Some(link) = sys.held_path(printed)? {
            // The kernel's own link (/proc/PID/fd/N or map_files): followed, then checked
            // like any other file before it is read.
            let fd = nix::fcntl::open(
                &link,
                OFlag::O_PATH | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| refused(&std::io::Error::from(e)))?;
            return Ok((link, None, fd));
        }
    }
    Err(Error::NoSuchObject(p.display().to_string()).into())
}

fn resolve_path(sys: &Sys, p: &Path, win: Window) -> anyhow::Result<Target> {
    let (path, inner, opath) = find_path(sys, p)?;
    // Only a regular file is opened for reading: a FIFO would block, a device could act.
    let (file, _) = root::read_only(opath.as_fd()).map_err(|e| match e {
        e @ root::ReadOpenError::NotRegular(_) => {
            anyhow::Error::from(Error::BadInput(format!("{} {e}", path.display())))
        }
        root::ReadOpenError::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Error::PermissionDenied(format!("cannot open {}", path.display())).into()
        }
        root::ReadOpenError::Io(e) => {
            anyhow::Error::from(e).context(format!("opening {}", path.display()))
        }
    })?;
    let md = file.metadata()?;
    let (off, len) = win.apply(md.len(), "the file")?;
    let mappers = Mappers::Object {
        known: Vec::new(),
        dev: md.dev(),
        ino: md.ino(),
    };
    Ok(Target {
        label: path.display().to_string(),
        base: off,
        len,
        reader: Reader::File {
            file,
            offset: off,
            how: "pread",
            tail: None,
        },
        mappers,
        liveness: Liveness::File {
            path: path.clone(),
            inner,
            dev: md.dev(),
            ino: md.ino(),
        },
        note: None,
    })
}

impl Liveness {
    /// What happened to the target (a [`Error::Vanished`]), or None while it is there.
    pub fn gone(&self, sys: &Sys) -> Option<Error> {
        match self {
            Liveness::Process { pid, started } => {
                let now = sys.start_time(*pid);
                (sys.exited(*pid) || (started.is_some() && now != *started))
                    .then(|| Error::vanished(format!("process {pid}"), "exited"))
            }
            Liveness::Sysv {
                shmid,
                cpid,
                size,
                was_dest,
            } => {
                let what = format!("System V segment {shmid}");
                match shm_stat(*shmid) {
                    Ok(now) if now.cpid != *cpid || now.size != *size => Some(Error::vanished(
                        what,
                        "was removed (its id now names another segment)",
                    )),
                    Ok(now) if now.is_dest() && !was_dest => {
                        Some(Error::vanished(what, "was removed"))
                    }
                    Ok(_) => None,
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EIDRM)) => {
                        Some(Error::vanished(what, "was removed"))
                    }
                    // Not allowed to stat it (we read it through someone's mapping): the list.
                    Err(_) => {
                        let there = sys
                            .sysv_segments()
                            .map(|all| all.iter().any(|r| r.shmid == *shmid as i64))
                            .unwrap_or(true);
                        (!there).then(|| Error::vanished(what, "was removed"))
                    }
                }
            }
            Liveness::File {
                path,
                inner,
                dev,
                ino,
            } => match inner.as_ref().map_or_else(
                || std::fs::metadata(path).map(|m| (m.dev(), m.ino())),
                |inner| {
                    sys.stat_path(inner, Follow::Never)
                        .map(|st| (st.dev, st.ino))
                },
            ) {
                Ok(id) if id == (*dev, *ino) => None,
                _ => Some(Error::vanished(
                    path.display().to_string(),
                    "was removed or replaced",
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ftok_of_a_real_file_matches_libc() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let c = std::ffi::CString::new(f.path().to_str().unwrap()).unwrap();
        let want = unsafe { libc::ftok(c.as_ptr(), 100) } as u32;
        assert_eq!(ftok(&Sys::default(), f.path(), 100).unwrap(), want);
    }

    #[test]
    fn addresses_and_symbols_parse() {
        assert_eq!(AddrSpec::parse("0x10").unwrap(), AddrSpec::Hex(16));
        assert_eq!(AddrSpec::parse("7f00").unwrap(), AddrSpec::Hex(0x7f00));
        assert_eq!(
            AddrSpec::parse("shared_table+0x10").unwrap(),
            AddrSpec::Symbol {
                name: "shared_table".into(),
                plus: 16
            }
        );
        assert!(AddrSpec::parse("a b").is_err());
        assert!(AddrSpec::parse("x+zz").is_err());
        assert!(AddrSpec::parse("").is_err());
    }

    #[test]
    fn windows_clip_and_refuse() {
        let w = Window {
            offset: 10,
            length: Some(100),
        };
        assert_eq!(w.apply(50, "x").unwrap(), (10, 40));
        assert!(Window {
            offset: 50,
            length: None
        }
        .apply(50, "x")
        .is_err());
        assert_eq!(Window::default().apply(0, "x").unwrap(), (0, 0));
    }
}
