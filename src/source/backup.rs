//! Backups `rm --backup DIR` writes before removing an object, and what `restore` reads back.
//!
//! A backup is one file: the line `shmtool-backup 1`, one line of JSON metadata ([`Meta`]), then
//! the object's bytes, exactly `size` of them. Files are created 0600 with O_EXCL|O_NOFOLLOW, so
//! a backup never overwrites anything and never follows a planted link.

use crate::model::Kind;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const MAGIC: &str = "shmtool-backup 1";

/// What a backup says about the object it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub kind: Kind,
    /// POSIX objects and semaphores: the name inside /dev/shm.
    pub name: Option<String>,
    /// System V: the key ("0x%08x"; 0x00000000 for IPC_PRIVATE) and the shmid it had.
    pub key: Option<String>,
    pub shmid: Option<i64>,
    pub size: u64,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Octal mode bits, as `ls` shows them.
    pub perms: Option<String>,
    /// When it was saved, seconds since the epoch.
    pub saved_at: i64,
}

impl Meta {
    pub fn mode(&self) -> u32 {
        self.perms
            .as_deref()
            .and_then(|p| u32::from_str_radix(p, 8).ok())
            .unwrap_or(0o600)
            & 0o777
    }
}

/// A file name for a backup: kind, then name or key and id, made safe for a directory.
fn file_name(meta: &Meta) -> String {
    let what = match (&meta.name, &meta.key, meta.shmid) {
        (Some(n), _, _) => n.clone(),
        (None, Some(k), Some(id)) => format!("{k}-{id}"),
        _ => "object".into(),
    };
    let safe: String = what
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{}.shmbak", meta.kind, safe.trim_start_matches('.'))
}

/// Write a backup of `size` bytes read from `read_at` into `dir`; returns its path. Fails
/// (leaving no partial file) if the bytes cannot all be read.
pub fn write(
    dir: &Path,
    meta: &Meta,
    mut read_at: impl FnMut(u64, &mut [u8]) -> io::Result<usize>,
) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let base = file_name(meta);
    let mut path = dir.join(&base);
    let mut n = 1;
    let file = loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => break f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => {
                n += 1;
                path = dir.join(format!("{}.{n}", base));
            }
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        let mut w = io::BufWriter::new(&file);
        writeln!(w, "{MAGIC}")?;
        serde_json::to_writer(&mut w, meta)?;
        writeln!(w)?;
        let mut buf = vec![0u8; crate::attach::reader::CHUNK.min(meta.size.max(1) as usize)];
        let mut pos = 0u64;
        while pos < meta.size {
            let want = ((meta.size - pos) as usize).min(buf.len());
            let got = read_at(pos, &mut buf[..want])?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("only {pos} of {} bytes could be read", meta.size),
                ));
            }
            w.write_all(&buf[..got])?;
            pos += got as u64;
        }
        w.flush()?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// Read a backup: its metadata, and a reader positioned at its bytes.
pub fn open(path: &Path) -> io::Result<(Meta, BufReader<File>)> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    let f = File::open(path)?;
    let mut r = BufReader::new(f);
    let mut line = String::new();
    r.by_ref().take(64).read_line(&mut line)?;
    if line.trim_end() != MAGIC {
        return Err(bad("not a shmtool backup (no 'shmtool-backup 1' header)"));
    }
    line.clear();
    r.by_ref().take(64 * 1024).read_line(&mut line)?;
    let meta: Meta = serde_json::from_str(line.trim_end())
        .map_err(|e| bad(&format!("bad metadata line: {e}")))?;
    Ok((meta, r))
}

/// Read bytes of a file opened from a directory fd (the hidden name of an object being removed).
pub fn file_reader(dir: &OwnedFd, name: &std::ffi::OsStr) -> io::Result<File> {
    use nix::fcntl::OFlag;
    let fd = nix::fcntl::openat(
        dir.as_fd(),
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(io::Error::from)?;
    let f = File::from(fd);
    if !f.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let meta = Meta {
            kind: Kind::Posix,
            name: Some("../evil/name".into()),
            key: None,
            shmid: None,
            size: data.len() as u64,
            uid: Some(0),
            gid: Some(0),
            perms: Some("640".into()),
            saved_at: 1,
        };
        let path = write(dir.path(), &meta, |pos, buf| {
            let p = pos as usize;
            let n = buf.len().min(data.len() - p);
            buf[..n].copy_from_slice(&data[p..p + n]);
            Ok(n)
        })
        .unwrap();
        assert_eq!(path.parent().unwrap(), dir.path());
        assert!(!path.file_name().unwrap().to_string_lossy().contains('/'));
        let (m, mut r) = open(&path).unwrap();
        assert_eq!(m, meta);
        assert_eq!(m.mode(), 0o640);
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        // A second backup of the same name does not overwrite the first.
        let again = write(dir.path(), &meta, |pos, buf| {
            let p = pos as usize;
            let n = buf.len().min(data.len() - p);
            buf[..n].copy_from_slice(&data[p..p + n]);
            Ok(n)
        })
        .unwrap();
        assert_ne!(again, path);
    }
}
