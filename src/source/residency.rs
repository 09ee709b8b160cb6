//! Resident bytes of a file mapped shared, from the page cache (`cachestat`, Linux 6.5+):
//! a file's blocks are its size on disk, not what it holds in memory, and its mappings' RSS
//! counts only the pages each process has touched. cachestat needs an fd, which comes from a
//! mapping's `map_files` link (CAP_SYS_ADMIN); the link is opened `O_PATH` first and reopened
//! for reading only when it is a regular file, so no device or FIFO is ever opened.

use super::Sys;
use crate::model::Segment;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// cachestat's number is the same on every architecture (the unified syscall table).
const SYS_CACHESTAT: libc::c_long = 451;
/// tmpfs's statfs magic: there evicted pages are swapped pages.
const TMPFS_MAGIC: i64 = 0x0102_1994;

#[repr(C)]
#[derive(Default)]
struct Range {
    off: u64,
    /// 0: to the end of the file.
    len: u64,
}

#[repr(C)]
#[derive(Default)]
struct CacheStat {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

fn open(path: &std::ffi::CStr, flags: libc::c_int) -> Option<OwnedFd> {
    // SAFETY: a NUL-terminated path; the fd returned is ours.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    // SAFETY: fd is a fresh descriptor when non-negative.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Resident and swapped bytes of the file behind `link`, or None where it cannot be read.
fn cachestat(link: &std::path::Path, inode: Option<u64>) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(link.as_os_str().as_bytes()).ok()?;
    let opath = open(&c, libc::O_PATH)?;
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes one stat, which we own.
    if unsafe { libc::fstat(opath.as_raw_fd(), &mut st) } != 0
        || st.st_mode & libc::S_IFMT != libc::S_IFREG
        || inode.is_some_and(|i| i != st.st_ino)
    {
        return None;
    }
    let again = std::ffi::CString::new(format!("/proc/self/fd/{}", opath.as_raw_fd())).ok()?;
    let fd = open(&again, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOATIME)
        .or_else(|| open(&again, libc::O_RDONLY | libc::O_NONBLOCK))?;
    let range = Range::default();
    let mut cs = CacheStat::default();
    // SAFETY: cachestat reads one range and writes one cachestat struct, both ours.
    let r = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            fd.as_raw_fd(),
            &range as *const Range,
            &mut cs as *mut CacheStat,
            0u32,
        )
    };
    if r != 0 {
        return None;
    }
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096) as u64;
    #[allow(clippy::unnecessary_cast)]
    let tmpfs = nix::sys::statfs::fstatfs(&fd)
        .map(|s| s.filesystem_type().0 as i64 == TMPFS_MAGIC)
        .unwrap_or(false);
    // On disk, an evicted page is on disk, not swapped.
    let swapped = if tmpfs { cs.nr_evicted } else { 0 };
    Some((cs.nr_cache * page, swapped * page))
}

/// Fill `rss` and `swap` of a file row through its first readable mapping.
pub fn of_mapped_file(sys: &Sys, seg: &mut Segment) {
    for a in &seg.attachers {
        if let Some((rss, swap)) = cachestat(&sys.map_files_path(a.pid, a.start, a.end), seg.inode)
        {
            seg.rss = Some(rss);
            seg.swap = Some(swap);
            return;
        }
    }
}
