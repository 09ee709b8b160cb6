//! System V keys from files: `ftok(3)` forwards (path and proj_id to key) and backwards (key to
//! the files that could have produced it, by walking directories).
//!
//! glibc computes `(st_ino & 0xffff) | (st_dev & 0xff) << 16 | (proj_id & 0xff) << 24` from
//! `stat(path)` (symlinks followed). `st_dev` is the glibc encoding of the device number, which is
//! what `MetadataExt::dev` returns, so the low 8 bits are the low 8 bits of the minor number.

use super::root::{self, Stat};
use super::Sys;
use nix::fcntl::OFlag;
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The key ftok gives for a file with this device and inode and this proj_id.
pub fn ftok_key(dev: u64, ino: u64, proj_id: u8) -> u32 {
    ((ino & 0xffff) as u32) | (((dev & 0xff) as u32) << 16) | ((proj_id as u32) << 24)
}

/// A proj_id as the user gave it and the 8 bits ftok uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjId {
    /// The value as given (C's `int`).
    pub value: i32,
    /// Its low 8 bits, the only part ftok uses; never 0.
    pub bits: u8,
}

/// Parse a proj_id: decimal (`100`, `-1`), hex (`0x64`), or one character as C code writes it
/// (`A` or `'A'`). Digits are numbers: `1` is 1, not the character '1' (0x31).
pub fn parse_proj_id(text: &str) -> Result<ProjId, String> {
    let t = text.trim();
    let unquoted = t
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or(t);
    let value: i64 = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).map_err(|_| bad_proj_id(text))?
    } else if let Ok(n) = t.parse::<i64>() {
        n
    } else {
        let mut chars = unquoted.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii() && !c.is_ascii_control() => c as i64,
            _ => return Err(bad_proj_id(text)),
        }
    };
    let value =
        i32::try_from(value).map_err(|_| format!("proj_id {text:?} does not fit in a C int"))?;
    let bits = (value & 0xff) as u8;
    if bits == 0 {
        return Err(format!(
            "proj_id {text:?} has its low 8 bits zero; ftok needs them nonzero"
        ));
    }
    Ok(ProjId { value, bits })
}

fn bad_proj_id(text: &str) -> String {
    format!("invalid proj_id {text:?} (expected a number such as 100 or 0x64, or one character such as A)")
}

/// What a key says about the file that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyParts {
    pub ino_bits: u16,
    pub dev_bits: u8,
    pub proj_id: u8,
}

impl KeyParts {
    pub fn of(key: u32) -> KeyParts {
        KeyParts {
            ino_bits: (key & 0xffff) as u16,
            dev_bits: ((key >> 16) & 0xff) as u8,
            proj_id: (key >> 24) as u8,
        }
    }

    /// Whether a file with this device and inode gives this key (with proj_id = `self.proj_id`).
    pub fn matches(&self, dev: u64, ino: u64) -> bool {
        (ino & 0xffff) as u16 == self.ino_bits && (dev & 0xff) as u8 == self.dev_bits
    }
}

/// Bounds on a walk, so that `key --find /` ends.
#[derive(Debug, Clone, Copy)]
pub struct WalkLimits {
    pub max_depth: usize,
    pub max_entries: usize,
}

impl Default for WalkLimits {
    fn default() -> Self {
        WalkLimits {
            max_depth: 32,
            max_entries: 500_000,
        }
    }
}

/// One file that could have produced the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    pub is_dir: bool,
}

/// What a walk found and how much of the tree it saw.
#[derive(Debug, Default)]
pub struct Walk {
    pub candidates: Vec<Candidate>,
    /// Entries looked at.
    pub entries: usize,
    /// Directories that could not be read.
    pub unreadable: usize,
    /// The entry cap was hit: the walk stopped early.
    pub entry_cap_hit: bool,
    /// Some directories were deeper than the depth cap and were not entered.
    pub depth_cap_hit: bool,
}

/// A directory to walk and how deep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub path: PathBuf,
    /// Levels below `path` to enter (0: only its own entries).
    pub depth: usize,
}

/// Filesystems with no files ftok could have been given: kernel views, not storage.
fn pseudo_fs(dir: BorrowedFd<'_>) -> bool {
    use nix::sys::statfs::*;
    fstatfs(dir).is_ok_and(|s| {
        [
            PROC_SUPER_MAGIC,
            SYSFS_MAGIC,
            CGROUP_SUPER_MAGIC,
            CGROUP2_SUPER_MAGIC,
            DEBUGFS_MAGIC,
            TRACEFS_MAGIC,
            SECURITYFS_MAGIC,
            DEVPTS_SUPER_MAGIC,
            BPF_FS_MAGIC,
        ]
        .contains(&s.filesystem_type())
    })
}

/// [`find_files_in`] with each root opened as the host names it.
pub fn find_files(roots: &[Root], key: u32, limits: WalkLimits) -> Walk {
    let open = |p: &Path| -> std::io::Result<OwnedFd> {
        Ok(nix::fcntl::open(
            p,
            OFlag::O_PATH | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?)
    };
    find_files_in(roots, &open, key, limits)
}

/// Walk `roots` for files whose device and inode bits match `key`. Each root is opened by
/// `open` (for `--ns`, beneath the target's root); below it everything is reached through
/// directory fds ([`root::list_dir`], [`root::open_child`]): symlinks are not followed, each
/// directory is entered once, and procfs, sysfs and the like are not entered at all.
/// The roots themselves are candidates too: `ftok(".", 'x')` is common.
pub fn find_files_in(
    roots: &[Root],
    open: &dyn Fn(&Path) -> std::io::Result<OwnedFd>,
    key: u32,
    limits: WalkLimits,
) -> Walk {
    let mut w = Walker {
        parts: KeyParts::of(key),
        limits,
        seen_dirs: HashMap::new(),
        seen_files: HashSet::new(),
        walk: Walk::default(),
        full_depth: false,
    };
    for r in roots {
        if w.walk.entry_cap_hit {
            break;
        }
        // A shallow root stops where it was asked to; only the overall cap is worth a word.
        w.full_depth = r.depth >= limits.max_depth;
        // A root given as a symlink (`/var/run`) is followed (by `open`); nothing below it is.
        let Ok(fd) = open(&r.path) else { continue };
        let Ok(st) = root::stat_fd(fd.as_fd()) else {
            continue;
        };
        w.consider(&r.path, &st);
        if st.is_dir() && !pseudo_fs(fd.as_fd()) {
            w.descend(fd.as_fd(), &r.path, &st, r.depth.min(limits.max_depth));
        }
    }
    w.walk
}

struct Walker {
    parts: KeyParts,
    limits: WalkLimits,
    /// Directories entered, with the depth that was left to go there.
    seen_dirs: HashMap<(u64, u64), usize>,
    seen_files: HashSet<(u64, u64, PathBuf)>,
    walk: Walk,
    /// Whether the current root is walked to the depth cap (so reaching it is worth reporting).
    full_depth: bool,
}

impl Walker {
    fn consider(&mut self, path: &Path, m: &Stat) {
        if m.file_type() == libc::S_IFLNK || !self.parts.matches(m.dev, m.ino) {
            return;
        }
        if self.seen_files.insert((m.dev, m.ino, path.to_path_buf())) {
            self.walk.candidates.push(Candidate {
                path: path.to_path_buf(),
                dev: m.dev,
                ino: m.ino,
                is_dir: m.is_dir(),
            });
        }
    }

    /// Read the directory `dir` (shown as `shown`) and enter its subdirectories while
    /// `depth_left` allows.
    fn descend(&mut self, dir: BorrowedFd<'_>, shown: &Path, m: &Stat, depth_left: usize) {
        // Each directory once, unless a later root reaches it with more depth to go.
        let id = (m.dev, m.ino);
        if self.seen_dirs.get(&id).is_some_and(|&d| d >= depth_left) {
            return;
        }
        self.seen_dirs.insert(id, depth_left);
        let Ok(entries) = root::list_dir(dir) else {
            self.walk.unreadable += 1;
            return;
        };
        for e in entries {
            if self.walk.entries >= self.limits.max_entries {
                self.walk.entry_cap_hit = true;
                return;
            }
            self.walk.entries += 1;
            let path = shown.join(&e.name);
            self.consider(&path, &e.stat);
            if !e.stat.is_dir() {
                continue;
            }
            if depth_left == 0 {
                self.walk.depth_cap_hit |= self.full_depth;
                continue;
            }
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
            // Swapped for a symlink since it was listed: not entered.
            let Ok(sub) = root::open_child(dir, Path::new(&e.name), flags) else {
                self.walk.unreadable += 1;
                continue;
            };
            // A mount point: check what is mounted before going in.
            if e.stat.dev != m.dev && pseudo_fs(sub.as_fd()) {
                continue;
            }
            self.descend(sub.as_fd(), &path, &e.stat, depth_left - 1);
        }
    }
}

impl Sys {
    /// A live process's working directory (pid 0 and processes we may not read: none).
    pub fn cwd(&self, pid: i32) -> Option<PathBuf> {
        if pid <= 0 {
            return None;
        }
        std::fs::read_link(self.pid_path(pid, "cwd")).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn key_bits() {
        assert_eq!(ftok_key(0x803, 0x1234_5678, 100), 0x6403_5678);
        assert_eq!(ftok_key(0xfd01, 0xffff, 0xff), 0xff01_ffff);
        let p = KeyParts::of(0x6403_5678);
        assert_eq!((p.proj_id, p.dev_bits, p.ino_bits), (100, 3, 0x5678));
        assert!(p.matches(0x103, 0x9_5678));
        assert!(!p.matches(0x104, 0x5678));
    }

    #[test]
    fn proj_ids() {
        let v = |s: &str| parse_proj_id(s).map(|p| (p.value, p.bits));
        assert_eq!(v("100"), Ok((100, 100)));
        assert_eq!(v("0x80"), Ok((0x80, 0x80)));
        assert_eq!(v("0X1ff"), Ok((0x1ff, 0xff)));
        assert_eq!(v("A"), Ok((65, 65)));
        assert_eq!(v("'A'"), Ok((65, 65)));
        assert_eq!(v("1"), Ok((1, 1)));
        assert_eq!(v("-1"), Ok((-1, 0xff)));
        assert!(v("0").is_err());
        assert!(v("256").is_err());
        assert!(v("0x").is_err());
        assert!(v("AB").is_err());
        assert!(v("").is_err());
        assert!(v("é").is_err());
        assert!(v("99999999999").is_err());
    }

    fn key_of(p: &Path) -> u32 {
        let m = std::fs::metadata(p).unwrap();
        ftok_key(m.dev(), m.ino(), 1)
    }

    fn root(path: &Path, depth: usize) -> Root {
        Root {
            path: path.to_path_buf(),
            depth,
        }
    }

    #[test]
    fn walk_finds_deep_files_within_depth() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        let target = deep.join("target");
        std::fs::write(&target, b"x").unwrap();
        let key = key_of(&target);
        let found = find_files(&[root(dir.path(), 32)], key, WalkLimits::default());
        assert!(found.candidates.iter().any(|c| c.path == target));
        assert!(!found.entry_cap_hit && !found.depth_cap_hit);

        let shallow = find_files(&[root(dir.path(), 1)], key, WalkLimits::default());
        assert!(!shallow.candidates.iter().any(|c| c.path == target));
        // Shallow on purpose: not a cap worth reporting. A later full root still goes deep.
        assert!(!shallow.depth_cap_hit);
        let both = find_files(
            &[root(dir.path(), 1), root(dir.path(), 32)],
            key,
            WalkLimits::default(),
        );
        assert_eq!(
            both.candidates.iter().filter(|c| c.path == target).count(),
            1
        );

        let capped = find_files(
            &[root(dir.path(), 32)],
            key,
            WalkLimits {
                max_depth: 32,
                max_entries: 2,
            },
        );
        assert!(capped.entry_cap_hit);
    }

    #[test]
    fn walk_does_not_follow_symlinks_or_enter_proc() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("target");
        std::fs::write(&target, b"x").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("dirlink")).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("filelink")).unwrap();
        let found = find_files(
            &[root(dir.path(), 32)],
            key_of(&target),
            WalkLimits::default(),
        );
        assert!(found.candidates.is_empty(), "{:?}", found.candidates);

        let proc = find_files(
            &[root(Path::new("/proc"), 32)],
            0x0100_0001,
            WalkLimits::default(),
        );
        assert_eq!(proc.entries, 0);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn proj_id_parser_never_panics(s in "\\PC{0,20}") {
            let _ = parse_proj_id(&s);
        }

        #[test]
        fn proj_ids_round_trip(n in any::<i32>()) {
            match parse_proj_id(&n.to_string()) {
                Ok(p) => {
                    prop_assert_eq!(p.value, n);
                    prop_assert_eq!(p.bits, (n & 0xff) as u8);
                }
                Err(_) => prop_assert_eq!(n & 0xff, 0),
            }
        }

        #[test]
        fn keys_put_each_part_in_its_bits(dev in any::<u64>(), ino in any::<u64>(), p in 1u8..) {
            let k = ftok_key(dev, ino, p);
            prop_assert_eq!(k >> 24, p as u32);
            prop_assert_eq!((k >> 16) & 0xff, (dev & 0xff) as u32);
            prop_assert_eq!(k & 0xffff, (ino & 0xffff) as u32);
        }
    }
}
