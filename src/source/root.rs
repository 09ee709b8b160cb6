//! The one way shmtool reaches a path: beneath a root directory opened once, never by string.
//!
//! A container's filesystem is hostile ground: its `/dev` may be a symlink to `../../..`, a
//! user may swap a directory for a symlink between two system calls, and a pid number may be
//! reused by another process. So:
//!
//! - [`Root::of_pid`] pins the process with a pidfd, opens `/proc/PID/root` once as a directory
//!   fd, and checks the pidfd is still alive afterwards (a pid is not reused while its process
//!   lives, so the fd is that process's root). [`Root::host`] is `/`.
//! - Every path beneath a root is resolved with `openat2` (`RESOLVE_IN_ROOT`,
//!   `RESOLVE_NO_SYMLINKS`, `RESOLVE_NO_MAGICLINKS`; `RESOLVE_BENEATH|RESOLVE_NO_XDEV` below a
//!   directory such as /dev/shm), or, where the kernel has no `openat2`, by a walk of single
//!   components opened `O_NOFOLLOW`.
//! - Files are opened `O_PATH|O_NOFOLLOW` and checked with `fstat`; only a regular file is then
//!   opened for reading ([`read_only`]): FIFOs, sockets and device nodes are never opened.
//!
//! Directories are listed through their fd ([`list_dir`]): names come from `getdents`, facts
//! from `statx` relative to the same fd, without following symlinks.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

/// How symbolic links on a path are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Never: a path through a symlink fails with `ELOOP`. A trailing symlink opened `O_PATH`
    /// comes back as the link itself (its [`Stat`] says so), so that callers can name it.
    Never,
    /// As the root's own processes would see them, but clamped to the root: an absolute or
    /// `../..` link cannot leave it. For `key`, whose answer must be what `ftok` (which follows
    /// links) gives inside the target. The fallback walk refuses links instead.
    InRoot,
}

/// A directory every path is resolved beneath, optionally the root of a pinned process.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
    /// The process whose root this is (`--ns PID`), pinned by a pidfd.
    pinned: Option<(i32, OwnedFd)>,
}

/// What `statx` says about one file, without following a trailing symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Allocated bytes (blocks × 512): what removing the last link frees.
    pub allocated: u64,
    pub mtime: i64,
    /// Birth time where the filesystem keeps one.
    pub btime: Option<i64>,
}

impl Stat {
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }
    pub fn is_file(&self) -> bool {
        self.file_type() == libc::S_IFREG
    }
    pub fn is_dir(&self) -> bool {
        self.file_type() == libc::S_IFDIR
    }
    /// "a FIFO", "a symbolic link", … for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.file_type() {
            libc::S_IFREG => "a regular file",
            libc::S_IFDIR => "a directory",
            libc::S_IFLNK => "a symbolic link",
            libc::S_IFIFO => "a FIFO",
            libc::S_IFSOCK => "a socket",
            libc::S_IFCHR => "a character device",
            libc::S_IFBLK => "a block device",
            _ => "not a regular file",
        }
    }
}

/// Set once `openat2` answered ENOSYS (or by tests), so the walk is used from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Use the `O_NOFOLLOW` walk instead of `openat2` from now on (kernels before 5.6 do this by
/// themselves; tests call it to exercise the walk).
pub fn force_walk_fallback() {
    NO_OPENAT2.store(true, Ordering::Relaxed);
}

impl Root {
    /// The host's root, `/`.
    pub fn host() -> io::Result<Root> {
        Root::at(Path::new("/"))
    }

    /// A directory as the root (opened following the path as given: it is the caller's own).
    pub fn at(dir: &Path) -> io::Result<Root> {
        let fd = nix::fcntl::open(
            dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root {
            dir: fd,
            pinned: None,
        })
    }

    /// The root of process `pid` (`/proc/PID/root` under `proc_root`), opened once while the
    /// process is pinned by a pidfd. Fails with `ESRCH` when the process is gone, including
    /// when it exited while its root was being opened (the number could then name another).
    pub fn of_pid(proc_root: &Path, pid: i32) -> io::Result<Root> {
        let pidfd = pidfd_open(pid)?;
        let dir = nix::fcntl::open(
            &proc_root.join(pid.to_string()).join("root"),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        // Alive now means alive all along since pidfd_open: the number was not reused.
        if !pidfd_alive(pidfd.as_fd()) {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(Root {
            dir,
            pinned: Some((pid, pidfd)),
        })
    }

    /// The pinned process and its pidfd (for `setns`), if this is a process's root.
    pub fn pinned(&self) -> Option<(i32, BorrowedFd<'_>)> {
        self.pinned.as_ref().map(|(p, fd)| (*p, fd.as_fd()))
    }

    /// Whether the pinned process (if any) still lives.
    pub fn alive(&self) -> bool {
        self.pinned
            .as_ref()
            .is_none_or(|(_, fd)| pidfd_alive(fd.as_fd()))
    }

    /// The root directory's fd.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// Open `path` (absolute or not, always taken inside the root; `..` stops at the root) as
    /// `O_PATH|O_NOFOLLOW`: nothing is read, no FIFO blocks, no device is woken.
    pub fn open_path(&self, path: &Path, follow: Follow) -> io::Result<OwnedFd> {
        let mut how = ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS;
        if follow == Follow::Never {
            how |= ResolveFlag::RESOLVE_NO_SYMLINKS;
        }
        resolve(self.fd(), path, OFlag::O_PATH | OFlag::O_NOFOLLOW, how)
    }

    /// Open a directory inside the root for listing, through no symlink.
    pub fn open_dir(&self, path: &Path) -> io::Result<OwnedFd> {
        resolve(
            self.fd(),
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
            ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_SYMLINKS,
        )
    }
}

/// Open `rel` strictly beneath directory `dir`: no `..` above it, no symlink, no other mount.
pub fn open_beneath(dir: BorrowedFd<'_>, rel: &Path, flags: OFlag) -> io::Result<OwnedFd> {
    resolve(
        dir,
        rel,
        flags | OFlag::O_NOFOLLOW,
        ResolveFlag::RESOLVE_BENEATH
            | ResolveFlag::RESOLVE_NO_SYMLINKS
            | ResolveFlag::RESOLVE_NO_XDEV,
    )
}

/// Open the entry `name` of directory `dir` (one component, or a relative path) through no
/// symlink and no `..` above `dir`; mount points below it may be crossed.
pub fn open_child(dir: BorrowedFd<'_>, name: &Path, flags: OFlag) -> io::Result<OwnedFd> {
    resolve(
        dir,
        name,
        flags | OFlag::O_NOFOLLOW,
        ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS,
    )
}

/// Create the new file `name` (one plain component: no `/`, not `.` or `..`) in directory `dir`,
/// open for writing: `O_CREAT|O_EXCL|O_NOFOLLOW` beneath `dir`, through no symlink and onto no
/// other mount. Whatever already has that name (a symlink planted there included) is left
/// alone and the answer is `EEXIST`; a bad name is `EINVAL`.
pub fn create_beneath(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<OwnedFd> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') || b.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    resolve_mode(
        dir,
        Path::new(name),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW,
        ResolveFlag::RESOLVE_BENEATH
            | ResolveFlag::RESOLVE_NO_SYMLINKS
            | ResolveFlag::RESOLVE_NO_XDEV,
        Mode::from_bits_truncate(mode & 0o7777),
    )
}

/// `statx` of an open fd (an `O_PATH` one included).
pub fn stat_fd(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    statx(fd, c"", libc::AT_EMPTY_PATH)
}

/// `statx` of `name` inside directory `dir`, without following a symlink.
pub fn stat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Stat> {
    let c =
        CString::new(name.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    statx(dir, &c, libc::AT_SYMLINK_NOFOLLOW)
}

/// Why a file was not opened for reading.
#[derive(Debug, thiserror::Error)]
pub enum ReadOpenError {
    #[error("is {0}, not a regular file; it is not opened")]
    NotRegular(&'static str),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Open for reading the file an `O_PATH` fd names, if (and only if) `fstat` says it is a regular
/// file; the reopened fd is checked to be the same inode. `O_NOATIME` where allowed.
pub fn read_only(opath: BorrowedFd<'_>) -> Result<(File, Stat), ReadOpenError> {
    let st = stat_fd(opath)?;
    if !st.is_file() {
        return Err(ReadOpenError::NotRegular(st.kind_name()));
    }
    // The kernel's own name for this open file: reopening it cannot resolve anything else.
    let me = PathBuf::from(format!("/proc/self/fd/{}", opath.as_raw_fd()));
    let base = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK;
    let fd = nix::fcntl::open(&me, base | OFlag::O_NOATIME, Mode::empty())
        .or_else(|_| nix::fcntl::open(&me, base, Mode::empty()))
        .map_err(io::Error::from)?;
    let now = stat_fd(fd.as_fd())?;
    if (now.dev, now.ino) != (st.dev, st.ino) {
        return Err(io::Error::other("the file changed while it was opened").into());
    }
    // Reads of a regular file never block; drop O_NONBLOCK so none ever returns EAGAIN.
    nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()))
        .map_err(io::Error::from)?;
    Ok((File::from(fd), now))
}

/// A file of process `pid`'s filesystem, by the path it names it with (a maps path),
/// resolved beneath its pinned root through no symlink and opened only if it is a regular
/// file: never a string join under `/proc/PID/root`, where an absolute symlink would lead
/// into our own root and a FIFO would block the open.
pub fn open_in_root_of(proc_root: &Path, pid: i32, path: &Path) -> io::Result<File> {
    let root = Root::of_pid(proc_root, pid)?;
    let opath = root.open_path(path, Follow::Never)?;
    read_only(opath.as_fd())
        .map(|(f, _)| f)
        .map_err(|e| match e {
            ReadOpenError::Io(e) => e,
            other => io::Error::other(other.to_string()),
        })
}

/// A file named by the user (or found beside one), opened for reading only if `fstat` of an
/// `O_PATH` descriptor says it is a regular file: a FIFO or device node at the name is never
/// opened (an open could block or wake a device).
pub fn open_regular(path: &Path) -> io::Result<File> {
    let opath = nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())?;
    read_only(opath.as_fd())
        .map(|(f, _)| f)
        .map_err(|e| match e {
            ReadOpenError::Io(e) => e,
            other => io::Error::other(other.to_string()),
        })
}

/// One entry of a directory listing.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: OsString,
    pub stat: Stat,
}

/// Every entry of an open directory (not `.` or `..`), each stat'ed relative to the directory's
/// fd without following symlinks. Entries that vanish meanwhile are skipped.
pub fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for_each_entry(dir, |e| out.push(e))?;
    Ok(out)
}

/// [`list_dir`] one entry at a time, holding none of them: a directory of 200,000 files is
/// not kept twice while its caller builds its own list.
pub fn for_each_entry(dir: BorrowedFd<'_>, mut each: impl FnMut(Entry)) -> io::Result<()> {
    // A fresh fd of the same directory: readdir keeps its position in the open file.
    let own = open_beneath(dir, Path::new("."), OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
    let d = nix::dir::Dir::from_fd(own)?;
    for e in d.into_iter() {
        let Ok(e) = e else { continue };
        let name = e.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let name = OsString::from_vec(name.to_vec());
        if let Ok(stat) = stat_at(dir, &name) {
            each(Entry { name, stat });
        }
    }
    Ok(())
}

fn statx(dir: BorrowedFd<'_>, name: &CStr, flags: i32) -> io::Result<Stat> {
    // SAFETY: statx writes only into the struct we own; the name is a valid C string.
    let mut sx: libc::statx = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::statx(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags | libc::AT_NO_AUTOMOUNT,
            libc::STATX_BASIC_STATS | libc::STATX_BTIME,
            &mut sx,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Stat {
        dev: libc::makedev(sx.stx_dev_major, sx.stx_dev_minor),
        ino: sx.stx_ino,
        mode: u32::from(sx.stx_mode),
        nlink: u64::from(sx.stx_nlink),
        uid: sx.stx_uid,
        gid: sx.stx_gid,
        size: sx.stx_size,
        allocated: sx.stx_blocks * 512,
        mtime: sx.stx_mtime.tv_sec,
        btime: (sx.stx_mask & libc::STATX_BTIME != 0).then_some(sx.stx_btime.tv_sec),
    })
}

/// `openat2` with `how`, or the walk where the kernel lacks it. Paths are always relative to
/// `dir` (a leading `/` means the root, as `RESOLVE_IN_ROOT` reads it).
fn resolve(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: OFlag,
    how: ResolveFlag,
) -> io::Result<OwnedFd> {
    resolve_mode(dir, path, flags, how, Mode::empty())
}

/// [`resolve`], with the mode a file made by `O_CREAT` gets.
fn resolve_mode(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: OFlag,
    how: ResolveFlag,
    mode: Mode,
) -> io::Result<OwnedFd> {
    let rel = relative(path);
    let flags = flags | OFlag::O_CLOEXEC;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        // EAGAIN: a rename raced the lookup somewhere; the kernel asks to try again.
        for _ in 0..16 {
            let open_how = OpenHow::new().flags(flags).mode(mode).resolve(how);
            match nix::fcntl::openat2(dir, rel.as_path(), open_how) {
                Err(Errno::EAGAIN) => continue,
                Err(Errno::ENOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                    break;
                }
                other => return other.map_err(io::Error::from),
            }
        }
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            return Err(io::Error::from_raw_os_error(libc::EAGAIN));
        }
    }
    walk(dir, &rel, flags, how, mode)
}

fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// The same resolution, one component at a time: each directory opened `O_PATH|O_NOFOLLOW`
/// relative to the previous one and checked with `fstat`. Symlinks are never followed (also
/// for [`Follow::InRoot`]); `..` stops at `dir` (in root) or fails (beneath).
fn walk(
    dir: BorrowedFd<'_>,
    rel: &Path,
    flags: OFlag,
    how: ResolveFlag,
    mode: Mode,
) -> io::Result<OwnedFd> {
    let beneath = how.contains(ResolveFlag::RESOLVE_BENEATH);
    let same_dev = how.contains(ResolveFlag::RESOLVE_NO_XDEV);
    let start_dev = stat_fd(dir)?.dev;
    let comps: Vec<&OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Ok(n)),
            Component::ParentDir => Some(Ok(OsStr::new(".."))),
            _ => None,
        })
        .collect::<io::Result<_>>()?;
    // The directories walked so far (for `..`); empty means `dir` itself.
    let mut stack: Vec<OwnedFd> = Vec::new();
    let dir_flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let n = comps.len();
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == n;
        if *c == OsStr::new("..") {
            if stack.pop().is_none() && beneath {
                return Err(io::Error::from_raw_os_error(libc::EXDEV));
            }
            if !last {
                continue;
            }
            let cur = stack.last().map(|f| f.as_fd()).unwrap_or(dir);
            return Ok(nix::fcntl::openat(cur, ".", flags, Mode::empty())?);
        }
        let cur = stack.last().map(|f| f.as_fd()).unwrap_or(dir);
        if last {
            let fd = nix::fcntl::openat(cur, *c, flags | OFlag::O_NOFOLLOW, mode)?;
            let st = stat_fd(fd.as_fd())?;
            if same_dev && st.dev != start_dev {
                return Err(io::Error::from_raw_os_error(libc::EXDEV));
            }
            return Ok(fd);
        }
        let fd = nix::fcntl::openat(cur, *c, dir_flags, Mode::empty())?;
        let st = stat_fd(fd.as_fd())?;
        if st.file_type() == libc::S_IFLNK {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        if !st.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        if same_dev && st.dev != start_dev {
            return Err(io::Error::from_raw_os_error(libc::EXDEV));
        }
        stack.push(fd);
    }
    // Only `.` components, or `..` back to the start.
    let cur = stack.last().map(|f| f.as_fd()).unwrap_or(dir);
    Ok(nix::fcntl::openat(cur, ".", flags, Mode::empty())?)
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new fd or -1.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this fd; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
}

/// Signal 0 through the pidfd: ESRCH once the process is gone (EPERM: alive, not ours).
fn pidfd_alive(pidfd: BorrowedFd<'_>) -> bool {
    // SAFETY: signal 0 with no siginfo only checks existence and permission.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// A message for a failed resolution, naming the path as the user gave it.
pub fn describe(path: &Path, e: &io::Error) -> String {
    let p = crate::text::escape(&path.to_string_lossy());
    match e.raw_os_error() {
        Some(libc::ELOOP) => {
            format!("{p}: the path goes through a symbolic link, which shmtool does not follow")
        }
        Some(libc::EXDEV) => format!("{p}: the path leaves the directory it must stay in"),
        Some(libc::ENOENT) => format!("{p}: no such file"),
        Some(libc::ENOTDIR) => format!("{p}: a component of the path is not a directory"),
        Some(libc::ESRCH) => "the process whose root this is has exited".to_string(),
        _ => format!("{p}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A tree: root/{dev/shm/obj, etc/secret, linkdir -> /, rel -> ../../.., d/}.
    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("dev/shm/d")).unwrap();
        std::fs::write(r.join("dev/shm/obj"), b"x").unwrap();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::write(r.join("etc/secret"), b"s").unwrap();
        symlink("/", r.join("dev/shm/abs")).unwrap();
        symlink("../../..", r.join("dev/shm/rel")).unwrap();
        symlink("obj", r.join("dev/shm/filelink")).unwrap();
        t
    }

    /// Both resolvers, one after the other (the walk is forced by a flag, so serialise).
    fn both(f: impl Fn()) {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        NO_OPENAT2.store(false, Ordering::Relaxed);
        f();
        NO_OPENAT2.store(true, Ordering::Relaxed);
        f();
        NO_OPENAT2.store(false, Ordering::Relaxed);
    }

    fn errno(r: io::Result<OwnedFd>) -> i32 {
        r.map(|_| ()).unwrap_err().raw_os_error().unwrap()
    }

    #[test]
    fn plain_paths_resolve_in_root() {
        let t = tree();
        let root = Root::at(t.path()).unwrap();
        both(|| {
            let fd = root
                .open_path(Path::new("/dev/shm/obj"), Follow::Never)
                .unwrap();
            assert!(stat_fd(fd.as_fd()).unwrap().is_file());
            // `..` above the root stops at the root.
            let fd = root
                .open_path(Path::new("/../../etc/secret"), Follow::Never)
                .unwrap();
            assert!(stat_fd(fd.as_fd()).unwrap().is_file());
        });
    }

    #[test]
    fn symlinks_in_the_middle_are_refused() {
        let t = tree();
        let root = Root::at(t.path()).unwrap();
        both(|| {
            for p in ["/dev/shm/abs/etc/secret", "/dev/shm/rel/etc/secret"] {
                assert_eq!(
                    errno(root.open_path(Path::new(p), Follow::Never)),
                    libc::ELOOP,
                    "{p}"
                );
                assert!(
                    root.open_dir(Path::new(p).parent().unwrap()).is_err(),
                    "{p}"
                );
            }
        });
    }

    #[test]
    fn a_trailing_symlink_is_the_link_itself_and_never_read() {
        let t = tree();
        let root = Root::at(t.path()).unwrap();
        both(|| {
            let fd = root.open_path(Path::new("/dev/shm/filelink"), Follow::Never);
            // openat2 returns the link (O_PATH|O_NOFOLLOW), the walk too.
            let fd = fd.unwrap();
            let st = stat_fd(fd.as_fd()).unwrap();
            assert_eq!(st.file_type(), libc::S_IFLNK);
            assert!(matches!(
                read_only(fd.as_fd()),
                Err(ReadOpenError::NotRegular(_))
            ));
        });
    }

    #[test]
    fn in_root_links_stay_inside() {
        let t = tree();
        let root = Root::at(t.path()).unwrap();
        // openat2 only: the walk refuses links.
        let fd = root
            .open_path(Path::new("/dev/shm/abs/etc/secret"), Follow::InRoot)
            .unwrap();
        let inside = std::fs::metadata(t.path().join("etc/secret")).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(stat_fd(fd.as_fd()).unwrap().ino, inside.ino());
    }

    #[test]
    fn beneath_refuses_dotdot_and_links() {
        let t = tree();
        let shm = Root::at(&t.path().join("dev/shm")).unwrap();
        both(|| {
            let flags = OFlag::O_PATH;
            assert!(open_beneath(shm.fd(), Path::new("obj"), flags).is_ok());
            assert!(open_beneath(shm.fd(), Path::new("../../etc/secret"), flags).is_err());
            assert!(open_beneath(shm.fd(), Path::new("abs/etc/secret"), flags).is_err());
            assert!(open_beneath(shm.fd(), Path::new("d"), flags | OFlag::O_DIRECTORY).is_ok());
        });
    }

    #[test]
    fn create_beneath_makes_only_new_plain_names() {
        let t = tree();
        let shm = Root::at(&t.path().join("dev/shm")).unwrap();
        both(|| {
            let fd = create_beneath(shm.fd(), OsStr::new("new"), 0o600).unwrap();
            assert!(stat_fd(fd.as_fd()).unwrap().is_file());
            std::fs::remove_file(t.path().join("dev/shm/new")).unwrap();
            // A planted link is never written through, wherever it points.
            for name in ["filelink", "abs", "obj", "d"] {
                assert_eq!(
                    errno(create_beneath(shm.fd(), OsStr::new(name), 0o600)),
                    libc::EEXIST,
                    "{name}"
                );
            }
            for bad in ["", ".", "..", "../x", "d/x", "/x"] {
                assert_eq!(
                    errno(create_beneath(shm.fd(), OsStr::new(bad), 0o600)),
                    libc::EINVAL,
                    "{bad:?}"
                );
            }
        });
        assert_eq!(std::fs::read(t.path().join("dev/shm/obj")).unwrap(), b"x");
        assert!(!t.path().join("x").exists() && !t.path().join("dev/shm/d/x").exists());
    }

    #[test]
    fn fifos_are_never_opened_for_reading() {
        let t = tree();
        let fifo = t.path().join("dev/shm/fifo");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        let root = Root::at(t.path()).unwrap();
        let fd = root
            .open_path(Path::new("/dev/shm/fifo"), Follow::Never)
            .unwrap();
        match read_only(fd.as_fd()) {
            Err(ReadOpenError::NotRegular(k)) => assert_eq!(k, "a FIFO"),
            other => panic!("{other:?}"),
        }
        let fd = root
            .open_path(Path::new("/dev/shm/obj"), Follow::Never)
            .unwrap();
        let (mut f, st) = read_only(fd.as_fd()).unwrap();
        assert_eq!(st.size, 1);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut f, &mut s).unwrap();
        assert_eq!(s, "x");
    }

    #[test]
    fn open_regular_never_opens_a_fifo() {
        let t = tree();
        let fifo = t.path().join("dev/shm/fifo2");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        // A blocking open of a FIFO with no writer would hang here.
        assert!(open_regular(&fifo).is_err());
        assert!(open_regular(&t.path().join("dev/shm/obj")).is_ok());
    }

    #[test]
    fn listing_names_links_as_links() {
        let t = tree();
        let shm = Root::at(&t.path().join("dev/shm")).unwrap();
        let dir = open_beneath(
            shm.fd(),
            Path::new("."),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        )
        .unwrap();
        let mut got: Vec<(String, u32)> = list_dir(dir.as_fd())
            .unwrap()
            .into_iter()
            .map(|e| (e.name.to_string_lossy().into_owned(), e.stat.file_type()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("abs".into(), libc::S_IFLNK),
                ("d".into(), libc::S_IFDIR),
                ("filelink".into(), libc::S_IFLNK),
                ("obj".into(), libc::S_IFREG),
                ("rel".into(), libc::S_IFLNK),
            ]
        );
    }

    #[test]
    fn a_process_root_is_pinned() {
        let me = std::process::id() as i32;
        let root = Root::of_pid(Path::new("/proc"), me).unwrap();
        assert_eq!(root.pinned().map(|(p, _)| p), Some(me));
        assert!(root.alive());
        let gone = Root::of_pid(Path::new("/proc"), i32::MAX).unwrap_err();
        assert_eq!(gone.raw_os_error(), Some(libc::ESRCH));
    }
}
