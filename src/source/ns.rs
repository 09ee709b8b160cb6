//! IPC namespaces: System V ids are per namespace, so a container's segment 5 is not the
//! host's segment 5. This module joins namespaces the way `nsenter -t PID -i` does and reads
//! each namespace's segments from a thread of its own.

use super::sysv::ShmRecord;
use super::Sys;
use anyhow::Context;
use nix::sched::{setns, CloneFlags};
use std::collections::BTreeMap;

impl Sys {
    /// A path as the process we look from (`--ns PID`) names it, reached from our side through
    /// `/proc/PID/root`; relative paths and runs without `--ns` are left alone.
    pub fn ns_path(&self, p: &std::path::Path) -> std::path::PathBuf {
        match (&self.ns_root, p.strip_prefix("/")) {
            (Some(root), Ok(rest)) => root.join(rest),
            _ => p.to_path_buf(),
        }
    }

    /// Every IPC namespace that some process is in, with one process in it to enter it by.
    /// Costs one readlink per process, so only `--all-namespaces` asks.
    pub fn ipc_namespaces(&self) -> BTreeMap<u64, i32> {
        let mut found = BTreeMap::new();
        for pid in self.pids().unwrap_or_default() {
            if let Some(ns) = self.ns_inode(Some(pid), "ipc") {
                found.entry(ns).or_insert(pid);
            }
        }
        found
    }

    /// The segments of the IPC namespace `pid` is in, read from a thread that joins it (setns
    /// for IPC affects only the calling thread; /proc/sysvipc/shm shows the reader's namespace).
    pub fn sysv_segments_of_ns(&self, pid: i32) -> anyhow::Result<Vec<ShmRecord>> {
        let path = self.pid_path(pid, "ns/ipc");
        let file = std::fs::File::open(&path).with_context(|| {
            format!(
                "cannot open {} (joining a namespace needs root)",
                path.display()
            )
        })?;
        std::thread::scope(|s| {
            s.spawn(|| -> anyhow::Result<Vec<ShmRecord>> {
                setns(&file, CloneFlags::CLONE_NEWIPC)
                    .with_context(|| format!("cannot join the IPC namespace of pid {pid}"))?;
                self.sysv_segments()
            })
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("namespace reader failed")))
        })
    }

    /// Join the IPC namespace of `pid` for the rest of this process, and look at its /dev/shm
    /// through `/proc/<pid>/root` (its mount namespace), as `nsenter -t PID -i -m` would show.
    /// Call before any other thread exists.
    pub fn enter_namespace_of(&mut self, pid: i32) -> anyhow::Result<()> {
        let path = self.pid_path(pid, "ns/ipc");
        let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                anyhow::Error::new(crate::error::Error::NoSuchProcess(pid))
            }
            std::io::ErrorKind::PermissionDenied => anyhow::Error::new(
                crate::error::Error::PermissionDenied(format!("cannot open {}", path.display())),
            ),
            _ => anyhow::Error::new(e).context(format!("cannot open {}", path.display())),
        })?;
        setns(&file, CloneFlags::CLONE_NEWIPC).map_err(|e| {
            anyhow::Error::new(crate::error::Error::PermissionDenied(format!(
                "cannot join the IPC namespace of pid {pid}: {e}"
            )))
        })?;
        // Paths inside the target's mount namespace, seen from ours.
        let root = self.pid_path(pid, "root");
        let inner = self.shm_dir.strip_prefix("/").unwrap_or(&self.shm_dir);
        self.shm_dir = root.join(inner);
        self.ns_root = Some(root);
        self.only_own_ns = true;
        Ok(())
    }
}
