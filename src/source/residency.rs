//! Resident bytes of a file mapped shared, from the page cache (`cachestat`, Linux 6.5+):
//! a file's blocks are its size on disk, not what it holds in memory, and its mappings' RSS
//! counts only the pages each process has touched. cachestat needs an fd, which comes from a
//! mapping's `map_files` link (CAP_SYS_ADMIN); the link is opened `O_PATH` first and reopened
//! for reading only when it is a regular file, so no device or FIFO is ever opened.
//!
//! The same call splits a tmpfs, memfd or shared anonymous object's blocks into resident and
//! swapped pages when swap is configured ([`split_swapped`]): for shmem, cachestat counts a
//! page in memory (or in the swap cache) as cached and a page out on swap as evicted. It was
//! chosen over the alternatives because it is one system call per object, however large, and
//! counts each page once whoever maps it: `mincore` needs the object mapped (a VMA set up and
//! torn down per object, and a byte per page copied out), and the holders' smaps `Swap` needs
//! every holder's smaps parsed (the most expensive file in /proc) and sees only mapped ranges,
//! never an object held by an fd alone. `scripts/residency_cost.c` times the first two side by
//! side: on a loaded 2-core machine, cachestat took 0.56 ms for a 64 MiB file and mincore 16.7
//! ms (30x); for 1 MiB, 8.8 us against 24 us.

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
    Some(split(&cs, page, tmpfs))
}

/// Resident and swapped bytes from cachestat's page counts. On tmpfs (and memfds and shared
/// anonymous memory, which live on it) an evicted page is a swapped one; on a disk filesystem
/// it is back on disk, which is not swap.
fn split(cs: &CacheStat, page: u64, tmpfs: bool) -> (u64, u64) {
    let swapped = if tmpfs { cs.nr_evicted } else { 0 };
    (
        cs.nr_cache.saturating_mul(page),
        swapped.saturating_mul(page),
    )
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

/// Where swap is configured, split a tmpfs-backed row's blocks (`rss`, resident and swapped
/// together) into resident and swapped bytes, through the object's file, one of its mappings
/// or one of its holders' fds. Left as it is where none can be opened.
pub fn split_swapped(sys: &Sys, seg: &mut Segment) {
    use crate::model::Kind;
    if seg.swap.is_some() || seg.rss.is_none() {
        return;
    }
    if !matches!(
        seg.kind,
        Kind::Posix | Kind::Psem | Kind::Memfd | Kind::Anon | Kind::Deleted
    ) {
        return;
    }
    let file = seg
        .path
        .as_deref()
        .filter(|p| p.starts_with('/') && sys.ns_root.is_none())
        .map(std::path::PathBuf::from);
    let maps = seg
        .attachers
        .iter()
        .map(|a| sys.map_files_path(a.pid, a.start, a.end));
    let fds = seg
        .fd_holders
        .iter()
        .map(|h| sys.pid_path(h.pid, &format!("fd/{}", h.fd)));
    for link in file.into_iter().chain(maps).chain(fds) {
        if let Some((rss, swap)) = cachestat(&link, seg.inode) {
            seg.rss = Some(rss);
            seg.swap = Some(swap);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(cache: u64, evicted: u64) -> CacheStat {
        CacheStat {
            nr_cache: cache,
            nr_evicted: evicted,
            ..CacheStat::default()
        }
    }

    #[test]
    fn evicted_pages_are_swapped_on_tmpfs_only() {
        // 10 pages in memory, 3 out on swap: 40 KiB resident, 12 KiB swapped.
        assert_eq!(split(&cs(10, 3), 4096, true), (40960, 12288));
        // A disk file's evicted pages went back to the disk.
        assert_eq!(split(&cs(10, 3), 4096, false), (40960, 0));
        // 64 KiB pages, nothing resident, all swapped.
        assert_eq!(split(&cs(0, 2), 65536, true), (0, 131072));
        assert_eq!(split(&cs(u64::MAX, 1), 4096, true).0, u64::MAX);
    }

    #[test]
    fn with_swap_known_or_no_blocks_nothing_is_read() {
        let sys = Sys::default();
        let mut seg = Segment::new(crate::model::Kind::Memfd);
        seg.rss = Some(4096);
        seg.swap = Some(0);
        split_swapped(&sys, &mut seg);
        assert_eq!((seg.rss, seg.swap), (Some(4096), Some(0)));
        let mut sysv = Segment::new(crate::model::Kind::Sysv);
        sysv.rss = Some(4096);
        split_swapped(&sys, &mut sysv);
        assert_eq!(
            sysv.swap, None,
            "System V takes swap from /proc/sysvipc/shm"
        );
    }

    #[test]
    fn a_tmpfs_file_splits_into_resident_and_not_swapped() {
        // Whatever the machine's swap, a file just written is all resident.
        let dir = std::path::Path::new("/dev/shm");
        if !dir.is_dir() {
            return;
        }
        let f = tempfile::NamedTempFile::new_in(dir).unwrap();
        std::fs::write(f.path(), vec![1u8; 3 * 4096]).unwrap();
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::metadata(f.path()).unwrap().ino();
        let mut seg = Segment::new(crate::model::Kind::Posix);
        seg.path = Some(f.path().to_string_lossy().into_owned());
        seg.inode = Some(ino);
        seg.rss = Some(3 * 4096);
        split_swapped(&Sys::default(), &mut seg);
        if seg.swap.is_some() {
            // cachestat is there (Linux 6.5+): every page is resident.
            let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
                .ok()
                .flatten()
                .unwrap_or(4096) as u64;
            let rss = (3 * 4096u64).div_ceil(page) * page;
            assert_eq!((seg.rss, seg.swap), (Some(rss), Some(0)));
        }
    }
}
