//! System V keys from files: `ftok(3)` forwards (path and proj_id to key) and backwards (key to
//! the files that could have produced it, by walking directories).
//!
//! glibc computes `(st_ino & 0xffff) | (st_dev & 0xff) << 16 | (proj_id & 0xff) << 24` from
//! `stat(path)` (symlinks followed). `st_dev` is the glibc encoding of the device number, which is
//! what `MetadataExt::dev` returns, so the low 8 bits are the low 8 bits of the minor number.

use super::Sys;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
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

/// Walk `roots` (symlinks not followed; directories in `skip` and their subtrees, such as /proc
/// and /sys, not entered; each directory once) for files whose device and inode bits match `key`.
/// The roots themselves are candidates too: `ftok(".", 'x')` is common.
pub fn find_files(roots: &[PathBuf], key: u32, skip: &[PathBuf], limits: WalkLimits) -> Walk {
    let parts = KeyParts::of(key);
    let skip_ids: HashSet<(u64, u64)> = skip
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(p).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let mut w = Walker {
        parts,
        limits,
        skip_ids,
        seen_dirs: HashSet::new(),
        seen_files: HashSet::new(),
        walk: Walk::default(),
    };
    for root in roots {
        if w.walk.entry_cap_hit {
            break;
        }
        let Ok(m) = std::fs::symlink_metadata(root) else {
            continue;
        };
        w.consider(root, &m);
        if m.is_dir() {
            w.descend(root, &m, 0);
        }
    }
    w.walk
}

struct Walker {
    parts: KeyParts,
    limits: WalkLimits,
    skip_ids: HashSet<(u64, u64)>,
    seen_dirs: HashSet<(u64, u64)>,
    seen_files: HashSet<(u64, u64, PathBuf)>,
    walk: Walk,
}

impl Walker {
    fn consider(&mut self, path: &Path, m: &std::fs::Metadata) {
        if m.file_type().is_symlink() || !self.parts.matches(m.dev(), m.ino()) {
            return;
        }
        if self
            .seen_files
            .insert((m.dev(), m.ino(), path.to_path_buf()))
        {
            self.walk.candidates.push(Candidate {
                path: path.to_path_buf(),
                dev: m.dev(),
                ino: m.ino(),
                is_dir: m.is_dir(),
            });
        }
    }

    fn descend(&mut self, dir: &Path, m: &std::fs::Metadata, depth: usize) {
        let id = (m.dev(), m.ino());
        if self.skip_ids.contains(&id) || !self.seen_dirs.insert(id) {
            return;
        }
        if depth >= self.limits.max_depth {
            self.walk.depth_cap_hit = true;
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            self.walk.unreadable += 1;
            return;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            if self.walk.entries >= self.limits.max_entries {
                self.walk.entry_cap_hit = true;
                return;
            }
            self.walk.entries += 1;
            let path = entry.path();
            // DirEntry::metadata does not follow symlinks.
            let Ok(em) = entry.metadata() else { continue };
            self.consider(&path, &em);
            if em.is_dir() {
                self.descend(&path, &em, depth + 1);
            }
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
}
