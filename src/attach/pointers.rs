//! Pointer hints: values in shared memory that point into a *private* mapping of a process that
//! maps the object. Such a pointer (a `std::string`'s heap buffer, a `malloc`ed node) means
//! nothing in any other process — the classic bug behind crashes in readers of shared memory.

use crate::source::maps::{MapLine, PathKind};
use crate::source::Sys;

/// One private region of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub pid: i32,
    /// `[heap]`, `[stack]`, or `private anonymous memory`.
    pub what: String,
}

/// The private regions of the processes that map an object, sorted by start.
#[derive(Debug, Clone, Default)]
pub struct PrivateRegions {
    regions: Vec<Region>,
}

/// At most this many mapping processes are looked at (a segment can have thousands).
const MAX_PROCS: usize = 64;

impl PrivateRegions {
    /// Gather from these processes' maps; processes that cannot be read are skipped.
    pub fn gather(sys: &Sys, pids: &[i32]) -> PrivateRegions {
        let mut regions = Vec::new();
        for &pid in pids.iter().take(MAX_PROCS) {
            if let Ok(maps) = sys.maps_of(pid) {
                regions.extend(maps.iter().filter_map(|m| private_region(pid, m)));
            }
        }
        PrivateRegions::from_regions(regions)
    }

    pub fn from_regions(mut regions: Vec<Region>) -> PrivateRegions {
        regions.sort_by_key(|r| (r.start, r.pid));
        PrivateRegions { regions }
    }

    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// The region a value points into, if any.
    pub fn lookup(&self, value: u64) -> Option<&Region> {
        // Regions of different processes overlap in address; scan the few that start below.
        let idx = self.regions.partition_point(|r| r.start <= value);
        self.regions[..idx]
            .iter()
            .rev()
            .take(MAX_PROCS * 4)
            .find(|r| value < r.end)
    }

    /// The hint for a value, as a sentence.
    pub fn hint(&self, value: u64) -> Option<String> {
        self.lookup(value).map(|r| {
            format!(
                "pointer into pid {} {}: meaningless in other processes",
                r.pid, r.what
            )
        })
    }
}

fn private_region(pid: i32, m: &MapLine) -> Option<Region> {
    if m.is_shared() {
        return None;
    }
    let what = match m.path_kind() {
        PathKind::Special(s) if s == "[heap]" || s.starts_with("[stack") => s,
        PathKind::Anonymous if m.perms[0] == b'r' => "private anonymous memory".to_string(),
        _ => return None,
    };
    Some(Region {
        start: m.start,
        end: m.end,
        pid,
        what,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::maps::parse;

    #[test]
    fn finds_heap_stack_and_anon_but_not_files_or_shared() {
        let maps = parse(
            b"55d4c8a00000-55d4c8a02000 r--p 00000000 fe:01 1311765 /usr/bin/cat
55d4c9000000-55d4c9100000 rw-p 00000000 00:00 0 [heap]
7f1c2a000000-7f1c2a001000 rw-s 00000000 00:01 32822 /SYSV6f20d677 (deleted)
7f1c2a304000-7f1c2a305000 rw-p 00000000 00:00 0
7ffd0a000000-7ffd0a021000 rw-p 00000000 00:00 0 [stack]
",
        );
        let r = PrivateRegions::from_regions(
            maps.iter().filter_map(|m| private_region(42, m)).collect(),
        );
        assert_eq!(r.lookup(0x55d4c9000010).unwrap().what, "[heap]");
        assert_eq!(r.lookup(0x7ffd0a000008).unwrap().what, "[stack]");
        assert_eq!(
            r.lookup(0x7f1c2a304000).unwrap().what,
            "private anonymous memory"
        );
        assert!(r.lookup(0x55d4c8a00000).is_none());
        assert!(r.lookup(0x7f1c2a000000).is_none());
        assert!(r.lookup(0).is_none());
        assert_eq!(
            r.hint(0x55d4c9000010).unwrap(),
            "pointer into pid 42 [heap]: meaningless in other processes"
        );
    }
}
