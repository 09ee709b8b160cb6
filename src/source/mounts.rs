//! Mount namespaces: a container's /dev/shm is a tmpfs of its own, invisible from the host's.
//! `--all-namespaces` lists each distinct one (by device) once, with its files named as the
//! container names them; `--ns PID` shows that container's only.

use super::devshm::ShmFile;
use super::Sys;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Another mount namespace's /dev/shm.
#[derive(Debug, Clone, Serialize)]
pub struct ShmMount {
    /// The container that has it (from the cgroup of a process that sees it), else
    /// `pid N (comm)`.
    pub name: String,
    /// A process that sees it.
    pub pid: i32,
    #[serde(skip)]
    pub dev: u64,
    pub size: u64,
    pub used: u64,
    pub available: u64,
    /// Its files (paths as the container names them).
    #[serde(skip)]
    pub files: Vec<super::devshm::ShmFile>,
}

impl Sys {
    /// One process per mount namespace (readlink of ns/mnt, so only `--all-namespaces` asks).
    pub fn mount_namespaces(&self) -> BTreeMap<u64, i32> {
        let mut found = BTreeMap::new();
        for pid in self.pids().unwrap_or_default() {
            if let Some(ns) = self.ns_inode(Some(pid), "mnt") {
                found.entry(ns).or_insert(pid);
            }
        }
        found
    }

    /// With `--ns`: the process whose view we take (its root is `/proc/PID/root`).
    fn ns_pid(&self) -> Option<i32> {
        let root = self.ns_root.as_ref()?;
        root.parent()?.file_name()?.to_str()?.parse().ok()
    }

    /// The device of the /dev/shm being listed, when it can be told.
    pub fn listed_shm_dev(&self) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        match self.ns_pid() {
            Some(pid) => {
                let fd = open_dir_in_root_of(self, pid, &self.shm_maps_dir).ok()?;
                nix::sys::stat::fstat(&fd).ok().map(|st| st.st_dev)
            }
            None => std::fs::metadata(&self.shm_dir).ok().map(|m| m.dev()),
        }
    }

    /// The files of the /dev/shm being listed. With `--ns`, that process's, opened beneath its
    /// pinned root and named as it names them (`/dev/shm/x`).
    pub fn listed_shm_files(&self) -> Vec<ShmFile> {
        match self.ns_pid() {
            Some(pid) => open_dir_in_root_of(self, pid, &self.shm_maps_dir)
                .map(|fd| list_dir_fd(fd.as_fd(), &self.shm_maps_dir))
                .unwrap_or_default(),
            None => super::devshm::list(&self.shm_dir).unwrap_or_default(),
        }
    }

    /// A name for the container a process runs in, or the process itself.
    pub fn container_name(&self, pid: i32) -> String {
        let mut buf = Vec::new();
        match self.container_of(pid, &mut buf) {
            Some(c) if c.is_container() => c.to_string(),
            _ => format!("pid {pid} ({})", self.comm(pid)),
        }
    }
}

/// A process's root, pinned: a pidfd taken before `/proc/PID/root` is opened, checked alive
/// after, so a pid reused meanwhile cannot hand us another process's root.
fn pinned_root(sys: &Sys, pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    let root = nix::fcntl::open(
        &sys.pid_path(pid, "root"),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // A pidfd polls readable once its process has exited.
    let mut pfd = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd of ours, no wait.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    if n != 0 {
        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(root)
}

/// `dir` (absolute, as the process names it) opened for listing beneath the process's pinned
/// root: `openat2` with `RESOLVE_IN_ROOT` and no symlink or magic link followed, so nothing in
/// the container can point us outside it.
pub fn open_dir_in_root_of(sys: &Sys, pid: i32, dir: &Path) -> std::io::Result<OwnedFd> {
    let root = pinned_root(sys, pid)?;
    let rel = dir.strip_prefix("/").unwrap_or(dir);
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .resolve(
            ResolveFlag::RESOLVE_IN_ROOT
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
    Ok(nix::fcntl::openat2(&root, rel, how)?)
}

/// statx of `name` in `dir`, not following a symlink.
fn statx_at(dir: BorrowedFd<'_>, name: &CStr) -> Option<libc::statx> {
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated name and one statx buffer of ours.
    let r = unsafe {
        libc::statx(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_BASIC_STATS | libc::STATX_BTIME,
            &mut st,
        )
    };
    (r == 0).then_some(st)
}

/// The regular files directly in an open directory, named `shown/NAME`; listed through the fd
/// (getdents on our own descriptor, statx relative to it), never by a path inside the
/// container.
pub fn list_dir_fd(dir: BorrowedFd<'_>, shown: &Path) -> Vec<ShmFile> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd())) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        let Ok(c) = CString::new(name.as_bytes()) else {
            continue;
        };
        let Some(st) = statx_at(dir, &c) else {
            continue;
        };
        if u32::from(st.stx_mode) & libc::S_IFMT != libc::S_IFREG {
            continue;
        }
        let btime = (st.stx_mask & libc::STATX_BTIME != 0).then_some(st.stx_btime.tv_sec);
        out.push(ShmFile {
            path: shown.join(&name),
            size: st.stx_size,
            allocated: st.stx_blocks * 512,
            uid: st.stx_uid,
            gid: st.stx_gid,
            mode: u32::from(st.stx_mode),
            born: btime.unwrap_or(st.stx_mtime.tv_sec),
            born_is_btime: btime.is_some(),
            dev: libc::makedev(st.stx_dev_major, st.stx_dev_minor),
            inode: st.stx_ino,
        });
    }
    out
}

impl Sys {
    /// Every /dev/shm other than ours, once per device, with its files and its size and use;
    /// and how many mount namespaces could not be looked into.
    pub fn other_dev_shms(&self) -> (Vec<ShmMount>, usize) {
        let own = self.listed_shm_dev();
        let own_ns = self.ns_inode(None, "mnt");
        let mut seen: HashSet<u64> = own.into_iter().collect();
        let mut out = Vec::new();
        let mut unreadable = 0;
        for (ns, pid) in self.mount_namespaces() {
            if Some(ns) == own_ns {
                continue;
            }
            let Ok(fd) = open_dir_in_root_of(self, pid, &self.shm_maps_dir) else {
                unreadable += 1;
                continue;
            };
            let Ok(st) = nix::sys::stat::fstat(&fd) else {
                continue;
            };
            if !seen.insert(st.st_dev) {
                continue;
            }
            let Ok(vfs) = nix::sys::statvfs::fstatvfs(&fd) else {
                continue;
            };
            #[allow(clippy::unnecessary_cast)]
            let frag = vfs.fragment_size() as u64;
            #[allow(clippy::unnecessary_cast)]
            let (blocks, free, avail) = (
                vfs.blocks() as u64,
                vfs.blocks_free() as u64,
                vfs.blocks_available() as u64,
            );
            out.push(ShmMount {
                name: self.container_name(pid),
                pid,
                dev: st.st_dev,
                size: blocks * frag,
                used: blocks.saturating_sub(free) * frag,
                available: avail * frag,
                files: list_dir_fd(fd.as_fd(), &self.shm_maps_dir),
            });
        }
        (out, unreadable)
    }
}
