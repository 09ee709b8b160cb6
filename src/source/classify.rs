//! The one classifier of mappings. `ls` makes a row of each shared mapping that is an object;
//! `maps` prints a kind for every mapping. Both ask here, so the two cannot tell the same
//! mapping apart differently (tests/layers.rs keeps it the only place that does).

use super::bytes_to_string;
use super::maps::{MapLine, PathKind};
use crate::model::Kind;

/// What one mapping is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapClass {
    /// A System V segment (`/SYSV<key>`); the mapping's inode is its shmid.
    Sysv { key: u32 },
    /// A file of the shm directory: `posix`, `psem` (`sem.NAME`), or `file` when it lies below
    /// a subdirectory (`shm_open` names are flat). `path` as the mapping names it.
    Shm { kind: Kind, path: Vec<u8> },
    /// A memfd (`/memfd:NAME (deleted)`).
    Memfd { name: Vec<u8> },
    /// Shared anonymous memory (`/dev/zero (deleted)`, `/anon_hugepage (deleted)`), or
    /// `[anon_shmem:NAME]` when it was named with `prctl(PR_SET_VMA_ANON_NAME)`.
    Anon { name: Option<Vec<u8>> },
    /// A regular file mapped shared.
    File { path: Vec<u8> },
    /// A file unlinked while mapped shared: the path before ` (deleted)`.
    Deleted { path: Vec<u8> },
    /// Shared, but no object users make (device windows and the like): no row of `ls`.
    SharedSpecial,
    /// Private memory: never an object.
    Private(Private),
}

/// The kinds of private memory `maps` tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Private {
    /// Private anonymous memory, named (`[anon:NAME]`) or not.
    Anon,
    Heap,
    Stack,
    /// `[vdso]`, `[vsyscall]` and the like.
    Special,
    /// A file mapped private (libraries, executables).
    File,
}

impl MapClass {
    /// The kind of object `ls` makes of this mapping; `None` for mappings that are no object.
    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            MapClass::Sysv { .. } => Kind::Sysv,
            MapClass::Shm { kind, .. } => *kind,
            MapClass::Memfd { .. } => Kind::Memfd,
            MapClass::Anon { .. } => Kind::Anon,
            MapClass::File { .. } => Kind::File,
            MapClass::Deleted { .. } => Kind::Deleted,
            MapClass::SharedSpecial | MapClass::Private(_) => return None,
        })
    }

    /// The `path` of the `ls` row this mapping is an object of: a file's path, `memfd:NAME`,
    /// `anon_shmem:NAME` for named shared anonymous memory (as the kernel prefixes it in maps);
    /// `None` for System V segments, unnamed anonymous memory and what is no object.
    pub fn object_path(&self) -> Option<String> {
        match self {
            MapClass::Shm { path, .. } | MapClass::File { path } | MapClass::Deleted { path } => {
                Some(bytes_to_string(path))
            }
            MapClass::Memfd { name } => Some(format!("memfd:{}", bytes_to_string(name))),
            MapClass::Anon { name: Some(name) } => {
                Some(format!("anon_shmem:{}", bytes_to_string(name)))
            }
            _ => None,
        }
    }

    /// The `kind` of a `maps` row: an object's kind, or what kind of other memory it is.
    pub fn word(&self) -> &'static str {
        match (self.kind(), self) {
            (Some(kind), _) => kind.as_str(),
            (None, MapClass::Private(p)) => match p {
                Private::Anon => "anon-private",
                Private::Heap => "heap",
                Private::Stack => "stack",
                Private::Special => "special",
                Private::File => "file-private",
            },
            (None, _) => "special",
        }
    }
}

/// Classify one mapping. `shm_dir` is how the shm directory is named in maps.
///
/// `named_as_is` answers, for a shared mapping whose path ends ` (deleted)`, whether a file with
/// that very name (suffix included) is the mapped file, i.e. it was never deleted; only called
/// for such paths ([`same_file`] on a live system).
pub fn classify(m: &MapLine, shm_dir: &[u8], named_as_is: impl Fn(&MapLine) -> bool) -> MapClass {
    let kind = match m.path_kind() {
        PathKind::Deleted { .. } if m.is_shared() && named_as_is(m) => PathKind::File {
            path: m.path.clone(),
        },
        k => k,
    };
    if !m.is_shared() {
        return MapClass::Private(match kind {
            PathKind::Anonymous | PathKind::SharedAnon { .. } => Private::Anon,
            PathKind::Special(s) if s == "[heap]" => Private::Heap,
            PathKind::Special(s) if s.starts_with("[stack") => Private::Stack,
            PathKind::Special(_) => Private::Special,
            _ => Private::File,
        });
    }
    match kind {
        PathKind::Sysv { key } => MapClass::Sysv { key },
        PathKind::Memfd { name } => MapClass::Memfd { name },
        PathKind::SharedAnon { name } => MapClass::Anon { name },
        PathKind::File { path } if in_dir(&path, shm_dir) => {
            let dir = shm_dir.strip_suffix(b"/").unwrap_or(shm_dir);
            let name = String::from_utf8_lossy(&path[dir.len() + 1..]);
            MapClass::Shm {
                kind: shm_kind(&name),
                path,
            }
        }
        PathKind::File { path } => MapClass::File { path },
        PathKind::Deleted { path } => MapClass::Deleted { path },
        PathKind::Anonymous | PathKind::Special(_) => MapClass::SharedSpecial,
    }
}

/// The kind of a file in the shm directory, by its name there: `shm_open` names are flat, so
/// anything below a subdirectory is a plain `file`; `sem_open` makes `sem.NAME`.
pub fn shm_kind(name: &str) -> Kind {
    if name.contains('/') {
        Kind::File
    } else if name.starts_with("sem.") && name.len() > 4 {
        Kind::Psem
    } else {
        Kind::Posix
    }
}

/// Whether `path` lies below the directory `dir`.
pub(crate) fn in_dir(path: &[u8], dir: &[u8]) -> bool {
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    path.len() > dir.len() + 1 && path.starts_with(dir) && path[dir.len()] == b'/'
}

/// Whether the file named `path` is the one `m` maps (same device and inode).
pub(crate) fn same_file(sys: &super::Sys, path: &[u8], m: &MapLine) -> bool {
    stat_named(sys, path, m).is_some()
}

/// The file a maps line's path names, if it is the mapped object itself. Not a string stat:
/// the path is resolved through the root layer, through no symlink (a maps path is the
/// kernel's `d_path`, which has none), beneath the root we look from (with `--ns`, the
/// target's pinned root). The path is the mapping process's view and may lead elsewhere from
/// ours (another mount namespace, a name swapped since); device and inode settle that: while
/// the mapping holds the inode no other file has the same pair, so a match is the mapped
/// object itself, and what its stat tells (size, owner, times) is that object's own.
pub(crate) fn stat_named(sys: &super::Sys, path: &[u8], m: &MapLine) -> Option<super::root::Stat> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
    if !path.is_absolute() {
        return None;
    }
    let dev = libc::makedev(m.dev_major, m.dev_minor);
    sys.stat_path(path, super::root::Follow::Never)
        .ok()
        .filter(|st| st.is_file() && (st.dev, st.ino) == (dev, m.inode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::maps;

    fn class(line: &str) -> MapClass {
        classify(
            &maps::parse_line(line.as_bytes()).unwrap(),
            b"/dev/shm",
            |_| false,
        )
    }

    fn word(line: &str) -> &'static str {
        class(line).word()
    }

    #[test]
    fn kinds_of_shared_and_private_mappings() {
        let h = "1000-2000";
        for (line, kind) in [
            ("rw-s 0 00:01 5 /SYSV6f20d677 (deleted)", "sysv"),
            ("rw-s 0 00:1b 5 /dev/shm/x", "posix"),
            ("rw-s 0 00:1b 5 /dev/shm/sem.lock", "psem"),
            ("rw-s 0 00:1b 5 /dev/shm/sem.", "posix"),
            ("rw-s 0 00:1b 5 /dev/shm/sub/x", "file"),
            ("rw-s 0 00:01 5 /memfd:a b (deleted)", "memfd"),
            ("rw-s 0 00:01 5 /dev/zero (deleted)", "anon"),
            ("rw-s 0 00:0f 5 /anon_hugepage (deleted)", "anon"),
            ("rw-s 0 00:01 5 [anon_shmem:ring]", "anon"),
            ("r--s 0 fe:00 5 /var/cache/x", "file"),
            ("rw-s 0 fe:00 5 /tmp/x (deleted)", "deleted"),
            ("rw-s 0 00:1b 5 /dev/shm/x (deleted)", "deleted"),
            ("rw-s 0 00:05 5 ", "special"),
            ("rw-p 0 00:00 0 [heap]", "heap"),
            ("rw-p 0 00:00 0 [stack]", "stack"),
            ("r-xp 0 00:00 0 [vdso]", "special"),
            ("--xp 0 00:00 0 [vsyscall]", "special"),
            ("rw-p 0 00:00 0 ", "anon-private"),
            ("rw-p 0 00:00 0 [anon:arena]", "anon-private"),
            ("r--p 0 fe:00 9 /usr/lib/libc.so.6", "file-private"),
            // Only shared mappings are shared memory, whatever their name.
            ("r--p 0 00:1b 5 /dev/shm/x", "file-private"),
            ("rw-p 0 00:05 9 /dev/zero", "file-private"),
        ] {
            assert_eq!(word(&format!("{h} {line}")), kind, "{line}");
        }
    }

    #[test]
    fn named_shared_anonymous_memory_keeps_its_name() {
        assert_eq!(
            class("7f00-8000 rw-s 00000000 00:01 2051   [anon_shmem:ring buf]"),
            MapClass::Anon {
                name: Some(b"ring buf".to_vec())
            }
        );
        assert_eq!(
            class("7f00-8000 rw-s 00000000 00:01 2051   /dev/zero (deleted)"),
            MapClass::Anon { name: None }
        );
    }

    #[test]
    fn a_name_that_really_ends_in_deleted_is_a_file() {
        let m = maps::parse_line(b"1000-2000 rw-s 0 fe:00 5 /tmp/x (deleted)").unwrap();
        assert_eq!(classify(&m, b"/dev/shm", |_| true).word(), "file");
        let m = maps::parse_line(b"1000-2000 rw-s 0 00:1b 5 /dev/shm/x (deleted)").unwrap();
        assert_eq!(classify(&m, b"/dev/shm/", |_| true).word(), "posix");
    }

    #[test]
    fn the_shm_directory_as_maps_name_it() {
        let m = maps::parse_line(b"1000-2000 rw-s 0 00:1b 5 /run/shm/sem.x").unwrap();
        assert_eq!(classify(&m, b"/run/shm", |_| false).word(), "psem");
        assert_eq!(classify(&m, b"/dev/shm", |_| false).word(), "file");
        assert!(!in_dir(b"/dev/shm", b"/dev/shm"));
        assert!(!in_dir(b"/dev/shmx/a", b"/dev/shm"));
    }

    /// `ls` and `maps` over the same captured process: every shared mapping that is an object
    /// is a row of `ls` of the kind `maps` gives it, named as this module names it.
    #[test]
    fn ls_and_maps_agree_on_every_shared_mapping() {
        use crate::source::inventory::{assemble, Options};
        use crate::source::procs::{ProcShared, Scan};
        use crate::source::{mappings, sysv, Sys};

        let dir = tempfile::tempdir().unwrap();
        let (root, shm) = (dir.path().join("proc"), dir.path().join("shm"));
        std::fs::create_dir_all(root.join("7")).unwrap();
        std::fs::create_dir(&shm).unwrap();
        let shm_s = shm.to_str().unwrap();
        let lines = [
            "7f0000001000-7f0000002000 rw-s 00000000 00:01 32822 /SYSV6f20d677 (deleted)".into(),
            format!("7f0000002000-7f0000003000 rw-s 00000000 00:1b 11 {shm_s}/x"),
            format!("7f0000003000-7f0000004000 rw-s 00000000 00:1b 12 {shm_s}/sem.lock"),
            format!("7f0000004000-7f0000005000 rw-s 00000000 00:1b 13 {shm_s}/sub/inner"),
            "7f0000005000-7f0000006000 rw-s 00000000 00:01 14 /memfd:ring (deleted)".into(),
            "7f0000006000-7f0000007000 rw-s 00000000 00:01 15 /dev/zero (deleted)".into(),
            "7f0000007000-7f0000009000 rw-s 00000000 00:01 16 [anon_shmem:named ring]".into(),
            "7f0000009000-7f000000a000 rw-s 00000000 fe:00 17 /var/lib/x.db".into(),
            "7f000000a000-7f000000b000 rw-s 00000000 fe:00 18 /tmp/gone (deleted)".into(),
            "7f000000b000-7f000000c000 rw-s 00000000 00:05 19 ".into(),
            "7f000000c000-7f000000d000 rw-p 00000000 00:00 0 [anon:arena]".into(),
        ];
        let smaps: String = lines
            .iter()
            .map(|l| format!("{l}\nSize: 4 kB\nRss: 4 kB\nPss: 4 kB\nSwap: 0 kB\n"))
            .collect();
        std::fs::write(root.join("7/smaps"), smaps).unwrap();
        std::fs::write(root.join("7/stat"), b"7 (holder) S 1").unwrap();
        let sys = Sys::new(&root, &shm);

        let maps_rows = mappings::gather(&sys, 7, true).unwrap();
        let records = sysv::parse(
            &b"key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime rss swap
1864423031 32822 644 4096 7 7 1 0 0 0 0 0 0 1 4096 0
"[..],
        )
        .unwrap();
        let scan = Scan {
            procs: vec![ProcShared {
                pid: 7,
                comm: "holder".into(),
                uid: Some(0),
                ipc_ns: None,
                maps: {
                    let mut shared = Vec::new();
                    maps::parse_shared(lines.join("\n").as_bytes(), &mut shared);
                    shared
                },
                fds: Vec::new(),
                container: None,
            }],
            ..Scan::default()
        };
        let opts = Options {
            include_readonly_files: true,
            ..Options::default()
        };
        let inv = assemble(&sys, opts, &[(0, records)], Vec::new(), &scan);

        let mut objects = 0;
        for row in &maps_rows {
            let seg = inv
                .segments
                .iter()
                .find(|s| s.attachers.iter().any(|a| a.start == row.start));
            if row.kind == "special" {
                assert!(seg.is_none(), "{row:?} is no object, but ls has {seg:?}");
                continue;
            }
            let seg = seg.unwrap_or_else(|| panic!("{row:?} is no row of ls"));
            assert_eq!(seg.kind.as_str(), row.kind, "{row:?}");
            objects += 1;
        }
        assert_eq!(objects, 9, "{maps_rows:?}");
        let named = inv.segments.iter().find(|s| s.inode == Some(16)).unwrap();
        assert_eq!(named.path.as_deref(), Some("anon_shmem:named ring"));
        assert_eq!(named.size, 8192);
        let row = maps_rows.iter().find(|r| r.inode == 16).unwrap();
        assert_eq!(row.path.as_deref(), Some("[anon_shmem:named ring]"));
    }
}
