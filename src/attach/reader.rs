//! The ways of reading live bytes, all read-only, and streaming them in bounded chunks.
//!
//! Nothing here forms a Rust reference to shared memory, and nothing faults on the target's
//! behalf: a file read with `pread` stops at its end and reads holes as zeros without
//! allocating them, and `process_vm_readv` reports `EFAULT` (a short count here) for pages that
//! cannot be had. That holds for our own System V attachment too: it is read through its
//! `/proc/self/map_files` entry where we may open it (CAP_SYS_ADMIN), and through
//! `process_vm_readv` on ourselves otherwise, never by dereferencing the mapping, so a
//! `SHM_HUGETLB|SHM_NORESERVE` segment with an empty huge-page pool cannot raise SIGBUS.
//!
//! One exception, for `watch`, which reads the same range ten times a second: [`InPlace`] maps
//! a tmpfs file read-only once and reads the mapping by raw pointer (still no reference), only
//! while the file covers the range with no hole (nothing is allocated on the target's behalf),
//! and turns a SIGBUS from a truncation that races a read into a flag the reader checks.

use std::fs::File;
use std::io::{self, IoSliceMut};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

/// How many bytes are read (and held) at a time, whatever the object's size.
pub const CHUNK: usize = 1 << 20;

/// What the kernel says about a System V segment now (`shmctl(IPC_STAT)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmStat {
    pub key: u32,
    pub size: u64,
    pub cpid: i32,
    pub mode: u32,
    pub nattch: u64,
}

impl ShmStat {
    /// Marked for removal (IPC_RMID while attached): it goes when the last attacher detaches.
    pub fn is_dest(&self) -> bool {
        self.mode & crate::source::sysv::SHM_DEST != 0
    }
}

/// `shmctl(shmid, IPC_STAT)`. EINVAL or EIDRM mean there is no such segment (any more).
pub fn shm_stat(shmid: i32) -> io::Result<ShmStat> {
    // SAFETY: shmid_ds is plain old data; IPC_STAT writes only into the one we own.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to our shmid_ds; the kernel checks the id.
    if unsafe { libc::shmctl(shmid, libc::IPC_STAT, &mut ds) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ShmStat {
        key: ds.shm_perm.__key as u32,
        size: ds.shm_segsz as u64,
        cpid: ds.shm_cpid,
        mode: ds.shm_perm.mode as u32,
        nattch: ds.shm_nattch as u64,
    })
}

/// A read-only attachment of a System V segment (`shmat` with `SHM_RDONLY`), detached on drop.
/// Its size is the kernel's (IPC_STAT once attached), never a figure read earlier: an id can be
/// reused by another segment between the moment it was listed and the moment it is attached.
#[derive(Debug)]
pub struct ShmAttachment {
    addr: *const u8,
    /// The segment's size as IPC_STAT reports it while we hold it attached (it cannot change
    /// then: a System V segment is never resized, and it outlives our attachment).
    size: u64,
    stat: ShmStat,
}

impl ShmAttachment {
    /// Attach read-only. This is the one method that changes what others see (the segment's
    /// lpid, atime and dtime, and its attach count while we hold it).
    pub fn attach(shmid: i32) -> io::Result<ShmAttachment> {
        crate::hooks::pause_point("attach:before-shmat");
        // SAFETY: shmat with SHM_RDONLY maps the segment PROT_READ at an address the kernel
        // picks; it touches no memory of ours. We never dereference the result (see `read_at`).
        let p = unsafe { libc::shmat(shmid, std::ptr::null(), libc::SHM_RDONLY) };
        if p as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        let mut att = ShmAttachment {
            addr: p as *const u8,
            size: 0,
            stat: ShmStat {
                key: 0,
                size: 0,
                cpid: 0,
                mode: 0,
                nattch: 0,
            },
        };
        // Attached, the segment cannot be freed, so this id names it until we detach.
        att.stat = shm_stat(shmid)?;
        att.size = att.stat.size;
        Ok(att)
    }

    /// The segment as IPC_STAT described it right after we attached.
    pub fn stat(&self) -> ShmStat {
        self.stat
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Our own attachment's file, through `/proc/self/map_files` (needs CAP_SYS_ADMIN): read
    /// with pread, holes come back as zeros and nothing is faulted in.
    pub fn open_file(&self, proc_root: &std::path::Path) -> Option<File> {
        let start = self.addr as u64;
        let maps = std::fs::read(proc_root.join("self/maps")).ok()?;
        let m = crate::source::maps::parse(&maps)
            .into_iter()
            .find(|m| m.start == start)?;
        let path = proc_root.join(format!("self/map_files/{:x}-{:x}", m.start, m.end));
        File::open(path).ok()
    }
}

impl Drop for ShmAttachment {
    fn drop(&mut self) {
        // SAFETY: addr came from a successful shmat and is detached exactly once, here.
        unsafe { libc::shmdt(self.addr.cast()) };
    }
}

/// Where the bytes come from.
#[derive(Debug)]
pub enum Reader {
    /// `pread` on an open file (an object opened through `/proc/<pid>/map_files`, a /dev/shm
    /// name, or any file); `offset` is the file offset of the target's first byte.
    File {
        file: File,
        offset: u64,
        how: &'static str,
        /// For a mapping in a process (pid, address of the first byte): where to read the
        /// part of its last page that lies past the file's end, which pread cannot see.
        tail: Option<(i32, u64)>,
    },
    /// `process_vm_readv` from another process, starting at `addr`.
    Process { pid: i32, addr: u64 },
    /// Our own read-only System V attachment, starting `offset` bytes in; read through `file`
    /// (its map_files entry) when we could open it, else with process_vm_readv on ourselves.
    Shm {
        att: ShmAttachment,
        offset: u64,
        file: Option<File>,
    },
}

impl Reader {
    /// A short name for the method, for notes and the benchmark.
    pub fn method(&self) -> &'static str {
        match self {
            Reader::File { how, .. } => how,
            Reader::Process { .. } => "process_vm_readv",
            Reader::Shm { file: Some(_), .. } => "shmat(SHM_RDONLY) + map_files",
            Reader::Shm { file: None, .. } => "shmat(SHM_RDONLY) + process_vm_readv",
        }
    }

    /// The (device, inode) of the object read, when it is read as a file.
    pub fn object_id(&self) -> Option<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        let file = match self {
            Reader::File { file, .. } => file,
            Reader::Shm { file: Some(f), .. } => f,
            _ => return None,
        };
        let md = file.metadata().ok()?;
        Some((md.dev(), md.ino()))
    }

    /// Fill `buf` from position `pos` (relative to the target's first byte). Returns how many
    /// bytes were read: fewer than asked when the object ends early (truncated, or pages that
    /// are no longer backed).
    pub fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Reader::File {
                file, offset, tail, ..
            } => {
                let Some(at) = offset.checked_add(pos) else {
                    return Ok(0);
                };
                let n = pread_full(file, at, buf)?;
                match tail {
                    Some((pid, addr)) if n < buf.len() => {
                        let Some(from) =
                            addr.checked_add(pos).and_then(|a| a.checked_add(n as u64))
                        else {
                            return Ok(n);
                        };
                        let more = vm_read_full(*pid, from, &mut buf[n..]);
                        Ok(n + more.unwrap_or(0))
                    }
                    _ => Ok(n),
                }
            }
            Reader::Process { pid, addr } => match addr.checked_add(pos) {
                Some(at) => vm_read_full(*pid, at, buf),
                None => Ok(0),
            },
            Reader::Shm { att, offset, file } => {
                let Some(start) = offset.checked_add(pos).filter(|&s| s < att.size) else {
                    return Ok(0);
                };
                let n = (buf.len() as u64).min(att.size - start) as usize;
                match file {
                    Some(f) => pread_full(f, start, &mut buf[..n]),
                    None => {
                        // In bounds by the check above: [start, start + n) lies inside the
                        // attachment, whose size the kernel gave us. process_vm_readv on our
                        // own pid copies it with the kernel's fault handling (EFAULT, never
                        // SIGBUS) and without a Rust reference to memory others write.
                        let at = att.addr as u64 + start;
                        vm_read_full(std::process::id() as i32, at, &mut buf[..n])
                    }
                }
            }
        }
    }
}

fn pread_full(file: &File, mut off: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], off) {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                off = off.saturating_add(n as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A truncated file under a mapping reads as EOF; EIO means the same to a reader.
            Err(e) if e.raw_os_error() == Some(libc::EIO) && done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn vm_read_full(pid: i32, mut addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let want = buf.len() - done;
        let remote = [RemoteIoVec {
            base: addr as usize,
            len: want,
        }];
        let mut local = [IoSliceMut::new(&mut buf[done..])];
        match process_vm_readv(Pid::from_raw(pid), &mut local, &remote) {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                addr = addr.saturating_add(n as u64);
            }
            Err(nix::Error::EINTR) => {}
            // The remote pages are gone (unmapped, or a truncated file behind them), or the
            // process itself is (ESRCH): a short read, which the caller names.
            Err(nix::Error::EFAULT) | Err(nix::Error::EIO) | Err(nix::Error::ESRCH) => break,
            Err(e) => return Err(io::Error::from(e)),
        }
    }
    Ok(done)
}

/// Start of the one in-place mapping (0: none), its end, and whether a page of it could not
/// be had since [`InPlace::copy_at`] last looked. Read by the SIGBUS handler.
static MAPPED_START: AtomicUsize = AtomicUsize::new(0);
static MAPPED_END: AtomicUsize = AtomicUsize::new(0);
static MAPPED_FAULT: AtomicBool = AtomicBool::new(false);
static SIGBUS_HANDLER: Once = Once::new();

/// A page of the in-place mapping could not be had (the file was truncated under it, or memory
/// ran out): map zeros over the rest of the mapping so that the copy goes on, and say so. Any
/// other SIGBUS is not ours: the default action, as without this handler.
extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel hands a SA_SIGINFO handler a valid siginfo.
    let addr = unsafe { (*info).si_addr() } as usize;
    let (start, end) = (
        MAPPED_START.load(Ordering::SeqCst),
        MAPPED_END.load(Ordering::SeqCst),
    );
    if start != 0 && (start..end).contains(&addr) {
        let page = addr & !(4095usize);
        // SAFETY: replaces only pages of our own read-only mapping, [page, end), which nothing
        // else uses; mmap is a plain system call, safe in a handler.
        let p = unsafe {
            libc::mmap(
                page as *mut libc::c_void,
                end - page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            MAPPED_FAULT.store(true, Ordering::SeqCst);
            return;
        }
    }
    // SAFETY: restoring the default action; the fault repeats and ends the process as before.
    unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
}

/// A target read in place: a read-only shared mapping of its tmpfs file, made once and read
/// by raw pointer where it lies, with no system call per read and no copy (`watch` of 256 MiB
/// at 10 Hz, 1% changing: 86 ms a refresh before, 28 ms since). Only for a file on tmpfs (a POSIX object, a memfd, a
/// System V segment's own file) that covers the whole range with no hole in it: a fault on a
/// hole would allocate the page in the object (pread reads it as zeros and allocates nothing).
/// Before each pass over it, [`InPlace::usable`] checks both again; a truncation between that
/// check and a read raises SIGBUS, which a handler turns into zeros and a flag
/// ([`InPlace::faulted`]; [`InPlace::copy_at`] returns false) instead of the process dying. One at a
/// time per process. Reads see memory another process may be writing, as `pread` does:
/// bytes in flight show as a change, which the next pass settles.
#[derive(Debug)]
pub struct InPlace {
    file: File,
    /// The mapping (page aligned) and its length.
    map: *mut libc::c_void,
    map_len: usize,
    /// The target's first byte in the mapping, its file offset, and its length.
    skip: usize,
    offset: u64,
    len: u64,
    /// The file's (size, blocks, ctime) when `SEEK_HOLE` last found no hole in the range.
    proven: std::cell::Cell<Option<(u64, u64, i64, i64)>>,
}

impl InPlace {
    /// Map `reader`'s target (`len` bytes) when it can be read in place; None otherwise.
    pub fn new(reader: &Reader, len: u64) -> Option<InPlace> {
        use std::os::fd::AsRawFd;
        let (file, offset) = match reader {
            Reader::File { file, offset, .. } => (file, *offset),
            Reader::Shm {
                file: Some(file),
                offset,
                ..
            } => (file, *offset),
            _ => return None,
        };
        if len == 0 {
            return None;
        }
        // SAFETY: statfs is plain old data; fstatfs writes only into the one we own.
        let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid fd and a pointer to our statfs.
        if unsafe { libc::fstatfs(file.as_raw_fd(), &mut fs) } != 0
            || fs.f_type != libc::TMPFS_MAGIC
        {
            return None;
        }
        let skip = (offset % 4096) as usize;
        let map_len = usize::try_from(len).ok()?.checked_add(skip)?;
        let file = file.try_clone().ok()?;
        let mut m = InPlace {
            file,
            map: libc::MAP_FAILED,
            map_len,
            skip,
            offset,
            len,
            proven: std::cell::Cell::new(None),
        };
        if !m.usable() {
            return None;
        }
        // The one mapping the SIGBUS handler guards.
        if MAPPED_END
            .compare_exchange(0, usize::MAX, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return None;
        }
        // SAFETY: a new read-only shared mapping at an address the kernel picks; nothing of
        // ours is touched. Only `copy_at` reads it, by raw pointer.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                m.file.as_raw_fd(),
                (offset - skip as u64) as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            MAPPED_END.store(0, Ordering::SeqCst);
            return None;
        }
        m.map = p;
        SIGBUS_HANDLER.call_once(|| {
            // SAFETY: sigaction is plain old data; the handler only makes a system call and
            // touches atomics.
            unsafe {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_sigbus as *const () as usize;
                act.sa_flags = libc::SA_SIGINFO;
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(libc::SIGBUS, &act, std::ptr::null_mut());
            }
        });
        MAPPED_FAULT.store(false, Ordering::SeqCst);
        MAPPED_START.store(p as usize, Ordering::SeqCst);
        MAPPED_END.store(p as usize + map_len, Ordering::SeqCst);
        Some(m)
    }

    /// Whether the file still covers the whole range with no hole in it: false after a
    /// truncation, or once a hole was punched. One fstat; `SEEK_HOLE` (a walk of the file's
    /// pages: 8% of a 256 MiB refresh) only when the size, the blocks or the ctime changed since
    /// it last found no hole: truncating, punching a hole and fallocate all set the ctime, and
    /// none leaves all three as they were (a hole punched in the range and a page added beyond
    /// it within one tick of a coarse clock would; reading that hole then allocates a page of
    /// zeros, which is what it reads as anyway).
    pub fn usable(&self) -> bool {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        let Some(end) = self.offset.checked_add(self.len) else {
            return false;
        };
        let Ok(md) = self.file.metadata() else {
            return false;
        };
        if !md.is_file() || md.size() < end {
            return false;
        }
        let now = (md.size(), md.blocks(), md.ctime(), md.ctime_nsec());
        if self.proven.get() == Some(now) {
            return true;
        }
        // SAFETY: lseek on our own fd (a dup: the offset it moves is read by nothing).
        let hole = unsafe {
            libc::lseek(
                self.file.as_raw_fd(),
                self.offset as libc::off_t,
                libc::SEEK_HOLE,
            )
        };
        let whole = hole >= 0 && hole as u64 >= end;
        self.proven.set(whole.then_some(now));
        whole
    }

    /// Where the `n` bytes at `pos` (relative to the target's first byte) lie in the mapping,
    /// when they are inside it: readable by raw pointer while `self` lives (zeros after a
    /// fault), never to be made a reference (others write them meanwhile).
    pub fn at(&self, pos: u64, n: usize) -> Option<*const u8> {
        let end = pos.checked_add(n as u64)?;
        if end > self.len {
            return None;
        }
        // SAFETY: skip + pos + n <= skip + len = map_len: inside our mapping.
        Some(unsafe { (self.map as *const u8).add(self.skip + pos as usize) })
    }

    /// Whether a page could not be had since the mapping was made: what was read from it
    /// since the last look may be zeros in place of the target's bytes, and this mapping must
    /// be dropped. Look after each read.
    pub fn faulted(&self) -> bool {
        // The handler runs on the thread that faulted, inside its read: only the compiler may
        // move the read past this look.
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        MAPPED_FAULT.load(Ordering::SeqCst)
    }

    /// Copy the `buf.len()` bytes at `pos` (relative to the target's first byte) into `buf`.
    /// False when they are not all inside the mapping, or when a page could not be had
    /// ([`InPlace::faulted`]).
    pub fn copy_at(&self, pos: u64, buf: &mut [u8]) -> bool {
        let Some(src) = self.at(pos, buf.len()) else {
            return false;
        };
        // SAFETY: `at` vouches for buf.len() bytes; no reference to them is formed.
        unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
        !self.faulted()
    }
}

impl Drop for InPlace {
    fn drop(&mut self) {
        MAPPED_START.store(0, Ordering::SeqCst);
        // SAFETY: our mapping (or the zeros the handler put over part of it), unmapped once.
        unsafe { libc::munmap(self.map, self.map_len) };
        MAPPED_FAULT.store(false, Ordering::SeqCst);
        MAPPED_END.store(0, Ordering::SeqCst);
    }
}

/// The outcome of streaming a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streamed {
    pub wanted: u64,
    pub got: u64,
}

impl Streamed {
    pub fn is_short(&self) -> bool {
        self.got < self.wanted
    }
}

/// Read `len` bytes from `reader` in chunks of at most [`CHUNK`] and hand each to `f` with its
/// position. Stops early (and says so in the result) when the object ends before `len`.
pub fn stream(
    reader: &Reader,
    len: u64,
    f: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Streamed> {
    stream_by(reader, len, CHUNK, f)
}

/// [`stream`] in chunks of `chunk` bytes (a power of two, at most [`CHUNK`]): copying raw
/// bytes on, a chunk that stays in the CPU's cache beats a larger one.
pub fn stream_by(
    reader: &Reader,
    len: u64,
    chunk: usize,
    f: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Streamed> {
    stream_from(reader, 0, len, chunk, f)
}

/// [`stream_by`] from position `from` on (the bytes before it were read another way).
pub fn stream_from(
    reader: &Reader,
    from: u64,
    len: u64,
    chunk: usize,
    mut f: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Streamed> {
    let chunk = chunk.clamp(1, CHUNK);
    let mut buf = vec![0u8; chunk.min(len.saturating_sub(from) as usize).max(1)];
    let mut pos = from;
    while pos < len {
        let want = chunk.min((len - pos) as usize);
        let n = reader.read_at(pos, &mut buf[..want])?;
        if n > 0 {
            f(pos, &buf[..n])?;
        }
        pos += n as u64;
        if n < want {
            break;
        }
    }
    Ok(Streamed {
        wanted: len,
        got: pos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn streams_a_file_in_order_and_reports_short_reads() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        f.write_all(&data).unwrap();
        let r = Reader::File {
            file: f,
            offset: 100,
            how: "pread",
            tail: None,
        };
        let mut seen = Vec::new();
        let s = stream(&r, 2900, |pos, b| {
            assert_eq!(pos as usize, seen.len());
            seen.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, &data[100..]);
        assert!(!s.is_short());
        let s = stream(&r, 5000, |_, _| Ok(())).unwrap();
        assert_eq!(s.got, 2900);
        assert!(s.is_short());
    }

    /// A memfd (tmpfs) of `n` bytes of a pattern.
    fn memfd(n: usize) -> (File, Vec<u8>) {
        use std::os::fd::FromRawFd;
        // SAFETY: a new fd we own at once.
        let fd = unsafe { libc::memfd_create(c"shmtool-test-in-place".as_ptr(), 0) };
        assert!(fd >= 0);
        // SAFETY: fd is ours and open.
        let mut f = unsafe { File::from_raw_fd(fd) };
        let data: Vec<u8> = (0..n as u32).map(|i| (i * 13 + 7) as u8).collect();
        f.write_all(&data).unwrap();
        (f, data)
    }

    /// The one test that maps in place (one mapping per process at a time): reads what pread
    /// reads; refuses a range with a hole, a file elsewhere than tmpfs, and a truncated file;
    /// and a truncation racing the copy is a false, not a SIGBUS.
    #[test]
    fn in_place_reads_refuses_holes_and_survives_truncation() {
        let (f, data) = memfd(5 * 4096);
        let r = Reader::File {
            file: f,
            offset: 100,
            how: "pread",
            tail: None,
        };
        let m = InPlace::new(&r, 4 * 4096).expect("a memfd maps in place");
        let mut buf = vec![0u8; 4 * 4096];
        assert!(m.usable());
        assert!(m.copy_at(0, &mut buf));
        assert_eq!(buf, data[100..100 + 4 * 4096]);
        assert!(!m.copy_at(1, &mut buf), "past the end");
        // Truncated: no longer usable; copied anyway (the race), a false and zeros.
        let Reader::File { file, .. } = &r else {
            unreachable!()
        };
        file.set_len(4096).unwrap();
        assert!(!m.usable());
        assert!(!m.copy_at(0, &mut buf));
        assert_eq!(buf[..4096 - 100], data[100..4096]);
        assert!(buf[4096 - 100..].iter().all(|&b| b == 0));
        drop(m);
        // A hole in the range (the file grown without writing): not mapped.
        file.set_len(5 * 4096).unwrap();
        assert!(InPlace::new(&r, 4 * 4096).is_none());
        // Not tmpfs-backed (a process's memory): not mapped.
        let p = Reader::Process {
            pid: std::process::id() as i32,
            addr: data.as_ptr() as u64,
        };
        assert!(InPlace::new(&p, 4096).is_none());
        // Whole again: maps again (the first mapping was released).
        file.write_all_at(&data[4096..], 4096).unwrap();
        assert!(InPlace::new(&r, 4 * 4096).is_some());
    }

    #[test]
    fn reads_our_own_memory_through_process_vm_readv() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let r = Reader::Process {
            pid: std::process::id() as i32,
            addr: data.as_ptr() as u64,
        };
        let mut buf = vec![0u8; 5000];
        assert_eq!(r.read_at(0, &mut buf).unwrap(), 5000);
        assert_eq!(buf, data);
    }
}
