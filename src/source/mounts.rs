//! Mount namespaces: a container's /dev/shm is a tmpfs of its own, invisible from the host's.
//! `--all-namespaces` lists each distinct one (by device) once, with its files named as the
//! container names them; `--ns PID` shows that container's only.

use super::devshm::ShmFile;
use super::root::{self, Root};
use super::Sys;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::os::fd::AsFd;

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
        let pids = self.pids().unwrap_or_default();
        // One readlink per process, on every core (it runs before the scan, which needs the
        // other /dev/shm listed first).
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
            .min(pids.len() / 256 + 1);
        let parts: Vec<BTreeMap<u64, i32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let pids = &pids;
                    s.spawn(move || {
                        let mut found = BTreeMap::new();
                        for &pid in pids.iter().skip(t).step_by(threads) {
                            if let Some(ns) = self.ns_inode(Some(pid), "mnt") {
                                found.entry(ns).or_insert(pid);
                            }
                        }
                        found
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let mut found = BTreeMap::new();
        for (ns, pid) in parts.into_iter().flatten() {
            let first: &mut i32 = found.entry(ns).or_insert(pid);
            *first = (*first).min(pid);
        }
        found
    }

    /// The device of the /dev/shm being listed (the target's with `--ns`), when it can be told.
    pub fn listed_shm_dev(&self) -> Option<u64> {
        let fd = self.open_shm_dir().ok()?;
        root::stat_fd(fd.as_fd()).ok().map(|st| st.dev)
    }

    /// The files of the /dev/shm being listed ([`Sys::shm_files`]), named as its processes name
    /// them; none when it cannot be read.
    pub fn listed_shm_files(&self) -> Vec<ShmFile> {
        self.shm_files().unwrap_or_default()
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
            // Beneath that process's pidfd-pinned root, through no symlink.
            let opened =
                Root::of_pid(&self.proc_root, pid).and_then(|r| r.open_dir(&self.shm_maps_dir));
            let Ok(fd) = opened else {
                unreadable += 1;
                continue;
            };
            let Ok(st) = root::stat_fd(fd.as_fd()) else {
                continue;
            };
            if !seen.insert(st.dev) {
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
                dev: st.dev,
                size: blocks * frag,
                used: blocks.saturating_sub(free) * frag,
                available: avail * frag,
                files: super::devshm::list(fd.as_fd(), &self.shm_maps_dir).unwrap_or_default(),
            });
        }
        (out, unreadable)
    }
}
