//! Mount namespaces: a container's /dev/shm is a tmpfs of its own, invisible from the host's.
//! `--all-namespaces` lists each distinct one (by device) once, with its files named as the
//! container names them; `--ns PID` shows that container's only.

use super::Sys;
use serde::Serialize;
use std::collections::BTreeMap;

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

    /// The device of the /dev/shm being listed, when it can be told.
    pub fn listed_shm_dev(&self) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        if self.ns_root.is_some() {
            return None;
        }
        std::fs::metadata(&self.shm_dir).ok().map(|m| m.dev())
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
