//! IPC namespaces: System V ids are per namespace, so a container's segment 5 is not the
//! host's segment 5. This module joins namespaces the way `nsenter -t PID -i` does and reads
//! each namespace's segments from a thread of its own.

use super::root::Root;
use super::sysv::ShmRecord;
use super::Sys;
use anyhow::Context;
use nix::sched::{setns, CloneFlags};

impl Sys {
    /// How a path as the process we look from (`--ns PID`) names it is shown from our side
    /// (`/proc/PID/root/…`); relative paths and runs without `--ns` are left alone. For display
    /// only: to reach the path, use [`Sys::open_path`].
    pub fn ns_path(&self, p: &std::path::Path) -> std::path::PathBuf {
        match (&self.ns_root, p.strip_prefix("/")) {
            (Some(root), Ok(rest)) => root.join(rest),
            _ => p.to_path_buf(),
        }
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
    /// beneath its root, as `nsenter -t PID -i -m` would show. The process is pinned by a pidfd
    /// first: its root is opened once ([`Root::of_pid`]) and the namespace joined through the
    /// same pidfd, so a pid reused meanwhile cannot hand us another process's view.
    /// Call before any other thread exists.
    pub fn enter_namespace_of(&mut self, pid: i32) -> anyhow::Result<()> {
        use crate::error::Error;
        let root = Root::of_pid(&self.proc_root, pid).map_err(|e| match e.raw_os_error() {
            Some(libc::ESRCH | libc::ENOENT) => anyhow::Error::new(Error::NoSuchProcess(pid)),
            Some(libc::EACCES | libc::EPERM) => anyhow::Error::new(Error::PermissionDenied(
                format!("cannot open the root of pid {pid}"),
            )),
            _ => anyhow::Error::new(e).context(format!("cannot open the root of pid {pid}")),
        })?;
        let Some((_, pidfd)) = root.pinned() else {
            unreachable!("Root::of_pid pins its process")
        };
        let joined = match setns(pidfd, CloneFlags::CLONE_NEWIPC) {
            // Kernels before 5.8 take only namespace files: then re-check the pin after.
            Err(nix::Error::EINVAL) => std::fs::File::open(self.pid_path(pid, "ns/ipc"))
                .map_err(|e| nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
                .and_then(|f| setns(&f, CloneFlags::CLONE_NEWIPC))
                .and_then(|()| {
                    if root.alive() {
                        Ok(())
                    } else {
                        Err(nix::Error::ESRCH)
                    }
                }),
            other => other,
        };
        joined.map_err(|e| match e {
            nix::Error::ESRCH => anyhow::Error::new(Error::NoSuchProcess(pid)),
            e => anyhow::Error::new(Error::PermissionDenied(format!(
                "cannot join the IPC namespace of pid {pid}: {e}"
            ))),
        })?;
        // shm_dir keeps the target's own name for it (rows are named as the target names
        // them); it is resolved beneath the pinned root, never through /proc/PID/root by string.
        self.ns_root = Some(self.pid_path(pid, "root"));
        self.pinned_root = Some(std::sync::Arc::new(root));
        self.only_own_ns = true;
        Ok(())
    }
}
