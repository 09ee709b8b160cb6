//! Everything that reads the kernel: /proc/<pid>/maps and smaps, /proc/sysvipc/shm, /dev/shm,
//! open file descriptors. Nothing here prints.
//!
//! The roots are injectable ([`Sys`]) so that parsers and the inventory can be tested on captured
//! trees; real runs use `/proc` and `/dev/shm`.

pub mod backup;
pub mod bpf;
pub mod btf;
pub mod cgroup;
pub mod classify;
pub mod debuginfo;
pub mod devshm;
pub mod dwarf;
pub mod elf;
pub mod ftok;
pub mod held;
pub mod inventory;
pub mod ipc;
pub mod ipcstate;
pub mod judge;
pub mod limits;
pub mod lockmember;
pub mod lockword;
pub mod logind;
pub mod mappings;
pub mod maps;
pub mod mounts;
pub mod ns;
pub mod owners;
pub mod procs;
pub mod remove;
pub mod remove_ipc;
pub mod residency;
pub mod root;
pub mod smaps;
pub mod sysv;
pub mod trace;
pub mod users;
pub mod waits;

use std::path::{Path, PathBuf};

/// Where the kernel's views live.
#[derive(Debug, Clone)]
pub struct Sys {
    pub proc_root: PathBuf,
    /// Where to list POSIX objects. With `--ns`, the target's own name for it, resolved
    /// beneath its pinned root ([`Sys::open_shm_dir`]); rows are named as the target names them.
    pub shm_dir: PathBuf,
    /// How /dev/shm is named in maps (the processes' own view), whatever `shm_dir` is.
    pub shm_maps_dir: PathBuf,
    /// With `--ns PID`: `/proc/PID/root`, through which the target's paths are reached.
    pub ns_root: Option<PathBuf>,
    /// With `--ns PID`: list only objects some process in our (joined) IPC namespace maps.
    pub only_own_ns: bool,
    /// With `--all-namespaces`: System V segments of every IPC namespace.
    pub all_ipc_namespaces: bool,
    /// Where the mqueue filesystem (POSIX message queues) is mounted.
    pub mqueue_dir: PathBuf,
    /// With `--ns PID`: that process's root, pinned and opened once; every path inside the
    /// target is resolved beneath it ([`root`]). Without, paths are resolved from `/`.
    pub pinned_root: Option<std::sync::Arc<root::Root>>,
}

impl Default for Sys {
    fn default() -> Self {
        Sys::new(Path::new("/proc"), Path::new("/dev/shm"))
    }
}

impl Sys {
    pub fn new(proc_root: &Path, shm_dir: &Path) -> Sys {
        Sys {
            proc_root: proc_root.to_path_buf(),
            shm_dir: shm_dir.to_path_buf(),
            shm_maps_dir: shm_dir.to_path_buf(),
            ns_root: None,
            only_own_ns: false,
            all_ipc_namespaces: false,
            mqueue_dir: PathBuf::from("/dev/mqueue"),
            pinned_root: None,
        }
    }

    /// The shm directory, opened for listing. With `--ns`, resolved inside the pinned root
    /// through no symlink; on the host, as configured (`--shm-dir`, trusted like `/` itself).
    /// Names below it are then reached only through this fd.
    pub fn open_shm_dir(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        match &self.pinned_root {
            Some(root) => root.open_dir(&self.shm_dir),
            None => open_dir(&self.shm_dir),
        }
    }

    /// The mqueue directory, opened for listing. With `--ns`, the target's own (its mount of
    /// its IPC namespace's queues), resolved beneath its pinned root through no symlink, like
    /// the shm directory; on the host, as configured (`--mqueue-dir`).
    pub fn open_mqueue_dir(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        match &self.pinned_root {
            Some(root) => root.open_dir(&self.mqueue_dir),
            None => open_dir(&self.mqueue_dir),
        }
    }

    /// A path as the target (`--ns PID`) or the host names it, opened `O_PATH|O_NOFOLLOW`
    /// beneath the target's pinned root or `/`: see [`root::Root::open_path`]. A relative path
    /// is taken from our working directory on the host, from the root with `--ns`.
    pub fn open_path(
        &self,
        path: &Path,
        follow: root::Follow,
    ) -> std::io::Result<std::os::fd::OwnedFd> {
        match &self.pinned_root {
            Some(root) => root.open_path(path, follow),
            None if path.is_absolute() => root::Root::host()?.open_path(path, follow),
            // getcwd names the real directory: no link in it to follow.
            None => root::Root::host()?.open_path(&std::env::current_dir()?.join(path), follow),
        }
    }

    /// `statx` of what [`Sys::open_path`] opens.
    pub fn stat_path(&self, path: &Path, follow: root::Follow) -> std::io::Result<root::Stat> {
        use std::os::fd::AsFd;
        root::stat_fd(self.open_path(path, follow)?.as_fd())
    }

    /// `/proc/<pid>/<rest>`.
    pub fn pid_path(&self, pid: i32, rest: &str) -> PathBuf {
        let mut p = self.proc_root.join(pid.to_string());
        if !rest.is_empty() {
            p.push(rest);
        }
        p
    }

    /// `/proc/<pid>/map_files/<start>-<end>`: the object behind one mapping, reachable (with
    /// CAP_SYS_ADMIN) even when its name is gone or ambiguous.
    pub fn map_files_path(&self, pid: i32, start: u64, end: u64) -> PathBuf {
        self.pid_path(pid, &format!("map_files/{start:x}-{end:x}"))
    }

    /// Every System V segment in the namespace this process sees.
    pub fn sysv_segments(&self) -> anyhow::Result<Vec<sysv::ShmRecord>> {
        use anyhow::Context;
        let path = self.proc_root.join("sysvipc/shm");
        match std::fs::File::open(&path) {
            Ok(f) => sysv::parse(std::io::BufReader::new(f))
                .with_context(|| format!("reading {}", path.display())),
            // A kernel without CONFIG_SYSVIPC has no segments to list.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

fn open_dir(p: &Path) -> std::io::Result<std::os::fd::OwnedFd> {
    use nix::fcntl::OFlag;
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    Ok(nix::fcntl::open(p, flags, nix::sys::stat::Mode::empty())?)
}

/// Kept here for callers in `source`; the function lives in the leaf [`crate::text`] module.
pub use crate::text::bytes_to_string;
