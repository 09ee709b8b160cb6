//! Objects that `ls` and `show` print by a name the filesystem no longer has (`memfd:NAME`, a
//! /dev/shm file deleted while held): reachable only through a process that holds them, by its
//! open fd (`/proc/PID/fd/N`) or its mapping (`/proc/PID/map_files/START-END`).

use super::inventory::{self, Options};
use super::Sys;
use crate::error::Error;
use crate::model::Segment;
use std::path::PathBuf;

impl Sys {
    /// The magic link through which the object printed as `printed` can be opened, if some
    /// listed object is printed so; an error naming the candidates when several are.
    pub fn held_path(&self, printed: &str) -> Result<Option<PathBuf>, Error> {
        let inv = inventory::gather(self, Options::default())
            .map_err(|e| Error::BadInput(format!("{e:#}")))?;
        let memfd = format!("memfd:{}", printed.trim_start_matches('/'));
        let mut found: Vec<&Segment> = inv
            .segments
            .iter()
            .filter(|s| s.path.as_deref() == Some(printed))
            .collect();
        if found.is_empty() {
            found = inv
                .segments
                .iter()
                .filter(|s| s.path.as_deref() == Some(memfd.as_str()))
                .collect();
        }
        match found.as_slice() {
            [] => Ok(None),
            [seg] => Ok(self.link_to(seg)),
            many => Err(Error::BadInput(format!(
                "{printed} names {} objects (held by {}); dump one by PID ADDR",
                many.len(),
                many.iter()
                    .filter_map(|s| s.holder_pids().first().copied())
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// A holder's fd, else a mapping's map_files link (which needs CAP_SYS_ADMIN).
    fn link_to(&self, seg: &Segment) -> Option<PathBuf> {
        seg.fd_holders
            .first()
            .map(|h| self.pid_path(h.pid, &format!("fd/{}", h.fd)))
            .or_else(|| {
                seg.attachers
                    .first()
                    .map(|a| self.map_files_path(a.pid, a.start, a.end))
            })
    }
}
