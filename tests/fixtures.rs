//! Real shared memory for tests: System V segments, /dev/shm objects, memfds and shared
//! anonymous memory, held by forked processes. Every fixture removes what it made by id when
//! dropped (also when an assertion fails), and never touches anything it did not make.
//!
//! Holders are forked children that only make system calls after the fork (no allocation, since
//! the test harness is multi-threaded). They block reading a pipe whose write end only the test
//! holds: when the test ends, however it ends, the pipe closes and the holders exit.

#![allow(dead_code)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A child inherits every System V attachment of the test process at fork: a holder forked
/// while another test briefly attaches (`SysvSeg::fill`, `read`) would count as that
/// segment's attacher. Short attachments hold this shared; forks hold it exclusively.
static FORK_LOCK: RwLock<()> = RwLock::new(());

/// Held around a fork of the test process (see `FORK_LOCK`).
pub fn fork_guard() -> RwLockWriteGuard<'static, ()> {
    FORK_LOCK.write().unwrap_or_else(|e| e.into_inner())
}

fn attach_guard() -> RwLockReadGuard<'static, ()> {
    FORK_LOCK.read().unwrap_or_else(|e| e.into_inner())
}

/// A name no other test, run or user on this machine is using.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{n}-{t:x}", std::process::id())
}

/// A byte pattern that differs by offset and by seed, so a wrong offset or object shows.
pub fn pattern_byte(seed: u8, i: usize) -> u8 {
    (i as u32)
        .wrapping_mul(31)
        .wrapping_add(seed as u32 * 7 + (i >> 8) as u32) as u8
}

pub fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| pattern_byte(seed, i)).collect()
}

/// A System V segment this test made; removed by id on drop.
pub struct SysvSeg {
    pub shmid: i32,
    pub key: u32,
    pub size: usize,
    removed: bool,
}

impl SysvSeg {
    /// A new segment with a fresh key, filled with `pattern(seed)`.
    pub fn new(size: usize, seed: u8) -> SysvSeg {
        SysvSeg::with_mode(size, seed, 0o600)
    }

    /// A segment of this size whose pages were never touched (all zero, nothing allocated yet):
    /// for tests of very large segments.
    pub fn sparse(size: usize) -> SysvSeg {
        for attempt in 0..1000u32 {
            let key = unique_key(attempt);
            let id = unsafe {
                libc::shmget(
                    key as libc::key_t,
                    size,
                    libc::IPC_CREAT | libc::IPC_EXCL | 0o600,
                )
            };
            if id >= 0 {
                return SysvSeg {
                    shmid: id,
                    key,
                    size,
                    removed: false,
                };
            }
            let err = std::io::Error::last_os_error();
            assert_eq!(err.raw_os_error(), Some(libc::EEXIST), "shmget: {err}");
        }
        panic!("no free System V key found");
    }

    /// A new segment with this key (e.g. from ftok), or None when the key is taken.
    pub fn with_key(key: u32, size: usize, seed: u8) -> Option<SysvSeg> {
        SysvSeg::create(key, size, seed, 0o600).ok()
    }

    fn create(key: u32, size: usize, seed: u8, mode: i32) -> std::io::Result<SysvSeg> {
        let id = unsafe {
            libc::shmget(
                key as libc::key_t,
                size,
                libc::IPC_CREAT | libc::IPC_EXCL | mode,
            )
        };
        if id < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let seg = SysvSeg {
            shmid: id,
            key,
            size,
            removed: false,
        };
        seg.fill(seed);
        Ok(seg)
    }

    pub fn with_mode(size: usize, seed: u8, mode: i32) -> SysvSeg {
        for attempt in 0..1000u32 {
            match SysvSeg::create(unique_key(attempt), size, seed, mode) {
                Ok(seg) => return seg,
                Err(err) => {
                    assert_eq!(err.raw_os_error(), Some(libc::EEXIST), "shmget: {err}")
                }
            }
        }
        panic!("no free System V key found");
    }

    /// A leaked segment: made, attached and detached by a forked child that has since exited,
    /// so nobody is attached and its creator and last user are gone (what `ls --stale` lists).
    pub fn leaked(size: usize) -> SysvSeg {
        SysvSeg::leaked_with(size, None)
    }

    /// The same, its bytes `pattern(seed)` written by the child before it left.
    pub fn leaked_filled(size: usize, seed: u8) -> SysvSeg {
        SysvSeg::leaked_with(size, Some(seed))
    }

    fn leaked_with(size: usize, seed: Option<u8>) -> SysvSeg {
        for attempt in 0..1000u32 {
            let key = unique_key(attempt);
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                // Child: system calls only.
                unsafe {
                    let id = libc::shmget(
                        key as libc::key_t,
                        size,
                        libc::IPC_CREAT | libc::IPC_EXCL | 0o600,
                    );
                    if id < 0 {
                        let exists = *libc::__errno_location() == libc::EEXIST;
                        libc::_exit(if exists { 2 } else { 1 });
                    }
                    let p = libc::shmat(id, std::ptr::null(), 0);
                    if p as isize != -1 {
                        if let Some(seed) = seed {
                            for i in 0..size {
                                *(p as *mut u8).add(i) = pattern_byte(seed, i);
                            }
                        }
                        libc::shmdt(p);
                    }
                    libc::_exit(0);
                }
            }
            let mut status = 0;
            unsafe { libc::waitpid(pid, &mut status, 0) };
            match libc::WEXITSTATUS(status) {
                0 => {
                    let id = unsafe { libc::shmget(key as libc::key_t, 0, 0) };
                    assert!(id >= 0, "leaked segment vanished");
                    return SysvSeg {
                        shmid: id,
                        key,
                        size,
                        removed: false,
                    };
                }
                2 => continue,
                _ => panic!("child could not make a segment"),
            }
        }
        panic!("no free System V key found");
    }

    /// Take charge of a segment made elsewhere (removed by id on drop like the others).
    pub fn adopt(shmid: i32, key: u32, size: usize) -> SysvSeg {
        SysvSeg {
            shmid,
            key,
            size,
            removed: false,
        }
    }

    /// Write the pattern through a short-lived attachment of our own (detached at once).
    pub fn fill(&self, seed: u8) {
        let _no_fork = attach_guard();
        unsafe {
            let p = libc::shmat(self.shmid, std::ptr::null(), 0);
            assert_ne!(p as isize, -1, "shmat: {}", std::io::Error::last_os_error());
            let data = pattern(seed, self.size);
            std::ptr::copy_nonoverlapping(data.as_ptr(), p as *mut u8, self.size);
            libc::shmdt(p);
        }
    }

    pub fn key_string(&self) -> String {
        format!("0x{:08x}", self.key)
    }

    /// IPC_RMID now (the segment lingers while attached, marked dest).
    pub fn remove(&mut self) {
        if !self.removed {
            unsafe { libc::shmctl(self.shmid, libc::IPC_RMID, std::ptr::null_mut()) };
            self.removed = true;
        }
    }

    /// Forget the segment (a test that removed it through shmtool).
    pub fn forget(&mut self) {
        self.removed = true;
    }

    pub fn stat(&self) -> Option<libc::shmid_ds> {
        let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::shmctl(self.shmid, libc::IPC_STAT, &mut ds) };
        (r == 0).then_some(ds)
    }

    pub fn exists(&self) -> bool {
        self.stat().is_some()
    }

    /// The segment's bytes, read through an attachment of our own.
    pub fn read(&self) -> Vec<u8> {
        let _no_fork = attach_guard();
        unsafe {
            let p = libc::shmat(self.shmid, std::ptr::null(), libc::SHM_RDONLY);
            assert_ne!(p as isize, -1);
            let v = std::slice::from_raw_parts(p as *const u8, self.size).to_vec();
            libc::shmdt(p);
            v
        }
    }
}

impl Drop for SysvSeg {
    fn drop(&mut self) {
        self.remove();
    }
}

fn unique_key(attempt: u32) -> u32 {
    // Mix pid, a counter, time and the attempt; keep clear of 0 (IPC_PRIVATE).
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut x = (std::process::id() as u64) << 32 ^ (n as u64) << 16 ^ t as u64 ^ attempt as u64;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    let k = x as u32;
    if k == 0 {
        1
    } else {
        k
    }
}

/// A file under /dev/shm this test made; unlinked on drop.
pub struct PosixObj {
    pub name: String,
    pub path: PathBuf,
    pub size: usize,
}

impl PosixObj {
    pub fn new(size: usize, seed: u8) -> PosixObj {
        let name = unique_name("shmtool-test");
        let path = PathBuf::from("/dev/shm").join(&name);
        std::fs::write(&path, pattern(seed, size)).expect("create /dev/shm object");
        PosixObj { name, path, size }
    }

    /// Cut (or extend) the object to `len` bytes, as another process racing a reader would.
    pub fn truncate(&self, len: u64) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .and_then(|f| f.set_len(len))
            .expect("truncate /dev/shm object");
    }
}

impl PosixObj {
    /// An object whose name is `unique_name` followed by these raw bytes (any but `/` and NUL).
    pub fn named(suffix: &[u8], size: usize, seed: u8) -> PosixObj {
        use std::os::unix::ffi::OsStrExt;
        let mut name = unique_name("shmtool-test").into_bytes();
        name.push(b'-');
        name.extend_from_slice(suffix);
        let os = std::ffi::OsStr::from_bytes(&name);
        let path = PathBuf::from("/dev/shm").join(os);
        std::fs::write(&path, pattern(seed, size)).expect("create /dev/shm object");
        PosixObj {
            name: os.to_string_lossy().into_owned(),
            path,
            size,
        }
    }

    /// The same, in another directory standing in for /dev/shm (with `--shm-dir`).
    pub fn new_in(dir: &std::path::Path, size: usize, seed: u8) -> PosixObj {
        let name = unique_name("shmtool-test");
        let path = dir.join(&name);
        std::fs::write(&path, pattern(seed, size)).expect("create object");
        PosixObj { name, path, size }
    }
}

impl Drop for PosixObj {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a holder maps.
#[derive(Debug, Clone)]
pub enum Hold {
    /// shmat this shmid (read-write).
    Sysv(i32),
    /// Open and mmap this file MAP_SHARED, whole.
    File(PathBuf),
    /// Open this file read-only and mmap it PROT_READ, MAP_SHARED (as caches are mapped).
    FileReadOnly(PathBuf),
    /// memfd_create(name), size bytes, filled with pattern(seed), mapped shared.
    Memfd { name: String, size: usize, seed: u8 },
    /// MAP_SHARED|MAP_ANONYMOUS of size bytes, filled with pattern(seed); a forked grandchild
    /// holds it too.
    Anon { size: usize, seed: u8 },
    /// Open this file read-write and keep the fd, without mapping it (its "address" is the fd).
    OpenFd(PathBuf),
    /// memfd_create(name), size bytes of pattern(seed) written, fd kept, never mapped.
    MemfdFd { name: String, size: usize, seed: u8 },
}

/// Forked processes holding mappings. Dropping it ends them (pipe EOF, then SIGKILL to the
/// process group they made) and reaps them.
pub struct Holder {
    /// The child's pid; for `Anon`, `pids` also has the grandchild.
    pub pid: i32,
    pub pids: Vec<i32>,
    /// Address of each mapping in the child, in the order of the holds.
    pub addrs: Vec<u64>,
    release: Option<OwnedFd>,
}

/// Close every fd from 3 up except `keep` (close_range(2); only system calls, so it may run
/// in a child forked from the multi-threaded test process).
/// No allocation: a child forked from a multi-threaded process must not take the heap's lock.
unsafe fn close_all_but(keep: &[i32; 2]) {
    let (a, b) = (keep[0].min(keep[1]) as u32, keep[0].max(keep[1]) as u32);
    let mut first = 3u32;
    for k in [a, b] {
        if k > first {
            // SAFETY: closes only fds this child does not use.
            unsafe { libc::syscall(libc::SYS_close_range, first, k - 1, 0) };
        }
        first = first.max(k + 1);
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) };
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn write_all_raw(fd: i32, buf: &[u8]) {
    let mut off = 0;
    while off < buf.len() {
        let n = unsafe { libc::write(fd, buf[off..].as_ptr().cast(), buf.len() - off) };
        if n <= 0 {
            return;
        }
        off += n as usize;
    }
}

fn read_exact_raw(fd: i32, buf: &mut [u8]) -> bool {
    let mut off = 0;
    while off < buf.len() {
        let n = unsafe { libc::read(fd, buf[off..].as_mut_ptr().cast(), buf.len() - off) };
        if n <= 0 {
            return false;
        }
        off += n as usize;
    }
    true
}

/// Prepared (allocated before fork) form of a hold.
enum Prepared {
    Sysv(i32),
    /// Path, and whether to map it writable.
    File(CString, bool),
    Memfd(CString, usize, Vec<u8>),
    Anon(usize, Vec<u8>),
    OpenFd(CString),
    MemfdFd(CString, Vec<u8>),
}

impl Holder {
    pub fn spawn(holds: &[Hold]) -> Holder {
        let prepared: Vec<Prepared> = holds
            .iter()
            .map(|h| match h {
                Hold::Sysv(id) => Prepared::Sysv(*id),
                Hold::File(p) => Prepared::File(
                    CString::new(p.as_os_str().as_encoded_bytes()).unwrap(),
                    true,
                ),
                Hold::FileReadOnly(p) => Prepared::File(
                    CString::new(p.as_os_str().as_encoded_bytes()).unwrap(),
                    false,
                ),
                Hold::Memfd { name, size, seed } => Prepared::Memfd(
                    CString::new(name.as_str()).unwrap(),
                    *size,
                    pattern(*seed, *size),
                ),
                Hold::Anon { size, seed } => Prepared::Anon(*size, pattern(*seed, *size)),
                Hold::OpenFd(p) => {
                    Prepared::OpenFd(CString::new(p.as_os_str().as_encoded_bytes()).unwrap())
                }
                Hold::MemfdFd { name, size, seed } => {
                    Prepared::MemfdFd(CString::new(name.as_str()).unwrap(), pattern(*seed, *size))
                }
            })
            .collect();
        let (report_r, report_w) = pipe();
        let (release_r, release_w) = pipe();
        let n = prepared.len();
        let has_anon = prepared.iter().any(|p| matches!(p, Prepared::Anon(..)));
        let no_attach = fork_guard();
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // Child: system calls only.
            unsafe {
                // Every fd of the test process was inherited, among them other tests' pipes: a
                // holder that kept the write end of another test's pipe to its child would
                // keep that child from ever seeing end-of-file. Keep only our own two.
                close_all_but(&[report_w.as_raw_fd(), release_r.as_raw_fd()]);
                libc::setpgid(0, 0);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                let mut addrs = [0u64; 16];
                for (i, p) in prepared.iter().enumerate().take(16) {
                    addrs[i] = child_map(p);
                }
                let mut grandchild: i32 = 0;
                if has_anon {
                    grandchild = libc::fork();
                    if grandchild == 0 {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        let mut b = [0u8; 1];
                        libc::read(release_r.as_raw_fd(), b.as_mut_ptr().cast(), 1);
                        libc::_exit(0);
                    }
                }
                let mut msg = [0u8; 8 + 16 * 8];
                msg[..4].copy_from_slice(&grandchild.to_ne_bytes());
                for i in 0..16 {
                    msg[8 + i * 8..16 + i * 8].copy_from_slice(&addrs[i].to_ne_bytes());
                }
                write_all_raw(report_w.as_raw_fd(), &msg);
                let mut b = [0u8; 1];
                libc::read(release_r.as_raw_fd(), b.as_mut_ptr().cast(), 1);
                if grandchild > 0 {
                    libc::kill(grandchild, libc::SIGKILL);
                    libc::waitpid(grandchild, std::ptr::null_mut(), 0);
                }
                libc::_exit(0);
            }
        }
        drop(no_attach);
        drop(report_w);
        drop(release_r);
        let mut holder = Holder {
            pid,
            pids: vec![pid],
            addrs: Vec::new(),
            release: Some(release_w),
        };
        let mut msg = [0u8; 8 + 16 * 8];
        assert!(
            read_exact_raw(report_r.as_raw_fd(), &mut msg),
            "holder did not start"
        );
        let gc = i32::from_ne_bytes(msg[..4].try_into().unwrap());
        if gc > 0 {
            holder.pids.push(gc);
            // The grandchild inherits the mapping at fork; make sure it has run far enough
            // that its maps show it (it is a copy of the child's address space at once).
        }
        for i in 0..n.min(16) {
            let a = u64::from_ne_bytes(msg[8 + i * 8..16 + i * 8].try_into().unwrap());
            assert!(a != 0 && a != u64::MAX, "holder failed to map hold {i}");
            holder.addrs.push(a);
        }
        holder
    }

    /// End the holders now and wait for them.
    pub fn stop(&mut self) {
        if let Some(w) = self.release.take() {
            drop(w);
            // Only our own process group: the child made it and the grandchild is in it.
            unsafe {
                libc::kill(-self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// In the child: make one mapping and return its address (u64::MAX on failure).
unsafe fn child_map(p: &Prepared) -> u64 {
    unsafe {
        match p {
            Prepared::Sysv(id) => {
                let a = libc::shmat(*id, std::ptr::null(), 0);
                if a as isize == -1 {
                    u64::MAX
                } else {
                    a as u64
                }
            }
            Prepared::File(path, writable) => {
                let (flags, prot) = if *writable {
                    (libc::O_RDWR, libc::PROT_READ | libc::PROT_WRITE)
                } else {
                    (libc::O_RDONLY, libc::PROT_READ)
                };
                let fd = libc::open(path.as_ptr(), flags);
                if fd < 0 {
                    return u64::MAX;
                }
                let mut st: libc::stat = std::mem::zeroed();
                libc::fstat(fd, &mut st);
                let len = (st.st_size as usize).max(1);
                let a = libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, 0);
                libc::close(fd);
                if a == libc::MAP_FAILED {
                    u64::MAX
                } else {
                    a as u64
                }
            }
            Prepared::Memfd(name, size, data) => {
                let fd = libc::memfd_create(name.as_ptr(), 0);
                if fd < 0 || libc::ftruncate(fd, *size as libc::off_t) != 0 {
                    return u64::MAX;
                }
                let a = libc::mmap(
                    std::ptr::null_mut(),
                    *size,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd,
                    0,
                );
                libc::close(fd);
                if a == libc::MAP_FAILED {
                    return u64::MAX;
                }
                std::ptr::copy_nonoverlapping(data.as_ptr(), a as *mut u8, *size);
                a as u64
            }
            Prepared::OpenFd(path) => {
                let fd = libc::open(path.as_ptr(), libc::O_RDWR);
                if fd < 0 {
                    u64::MAX
                } else {
                    fd as u64
                }
            }
            Prepared::MemfdFd(name, data) => {
                let fd = libc::memfd_create(name.as_ptr(), 0);
                if fd < 0 {
                    return u64::MAX;
                }
                write_all_raw(fd, data);
                fd as u64
            }
            Prepared::Anon(size, data) => {
                let a = libc::mmap(
                    std::ptr::null_mut(),
                    *size,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                if a == libc::MAP_FAILED {
                    return u64::MAX;
                }
                std::ptr::copy_nonoverlapping(data.as_ptr(), a as *mut u8, *size);
                a as u64
            }
        }
    }
}

/// The shmtool binary under test, with a scrubbed environment.
pub fn shmtool() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_shmtool"));
    c.env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "dumb")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null());
    c
}

/// Run shmtool with these arguments and return (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = shmtool().args(args).output().expect("run shmtool");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run shmtool and keep stdout as bytes: (exit code, stdout, stderr).
pub fn run_bytes(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = shmtool().args(args).output().expect("run shmtool");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `shmtool ls --json` (plus args) parsed.
pub fn ls_json(extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["ls", "--json"];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "ls failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON ({e}): {out}"))
}

/// Whether we are root (some tests need it and skip, saying so, otherwise).
pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Print why a test is skipped, in a form that shows up in `cargo test` output.
///
/// With `SHMTOOL_REQUIRE_ALL=1` (set by `.ci/run` for the run as root) a skip is a failure:
/// CI has every privilege and program the suite needs, so a test that cannot run there has found
/// a broken set-up, not a reason to pass.
pub fn skip(why: &str) {
    if std::env::var_os("SHMTOOL_REQUIRE_ALL").is_some_and(|v| v == "1") {
        panic!("SKIPPED, but SHMTOOL_REQUIRE_ALL=1 asks for every test to run: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// A copy of the binary under test that any user can run. The build directory may sit in a
/// home directory of mode 700 (root cloning into /root), which another uid cannot traverse, so
/// a test that runs shmtool as another user runs this copy. It lives in a directory of its own
/// under the temporary directory and is removed when the test binary exits.
pub fn world_runnable_binary() -> &'static std::path::Path {
    use std::os::unix::fs::PermissionsExt;
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    extern "C" fn remove_copy() {
        if let Some(bin) = BIN.get() {
            if let Some(dir) = bin.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
    BIN.get_or_init(|| {
        let dir = std::path::Path::new("/tmp").join(unique_name("shmtool-bin"));
        std::fs::create_dir(&dir).expect("make a directory for the binary");
        // SAFETY: registers a plain function that only removes files; it runs once at exit.
        unsafe { libc::atexit(remove_copy) };
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("shmtool");
        // Copied by another process: a file this process had open for writing could be
        // inherited by a child forked meanwhile by another test thread, and exec of the copy
        // would then fail with ETXTBSY until that child execs.
        let ok = std::process::Command::new("install")
            .args(["-m", "755"])
            .arg(env!("CARGO_BIN_EXE_shmtool"))
            .arg(&bin)
            .status()
            .expect("run install(1)")
            .success();
        assert!(ok, "cannot copy the binary to {}", bin.display());
        bin
    })
}

/// shmtool run as another user (needs root), from a copy that user can reach, with the same
/// scrubbed environment as [`shmtool`].
pub fn shmtool_as(uid: u32) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut c = std::process::Command::new(world_runnable_binary());
    c.env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "dumb")
        .env("LC_ALL", "C")
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .uid(uid)
        .gid(uid);
    c
}

/// Run a command; None when its program is not installed.
pub fn output_if_installed(cmd: &mut std::process::Command) -> Option<std::process::Output> {
    match cmd.output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    }
}

/// Set by [`run_isolated`] for its inner test: the IPC namespace it was started from.
const ISOLATED_ENV: &str = "SHMTOOL_TEST_ISOLATED_FROM";

fn ipc_ns_link() -> String {
    std::fs::read_link("/proc/self/ns/ipc")
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Outer half of a test that removes by verdict: run the `#[ignore]`d test `inner`
/// (`module::name`) of this binary in new IPC and mount namespaces (`unshare --ipc --mount`,
/// as root), where [`enter_isolated`] gives it a private
/// tmpfs over /dev/shm. Returns the inner test's output once it has passed; None (and a SKIPPED
/// line) when no namespace can be made here.
pub fn run_isolated(inner: &str) -> Option<String> {
    let exe = std::env::current_exe().unwrap();
    // Root only: in a user namespace the objects' owners and the processes' readability are
    // not what the verdicts are written for, so an unprivileged run skips.
    if !is_root() {
        skip("removing by verdict in private namespaces needs root");
        return None;
    }
    let tries: Vec<Vec<&str>> = vec![vec!["--ipc", "--mount"]];
    let mut last = String::new();
    for flags in tries {
        let out = std::process::Command::new("unshare")
            .args(&flags)
            .arg("--")
            .arg(&exe)
            .args([inner, "--exact", "--ignored", "--nocapture"])
            .arg("--test-threads=1")
            .env(ISOLATED_ENV, ipc_ns_link())
            .stdin(std::process::Stdio::null())
            .output();
        let Ok(out) = out else {
            skip("unshare(1) is not installed");
            return None;
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if text.contains("INNER-STARTED") {
            assert!(out.status.success(), "inner test {inner} failed:\n{text}");
            assert!(text.contains("INNER-OK"), "{text}");
            return Some(text);
        }
        last = text;
    }
    skip(&format!(
        "cannot make private IPC and mount namespaces: {}",
        last.trim()
    ));
    None
}

/// Inner half: true when this runs in the fresh namespaces [`run_isolated`] made (a new IPC
/// namespace with no segments), after mounting a private tmpfs over /dev/shm there. Prints
/// INNER-STARTED; the test prints INNER-OK when it has passed.
pub fn enter_isolated() -> bool {
    match std::env::var(ISOLATED_ENV) {
        Ok(outer) if !outer.is_empty() && outer != ipc_ns_link() => {}
        _ => {
            eprintln!("SKIPPED: not inside the namespaces run_isolated makes");
            return false;
        }
    }
    let existing = std::fs::read_to_string("/proc/sysvipc/shm").unwrap_or_default();
    if existing.lines().skip(1).any(|l| !l.trim().is_empty()) {
        eprintln!("SKIPPED: the IPC namespace already has segments; not a private one");
        return false;
    }
    let mounted = unsafe {
        libc::mount(
            c"shmtool-test".as_ptr(),
            c"/dev/shm".as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            c"size=256m,mode=1777".as_ptr().cast(),
        )
    };
    if mounted != 0 {
        eprintln!(
            "SKIPPED: cannot mount a private /dev/shm: {}",
            std::io::Error::last_os_error()
        );
        return false;
    }
    println!("INNER-STARTED");
    true
}

/// Whether a process is stopped (state T in /proc/<pid>/stat).
pub fn is_stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let close = s.rfind(')')?;
            s[close + 1..].split_whitespace().next().map(|st| st == "T")
        })
        .unwrap_or(false)
}

/// Start shmtool so that it stops itself at pause point `point` (`SHMTOOL_PAUSE_AT`, see
/// src/hooks.rs); return once it has (polled, with a deadline for a loaded machine).
pub fn start_paused(args: &[&str], point: &str) -> std::process::Child {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let child = shmtool()
        .args(args)
        .env("SHMTOOL_PAUSE_AT", point)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !is_stopped(child.id()) {
        assert!(Instant::now() < deadline, "shmtool never reached {point}");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

/// Let a [`start_paused`] shmtool go on and collect (exit code, stdout, stderr).
pub fn resume(child: std::process::Child) -> (i32, String, String) {
    let (code, out, err) = resume_bytes(child);
    (code, String::from_utf8_lossy(&out).into_owned(), err)
}

/// [`resume`], with standard output as bytes.
pub fn resume_bytes(child: std::process::Child) -> (i32, Vec<u8>, String) {
    // SAFETY: signalling the child we spawned and have not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGCONT) };
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
