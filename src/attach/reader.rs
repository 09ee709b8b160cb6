//! The ways of reading live bytes, all read-only, and streaming them in bounded chunks.
//!
//! Every method returns an error or a short count instead of faulting: a file read with
//! `pread` stops at its end, `process_vm_readv` reports `EFAULT` for pages that are gone. Only
//! System V attachments are mapped locally, and a System V segment cannot shrink, so no read
//! here can raise SIGBUS.

use std::fs::File;
use std::io::{self, IoSliceMut};
use std::os::unix::fs::FileExt;

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

/// How many bytes are read (and held) at a time, whatever the object's size.
pub const CHUNK: usize = 1 << 20;

/// A read-only attachment of a System V segment (`shmat` with `SHM_RDONLY`), detached on drop.
#[derive(Debug)]
pub struct ShmAttachment {
    addr: *const u8,
    size: usize,
}

impl ShmAttachment {
    /// Attach read-only. This is the one method that changes what others see (the segment's
    /// lpid, atime and dtime, and its attach count while we hold it).
    pub fn attach(shmid: i32, size: usize) -> io::Result<ShmAttachment> {
        // SAFETY: shmat with SHM_RDONLY maps the segment PROT_READ; we only read through it.
        let p = unsafe { libc::shmat(shmid, std::ptr::null(), libc::SHM_RDONLY) };
        if p as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(ShmAttachment {
            addr: p as *const u8,
            size,
        })
    }
}

impl Drop for ShmAttachment {
    fn drop(&mut self) {
        // SAFETY: addr came from shmat and is detached once.
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
    /// Our own read-only System V attachment, starting `offset` bytes in.
    Shm { att: ShmAttachment, offset: u64 },
}

impl Reader {
    /// A short name for the method, for notes and the benchmark.
    pub fn method(&self) -> &'static str {
        match self {
            Reader::File { how, .. } => how,
            Reader::Process { .. } => "process_vm_readv",
            Reader::Shm { .. } => "shmat(SHM_RDONLY)",
        }
    }

    /// Fill `buf` from position `pos` (relative to the target's first byte). Returns how many
    /// bytes were read: fewer than asked when the object ends early (truncated, or pages that
    /// are no longer backed).
    pub fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Reader::File {
                file, offset, tail, ..
            } => {
                let n = pread_full(file, offset + pos, buf)?;
                match tail {
                    Some((pid, addr)) if n < buf.len() => {
                        let more = vm_read_full(*pid, addr + pos + n as u64, &mut buf[n..]);
                        Ok(n + more.unwrap_or(0))
                    }
                    _ => Ok(n),
                }
            }
            Reader::Process { pid, addr } => vm_read_full(*pid, addr + pos, buf),
            Reader::Shm { att, offset } => {
                let start = (offset + pos) as usize;
                let n = buf.len().min(att.size.saturating_sub(start));
                // SAFETY: [start, start+n) lies inside the attachment (a System V segment cannot
                // shrink while attached, so this cannot fault).
                let src = unsafe { std::slice::from_raw_parts(att.addr.add(start), n) };
                buf[..n].copy_from_slice(src);
                Ok(n)
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
                off += n as u64;
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
                addr += n as u64;
            }
            Err(nix::Error::EINTR) => {}
            // The remote pages are gone (unmapped, or a truncated file behind them).
            Err(nix::Error::EFAULT) | Err(nix::Error::EIO) => break,
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
    mut f: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Streamed> {
    let mut buf = vec![0u8; CHUNK.min(len as usize).max(1)];
    let mut pos = 0u64;
    while pos < len {
        let want = CHUNK.min((len - pos) as usize);
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
