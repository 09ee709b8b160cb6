//! POSIX shared memory: the files under /dev/shm.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use super::root::{self, Stat};

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
    pub fn from_stat(path: PathBuf, st: &Stat) -> ShmFile {
        ShmFile {
            path,
            size: st.size,
            allocated: st.allocated,
            uid: st.uid,
            gid: st.gid,
            mode: st.mode,
            born: st.btime.unwrap_or(st.mtime),
            born_is_btime: st.btime.is_some(),
            dev: st.dev,
            inode: st.ino,
        }
    }

    /// The path as bytes.
    pub fn path_bytes(&self) -> &[u8] {
        self.path.as_os_str().as_bytes()
    }
}

/// How deep to look below /dev/shm: POSIX names are flat, but some programs make directories.
const MAX_DEPTH: usize = 4;

/// Every regular file beneath the open directory `dir`, named as `shown` joined with its path
/// below it. Listed through fds only ([`root::list_dir`]): a symlink is never followed, and a
/// subdirectory swapped for a symlink between the listing and the descent is not entered.
pub fn list(dir: BorrowedFd<'_>, shown: &Path) -> std::io::Result<Vec<ShmFile>> {
    let mut out = Vec::new();
    walk(dir, shown, 0, &mut |f| out.push(f))?;
    Ok(out)
}

/// The exact name (below `dir`) of the file with this device and inode: a listed name is kept
/// as a string (invalid UTF-8 spelled `\xNN`), which cannot always be opened again.
pub fn find_by_inode(dir: BorrowedFd<'_>, dev: u64, inode: u64) -> Option<PathBuf> {
    list(dir, Path::new(""))
        .ok()?
        .into_iter()
        .find(|f| (f.dev, f.inode) == (dev, inode))
        .map(|f| f.path)
}

fn walk(
    dir: BorrowedFd<'_>,
    shown: &Path,
    depth: usize,
    out: &mut dyn FnMut(ShmFile),
) -> std::io::Result<()> {
    root::for_each_entry(dir, |e| {
        let path = shown.join(&e.name);
        if e.stat.is_file() {
            out(ShmFile::from_stat(path, &e.stat));
        } else if e.stat.is_dir() && depth + 1 < MAX_DEPTH {
            // No symlink, no other mount: what was a directory a moment ago must still be one.
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
            let Ok(sub) = root::open_beneath(dir, Path::new(&e.name), flags) else {
                return;
            };
            // An unreadable subdirectory is not a reason to fail the listing.
            let _ = walk(sub.as_fd(), &path, depth + 1, out);
        }
    })
}

impl super::Sys {
    /// Every regular file of the shm directory, reached through its fd
    /// ([`super::Sys::open_shm_dir`]) and named as `shm_dir` shows it.
    pub fn shm_files(&self) -> std::io::Result<Vec<ShmFile>> {
        list(self.open_shm_dir()?.as_fd(), &self.shm_dir)
    }

    /// [`Self::shm_files`] one file at a time, none of them kept here.
    pub fn each_shm_file(&self, mut each: impl FnMut(ShmFile)) -> std::io::Result<()> {
        walk(self.open_shm_dir()?.as_fd(), &self.shm_dir, 0, &mut each)
    }
}
