//! The only place shmtool changes the system: IPC_RMID on System V segments and unlinking POSIX
//! objects, each guarded so that an id or name reused since it was listed is left alone.
//!
//! shmids are recycled by the kernel and /dev/shm names by programs, so "remove 32822" must
//! mean "remove the segment I was shown as 32822". Each removal first re-reads the object
//! (IPC_STAT, or fstatat without following symlinks) and compares what identifies it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path};

use nix::fcntl::OFlag;

use super::root::{self, Stat};

/// What identifies a System V segment across time: shmids are reused, but not together with
/// the same key, creator pid and change time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysvIdentity {
    pub shmid: i32,
    pub key: u32,
    pub cpid: i32,
    pub ctime: i64,
}

/// The segment as IPC_STAT sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysvNow {
    pub identity: SysvIdentity,
    pub nattch: u64,
    pub size: u64,
    pub uid: u32,
    /// Last attach/detach: pid and times (0 when never).
    pub lpid: i32,
    pub atime: i64,
    pub dtime: i64,
}

/// IPC_STAT one segment. `ENOENT`/`EINVAL` (gone) and `EACCES` come back as the errno.
pub fn sysv_stat(shmid: i32) -> nix::Result<SysvNow> {
    // nix has no System V shm wrappers; libc's shmctl it is.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes only into the shmid_ds we own.
    let r = unsafe { libc::shmctl(shmid, libc::IPC_STAT, &mut ds) };
    if r != 0 {
        return Err(nix::Error::last());
    }
    Ok(SysvNow {
        identity: SysvIdentity {
            shmid,
            key: ds.shm_perm.__key as u32,
            cpid: ds.shm_cpid,
            ctime: ds.shm_ctime,
        },
        nattch: ds.shm_nattch as u64,
        size: ds.shm_segsz as u64,
        uid: ds.shm_perm.uid,
        lpid: ds.shm_lpid,
        atime: ds.shm_atime,
        dtime: ds.shm_dtime,
    })
}

/// Why a segment was not removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("it is gone already")]
    Gone,
    #[error("shmid {shmid} now names a different segment ({what} changed since it was listed)")]
    Reused { shmid: i32, what: String },
    #[error("it was attached ({nattch} attachment(s)) since it was listed")]
    AttachedSince { nattch: u64 },
    #[error("permission denied: only its owner, its creator or root may remove it")]
    NotPermitted,
    #[error("it was attached or detached since it was listed (last user pid {lpid})")]
    UsedSince { lpid: i32 },
    #[error("it was mapped or opened since it was listed")]
    HeldNow { pids: Vec<i32> },
    #[error("processes that could hold it cannot be read")]
    Unseen { pids: Vec<i32> },
    #[error("backup failed: {0}")]
    Backup(String),
    #[error("{0}")]
    Os(String),
}

/// The reuse guard: whether the segment seen now is still the one that was listed. Pure, so that
/// a test can hand it a "now" as if the id had been reused.
pub fn check_unchanged(listed: &SysvIdentity, now: &SysvIdentity) -> Result<(), Refusal> {
    let mut changed = Vec::new();
    if listed.key != now.key {
        changed.push("key");
    }
    if listed.cpid != now.cpid {
        changed.push("creator pid");
    }
    if listed.ctime != now.ctime {
        changed.push("change time");
    }
    if changed.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Reused {
            shmid: listed.shmid,
            what: changed.join(", "),
        })
    }
}

fn refusal_from_errno(e: nix::Error) -> Refusal {
    match e {
        nix::Error::EINVAL | nix::Error::EIDRM | nix::Error::ENOENT => Refusal::Gone,
        nix::Error::EPERM | nix::Error::EACCES => Refusal::NotPermitted,
        other => Refusal::Os(other.desc().to_string()),
    }
}

/// Remove a listed segment: re-check it with IPC_STAT, then IPC_RMID. Unless `allow_attached`,
/// a segment that has gained an attacher since it was listed is left alone too. Returns the
/// segment as it was just before: with attachers, it is only marked for removal.
pub fn remove_sysv(listed: &SysvIdentity, allow_attached: bool) -> Result<SysvNow, Refusal> {
    remove_sysv_with(listed, allow_attached, |_| Ok(()))
}

/// [`remove_sysv`], with `last` run on the segment as IPC_STAT sees it right before IPC_RMID
/// (further checks, the backup); an error from it leaves the segment alone.
pub fn remove_sysv_with(
    listed: &SysvIdentity,
    allow_attached: bool,
    last: impl FnOnce(&SysvNow) -> Result<(), Refusal>,
) -> Result<SysvNow, Refusal> {
    let now = sysv_stat(listed.shmid).map_err(refusal_from_errno)?;
    check_unchanged(listed, &now.identity)?;
    if !allow_attached && now.nattch > 0 {
        return Err(Refusal::AttachedSince { nattch: now.nattch });
    }
    last(&now)?;
    // The checks and IPC_RMID are two system calls: an attach in the microseconds between
    // them survives (the segment is then only marked, and freed when that process detaches).
    // SAFETY: IPC_RMID takes no buffer.
    let r = unsafe { libc::shmctl(listed.shmid, libc::IPC_RMID, std::ptr::null_mut()) };
    if r != 0 {
        return Err(refusal_from_errno(nix::Error::last()));
    }
    Ok(now)
}

/// What identifies a file under /dev/shm: its path relative to the directory, device and inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosixIdentity {
    /// Relative to the shm directory, without `..` or leading `/`.
    pub rel: std::path::PathBuf,
    pub dev: u64,
    pub ino: u64,
}

/// Unlink a listed object beneath the open directory `dir` if that name still has the same
/// device and inode. Every component is resolved beneath `dir` through no symlink, no `..` and
/// no other mount ([`root::open_beneath`]), so nothing outside `dir` can be reached whatever the
/// name holds. Returns the object as it was just before (its link count says whether this was
/// the last name; its allocated bytes, what that frees).
pub fn remove_posix(dir: BorrowedFd<'_>, listed: &PosixIdentity) -> Result<Stat, Refusal> {
    let (fd, last, st) = open_listed(dir, listed)?;
    nix::unistd::unlinkat(
        fd.as_fd(),
        last.as_os_str(),
        nix::unistd::UnlinkatFlags::NoRemoveDir,
    )
    .map_err(|e| posix_errno(listed, e))?;
    Ok(st)
}

fn posix_errno(listed: &PosixIdentity, e: nix::Error) -> Refusal {
    match e {
        nix::Error::ENOENT => Refusal::Gone,
        nix::Error::EPERM | nix::Error::EACCES => Refusal::NotPermitted,
        nix::Error::ELOOP | nix::Error::EXDEV => Refusal::Os(format!(
            "{} is reached through a symbolic link or another mount now; not following it",
            listed.rel.display()
        )),
        other => Refusal::Os(other.desc().to_string()),
    }
}

/// Open the directory a listed object is in, beneath `dir`, and check that its name still has
/// the listed device and inode: (that directory, the name, the object's stat).
fn open_listed(
    dir: BorrowedFd<'_>,
    listed: &PosixIdentity,
) -> Result<(OwnedFd, std::ffi::OsString, Stat), Refusal> {
    let errno = |e: nix::Error| match e {
        nix::Error::ENOENT => Refusal::Gone,
        nix::Error::EPERM | nix::Error::EACCES => Refusal::NotPermitted,
        nix::Error::ELOOP | nix::Error::EXDEV => Refusal::Os(format!(
            "{} is reached through a symbolic link or another mount now; not following it",
            listed.rel.display()
        )),
        other => Refusal::Os(other.desc().to_string()),
    };
    let io_errno =
        |e: std::io::Error| errno(nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO)));
    let plain = listed
        .rel
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let last = listed.rel.file_name().filter(|_| plain).ok_or_else(|| {
        Refusal::Os(format!(
            "{} is not a plain name inside the shm directory",
            listed.rel.display()
        ))
    })?;
    let parent = listed.rel.parent().unwrap_or(Path::new(""));
    let fd: OwnedFd =
        root::open_beneath(dir, parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY).map_err(io_errno)?;
    let st = root::stat_at(fd.as_fd(), last).map_err(io_errno)?;
    if (st.dev, st.ino) != (listed.dev, listed.ino) {
        return Err(Refusal::Os(format!(
            "{} now names a different file than the one listed",
            listed.rel.display()
        )));
    }
    Ok((fd, last.to_os_string(), st))
}

/// Unlink a listed object with a last look in between: the name is first renamed (atomically,
/// never over another file) to a hidden name in the same directory, so that nobody can open
/// it by name any more; then `last` looks for mappers and openers (anyone who opened it
/// before the rename is visible now) and may save a backup, reading it through the directory
/// fd and the hidden name. If `last` refuses, the name is put back; otherwise the hidden name is
/// unlinked.
pub fn remove_posix_with(
    dir: BorrowedFd<'_>,
    listed: &PosixIdentity,
    last: impl FnOnce(&OwnedFd, &std::ffi::OsStr) -> Result<(), Refusal>,
) -> Result<Stat, Refusal> {
    hide_posix(dir, listed)?.finish(last)
}

/// A listed object renamed to a hidden name ([`hide_posix`]), waiting for its last look. Several
/// can wait at once, so that one walk of /proc serves as the last look of them all.
#[derive(Debug)]
pub struct HiddenPosix {
    fd: OwnedFd,
    name: std::ffi::OsString,
    hidden: std::ffi::OsString,
    st: Stat,
    listed: PosixIdentity,
}

/// The first half of [`remove_posix_with`]: hide the listed object's name.
pub fn hide_posix(dir: BorrowedFd<'_>, listed: &PosixIdentity) -> Result<HiddenPosix, Refusal> {
    let (fd, name, st) = open_listed(dir, listed)?;
    let hidden = std::ffi::OsString::from(format!(
        ".shmtool-removing.{}.{}",
        std::process::id(),
        listed.ino
    ));
    rename_noreplace(&fd, &name, &hidden).map_err(|e| posix_errno(listed, e))?;
    crate::hooks::pause_point("rm:hidden");
    Ok(HiddenPosix {
        fd,
        name,
        hidden,
        st,
        listed: listed.clone(),
    })
}

impl HiddenPosix {
    /// The second half: `last` looks (see [`remove_posix_with`]); then the hidden name is
    /// unlinked, or put back if `last` refused.
    pub fn finish(
        self,
        last: impl FnOnce(&OwnedFd, &std::ffi::OsStr) -> Result<(), Refusal>,
    ) -> Result<Stat, Refusal> {
        let HiddenPosix {
            fd,
            name,
            hidden,
            st,
            listed,
        } = self;
        let errno = |e: nix::Error| posix_errno(&listed, e);
        // The hidden name must still be the listed file (nothing can replace it: the rename
        // does not overwrite, and the name is ours).
        let verdict = match root::stat_at(fd.as_fd(), &hidden) {
            Ok(now) if (now.dev, now.ino) == (listed.dev, listed.ino) => last(&fd, &hidden),
            Ok(_) => Err(Refusal::Os("the file changed under its hidden name".into())),
            Err(e) => Err(Refusal::Os(e.to_string())),
        };
        match verdict {
            Ok(()) => nix::unistd::unlinkat(
                fd.as_fd(),
                hidden.as_os_str(),
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            )
            .map(|()| st)
            .map_err(errno),
            Err(refusal) => match rename_noreplace(&fd, &hidden, &name) {
                Ok(()) => Err(refusal),
                Err(_) => Err(Refusal::Os(format!(
                    "{refusal}; and its name was taken meanwhile, so it is kept as {}",
                    hidden.to_string_lossy()
                ))),
            },
        }
    }
}

/// renameat2(RENAME_NOREPLACE) within one directory.
fn rename_noreplace(
    dir: &OwnedFd,
    from: &std::ffi::OsStr,
    to: &std::ffi::OsStr,
) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(from.as_bytes()).map_err(|_| nix::Error::EINVAL)?;
    let to = std::ffi::CString::new(to.as_bytes()).map_err(|_| nix::Error::EINVAL)?;
    // SAFETY: both names are NUL-terminated and live across the call.
    let r = unsafe {
        libc::renameat2(
            dir.as_raw_fd(),
            from.as_ptr(),
            dir.as_raw_fd(),
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(nix::Error::last())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(key: u32, cpid: i32, ctime: i64) -> SysvIdentity {
        SysvIdentity {
            shmid: 7,
            key,
            cpid,
            ctime,
        }
    }

    #[test]
    fn guard_accepts_the_same_segment() {
        assert_eq!(check_unchanged(&id(1, 2, 3), &id(1, 2, 3)), Ok(()));
    }

    #[test]
    fn guard_names_what_changed() {
        let e = check_unchanged(&id(1, 2, 3), &id(1, 9, 4)).unwrap_err();
        assert_eq!(
            e,
            Refusal::Reused {
                shmid: 7,
                what: "creator pid, change time".into()
            }
        );
        assert!(check_unchanged(&id(1, 2, 3), &id(5, 2, 3)).is_err());
    }
}
