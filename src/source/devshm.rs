//! POSIX shared memory: the files under /dev/shm.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One file under /dev/shm.
#[derive(Debug, Clone)]
pub struct ShmFile {
    pub path: PathBuf,
    pub size: u64,
    /// Bytes actually allocated (tmpfs: resident or swapped).
    pub allocated: u64,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    /// Creation time where the filesystem keeps it, else modification time.
    pub born: i64,
    /// Whether `born` is the birth time (else it is the modification time).
    pub born_is_btime: bool,
    pub dev: u64,
    pub inode: u64,
}

impl ShmFile {
    pub fn from_metadata(path: PathBuf, m: &std::fs::Metadata) -> ShmFile {
        let btime = m
            .created()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64);
        ShmFile {
            path,
            size: m.size(),
            allocated: m.blocks() * 512,
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode(),
            born: btime.unwrap_or(m.mtime()),
            born_is_btime: btime.is_some(),
            dev: m.dev(),
            inode: m.ino(),
        }
    }

    /// The path as bytes.
    pub fn path_bytes(&self) -> &[u8] {
        self.path.as_os_str().as_bytes()
    }
}

/// How deep to look below /dev/shm: POSIX names are flat, but some programs make directories.
const MAX_DEPTH: usize = 4;

/// Every regular file under `dir` (symlinks are not followed). A missing directory is empty.
pub fn list(dir: &Path) -> std::io::Result<Vec<ShmFile>> {
    let mut out = Vec::new();
    match walk(dir, 0, &mut out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        other => other.map(|_| out),
    }
}

/// The exact path of the file with this device and inode under `dir`: a listed name is kept as
/// a string (invalid UTF-8 spelled `\xNN`), which cannot always be opened again.
pub fn find_by_inode(dir: &Path, dev: u64, inode: u64) -> Option<PathBuf> {
    list(dir)
        .ok()?
        .into_iter()
        .find(|f| (f.dev, f.inode) == (dev, inode))
        .map(|f| f.path)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<ShmFile>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let Ok(m) = entry.metadata() else { continue };
        let ft = m.file_type();
        if ft.is_file() {
            out.push(ShmFile::from_metadata(entry.path(), &m));
        } else if ft.is_dir() && depth + 1 < MAX_DEPTH {
            // An unreadable subdirectory is not a reason to fail the listing.
            let _ = walk(&entry.path(), depth + 1, out);
        }
    }
    Ok(())
}
