//! `shmtool restore FILE`: bring back an object `rm --backup DIR` saved: a POSIX object or
//! semaphore under its name in the shm directory, a System V segment under its key (with a new
//! shmid; IPC_PRIVATE ones get a new private segment). Nothing existing is ever overwritten.

use super::{Ctx, Run};
use crate::cli::RestoreArgs;
use crate::error::Error;
use crate::model::Kind;
use crate::source::backup::{self, Meta};
use crate::source::root;
use serde::Serialize;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

/// What `restore --json` prints.
#[derive(Debug, Serialize)]
struct Restored {
    kind: Kind,
    /// The new shmid (System V), named as `ls` names it.
    id: Option<i64>,
    path: Option<String>,
    key: Option<String>,
    /// Deprecated: the same as `id`.
    shmid: Option<i64>,
    size: u64,
}

impl Run for RestoreArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let (meta, mut data) = backup::open(&self.file).map_err(|e| {
            Error::BadInput(format!("cannot read backup {}: {e}", self.file.display()))
        })?;
        let restored = match meta.kind {
            Kind::Sysv => restore_sysv(&meta, &mut data)?,
            Kind::Posix | Kind::Psem => restore_file(ctx, &meta, &mut data)?,
            other => {
                return Err(Error::BadInput(format!("a {other} object cannot be restored")).into())
            }
        };
        if self.json {
            return crate::render::write_json(out, &restored);
        }
        match (&restored.path, restored.shmid) {
            (Some(p), _) => writeln!(out, "restored {p} ({} bytes)", restored.size)?,
            (None, Some(id)) => writeln!(
                out,
                "restored key {} as shmid {id} ({} bytes)",
                restored.key.as_deref().unwrap_or("?"),
                restored.size
            )?,
            _ => {}
        }
        Ok(())
    }
}

/// Copy exactly `size` bytes from the backup into `write`.
fn copy_bytes(
    meta: &Meta,
    data: &mut dyn Read,
    mut write: impl FnMut(u64, &[u8]) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut buf = vec![0u8; crate::attach::reader::CHUNK.min(meta.size.max(1) as usize)];
    let mut pos = 0u64;
    while pos < meta.size {
        let want = ((meta.size - pos) as usize).min(buf.len());
        let n = data.read(&mut buf[..want])?;
        if n == 0 {
            return Err(Error::BadInput(format!(
                "the backup is truncated: {pos} of {} bytes",
                meta.size
            ))
            .into());
        }
        write(pos, &buf[..n])?;
        pos += n as u64;
    }
    Ok(())
}

fn restore_file(ctx: &Ctx, meta: &Meta, data: &mut dyn Read) -> anyhow::Result<Restored> {
    let name = meta.name.as_deref().unwrap_or("");
    let name = super::rm::posix_name(name)?;
    let path = ctx.sys.shm_dir.join(name);
    let shown = || crate::text::escape(&path.to_string_lossy());
    let dir = ctx
        .sys
        .open_shm_dir()
        .map_err(|e| Error::BadInput(format!("cannot open {}: {e}", ctx.sys.shm_dir.display())))?;
    // Made beneath the directory's fd, O_EXCL|O_NOFOLLOW: an existing object, or a symlink
    // planted at the name, is never replaced or written through.
    let fd = root::create_beneath(dir.as_fd(), OsStr::new(name), 0o600).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::EEXIST) => match root::stat_at(dir.as_fd(), OsStr::new(name)) {
                Ok(st) if !st.is_file() => format!(
                    "{} is there already and is {} (restore never writes through one)",
                    shown(),
                    st.kind_name()
                ),
                _ => format!(
                    "{} exists already (restore never replaces an existing object)",
                    shown()
                ),
            },
            _ => format!("cannot create {}: {e}", shown()),
        };
        Error::BadInput(why)
    })?;
    let file = std::fs::File::from(fd);
    let result = (|| -> anyhow::Result<()> {
        file.set_len(meta.size)?;
        use std::os::unix::fs::FileExt;
        copy_bytes(meta, data, |pos, b| file.write_all_at(b, pos))?;
        if nix::unistd::geteuid().is_root() {
            nix::unistd::fchown(
                &file,
                meta.uid.map(nix::unistd::Uid::from_raw),
                meta.gid.map(nix::unistd::Gid::from_raw),
            )?;
        }
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(meta.mode()))?;
        Ok(())
    })();
    if let Err(e) = result {
        unlink_own(dir.as_fd(), OsStr::new(name), &file);
        return Err(e);
    }
    Ok(Restored {
        kind: meta.kind,
        path: Some(path.display().to_string()),
        key: None,
        id: None,
        shmid: None,
        size: meta.size,
    })
}

/// Take back a half-restored file: unlink `name` only while it is still the file we made.
fn unlink_own(dir: BorrowedFd<'_>, name: &OsStr, file: &std::fs::File) {
    let ours = root::stat_fd(file.as_fd()).ok().map(|s| (s.dev, s.ino));
    let there = root::stat_at(dir, name).ok().map(|s| (s.dev, s.ino));
    if ours.is_some() && ours == there {
        let _ = nix::unistd::unlinkat(dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir);
    }
}

fn restore_sysv(meta: &Meta, data: &mut dyn Read) -> anyhow::Result<Restored> {
    let key = match meta.key.as_deref() {
        Some(k) => crate::units::parse_key(k).map_err(Error::BadInput)?,
        None => 0,
    };
    let size = usize::try_from(meta.size)?;
    // SAFETY: shmget takes no pointers.
    let id = unsafe {
        libc::shmget(
            key as libc::key_t,
            size,
            libc::IPC_CREAT | libc::IPC_EXCL | meta.mode() as i32,
        )
    };
    if id < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::BadInput(format!(
            "cannot create a segment with key {}: {e}{}",
            crate::model::key_string(key),
            if e.raw_os_error() == Some(libc::EEXIST) {
                " (a segment has that key now; restore never replaces one)"
            } else {
                ""
            }
        ))
        .into());
    }
    let result = (|| -> anyhow::Result<()> {
        // SAFETY: a fresh segment of `size` bytes, attached read-write by us alone; we write
        // only inside it and detach before returning.
        let p = unsafe { libc::shmat(id, std::ptr::null(), 0) };
        if p as isize == -1 {
            return Err(std::io::Error::last_os_error().into());
        }
        let base = p as *mut u8;
        let copied = copy_bytes(meta, data, |pos, b| {
            // SAFETY: pos + b.len() <= size (copy_bytes never goes past meta.size).
            unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), base.add(pos as usize), b.len()) };
            Ok(())
        });
        // SAFETY: p came from shmat above.
        unsafe { libc::shmdt(p) };
        copied?;
        if nix::unistd::geteuid().is_root() {
            let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
            // SAFETY: IPC_STAT/IPC_SET read and write only the shmid_ds we own.
            unsafe {
                if libc::shmctl(id, libc::IPC_STAT, &mut ds) == 0 {
                    ds.shm_perm.uid = meta.uid.unwrap_or(ds.shm_perm.uid);
                    ds.shm_perm.gid = meta.gid.unwrap_or(ds.shm_perm.gid);
                    libc::shmctl(id, libc::IPC_SET, &mut ds);
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        // SAFETY: removing the segment we just made.
        unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
        return Err(e);
    }
    Ok(Restored {
        kind: Kind::Sysv,
        path: None,
        key: Some(crate::model::key_string(key)),
        id: Some(id as i64),
        shmid: Some(id as i64),
        size: meta.size,
    })
}
