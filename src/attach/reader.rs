//! The ways of reading live bytes, all read-only, and streaming them in bounded chunks.
//!
//! Nothing here forms a Rust reference to shared memory, and nothing faults on the target's
//! behalf: a file read with `pread` stops at its end and reads holes as zeros without
//! allocating them, and `process_vm_readv` reports `EFAULT` (a short count here) for pages that
//! cannot be had. That holds for our own System V attachment too: it is read through its
//! `/proc/self/map_files` entry where we may open it (CAP_SYS_ADMIN), and through
//! `process_vm_readv` on ourselves otherwise, never by dereferencing the mapping, so a
//! `SHM_HUGETLB|SHM_NORESERVE` segment with an empty huge-page pool cannot raise SIGBUS.

use std::fs::File;
use std::io::{self, IoSliceMut};
use std::os::unix::fs::FileExt;

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
    mut f: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Streamed> {
    let chunk = chunk.clamp(1, CHUNK);
    let mut buf = vec![0u8; chunk.min(len as usize).max(1)];
    let mut pos = 0u64;
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
