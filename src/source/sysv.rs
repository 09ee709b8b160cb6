//! Parser for `/proc/sysvipc/shm`.
//!
//! procfs 0.18 has one, but it stores uid/gid as u16 (so a single segment owned by a uid of
//! 65536 or more, as in any rootless container, makes the whole parse fail) and reads the octal
//! perms column as decimal. This one keeps every column at its kernel width.

use crate::model::{Mode, Status};
use std::io::BufRead;

/// The DEST bit in `perms`: marked for removal, freed when the last attacher detaches.
pub const SHM_DEST: u32 = 0o1000;
/// The LOCKED bit in `perms`: SHM_LOCK, pages pinned in memory.
pub const SHM_LOCKED: u32 = 0o2000;

/// One System V segment as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShmRecord {
    /// The key's 32 bits (the kernel prints key_t signed).
    pub key: u32,
    pub shmid: i64,
    /// Mode with the DEST and LOCKED bits, as printed (octal) by the kernel.
    pub mode: u32,
    pub size: u64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    /// Resident bytes (kernels since 4.x print it; older ones do not).
    pub rss: Option<u64>,
    pub swap: Option<u64>,
}

impl ShmRecord {
    pub fn is_dest(&self) -> bool {
        self.mode & SHM_DEST != 0
    }

    pub fn is_locked(&self) -> bool {
        self.mode & SHM_LOCKED != 0
    }

    /// Permission bits as ipcs prints them (`644`).
    pub fn perms(&self) -> Mode {
        Mode(self.mode & 0o777)
    }

    /// `dest`, `locked`, as the contract's `status` array.
    pub fn status(&self) -> Vec<Status> {
        let mut s = Vec::new();
        if self.is_dest() {
            s.push(Status::Dest);
        }
        if self.is_locked() {
            s.push(Status::Locked);
        }
        s
    }
}

/// Why a line could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("/proc/sysvipc/shm line {line}: {what}")]
pub struct ParseError {
    pub line: usize,
    pub what: String,
}

fn num<T: std::str::FromStr>(
    fields: &[&str],
    i: usize,
    name: &str,
    line: usize,
) -> Result<T, ParseError> {
    fields
        .get(i)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| ParseError {
            line,
            what: format!("bad {name} column"),
        })
}

/// Parse one data line (line numbers count from 1 for messages).
pub fn parse_line(text: &str, line: usize) -> Result<ShmRecord, ParseError> {
    let f: Vec<&str> = text.split_ascii_whitespace().collect();
    if f.len() < 14 {
        return Err(ParseError {
            line,
            what: format!("expected at least 14 columns, found {}", f.len()),
        });
    }
    let key: i64 = num(&f, 0, "key", line)?;
    let mode = u32::from_str_radix(f[2], 8).map_err(|_| ParseError {
        line,
        what: "bad perms column".into(),
    })?;
    Ok(ShmRecord {
        // key_t is an int printed with %d; keep its 32 bits.
        key: key as i32 as u32,
        shmid: num(&f, 1, "shmid", line)?,
        mode,
        size: num(&f, 3, "size", line)?,
        cpid: num(&f, 4, "cpid", line)?,
        lpid: num(&f, 5, "lpid", line)?,
        nattch: num(&f, 6, "nattch", line)?,
        uid: num(&f, 7, "uid", line)?,
        gid: num(&f, 8, "gid", line)?,
        cuid: num(&f, 9, "cuid", line)?,
        cgid: num(&f, 10, "cgid", line)?,
        atime: num(&f, 11, "atime", line)?,
        dtime: num(&f, 12, "dtime", line)?,
        ctime: num(&f, 13, "ctime", line)?,
        rss: f.get(14).and_then(|v| v.parse().ok()),
        swap: f.get(15).and_then(|v| v.parse().ok()),
    })
}

/// Parse the whole file. The header line is recognised by its `key` column and skipped; a
/// malformed data line is an error that names it, since silently dropping a segment would make
/// `ls` lie.
pub fn parse<R: BufRead>(reader: R) -> std::io::Result<Vec<ShmRecord>> {
    let mut out = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with("key") {
            continue;
        }
        let rec = parse_line(trimmed, i + 1)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        out.push(rec);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured on 6.18 with: one plain segment, one owned by uid 165536, one locked and marked
    // for removal with a negative key.
    const CAPTURED: &str = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
1864423031      32822   644                 65536  4242  4250      2     0     0     0     0 1763800000 1763800100 1763799000                  8192                     0
         0      32823  1600                  4096   100   101      1 165536 165536 165536 165536          0          0 1763799001                     0                  4096
-1862270976         7  3666               1048576     1     1      0  1000  1000  1000  1000 1763800200 1763800300 1763800400               1048576                     0
";

    #[test]
    fn parses_captured_text() {
        let recs = parse(CAPTURED.as_bytes()).unwrap();
        assert_eq!(recs.len(), 3);
        let a = &recs[0];
        assert_eq!(a.key, 0x6f20d677);
        assert_eq!(a.shmid, 32822);
        assert_eq!(a.perms().to_string(), "644");
        assert_eq!(a.size, 65536);
        assert_eq!((a.cpid, a.lpid, a.nattch), (4242, 4250, 2));
        assert_eq!(
            (a.atime, a.dtime, a.ctime),
            (1763800000, 1763800100, 1763799000)
        );
        assert_eq!((a.rss, a.swap), (Some(8192), Some(0)));
        assert!(a.status().is_empty());
    }

    #[test]
    fn big_uids_and_status_bits() {
        let recs = parse(CAPTURED.as_bytes()).unwrap();
        let b = &recs[1];
        assert_eq!(b.uid, 165536);
        assert_eq!(b.perms().to_string(), "600");
        assert_eq!(b.status(), vec![Status::Dest]);
        let c = &recs[2];
        assert_eq!(c.key, 0x9100_0000);
        assert_eq!(c.status(), vec![Status::Dest, Status::Locked]);
        assert_eq!(c.perms().to_string(), "666");
    }

    #[test]
    fn old_kernels_without_rss() {
        let text = "key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime\n\
                    1 2 600 4096 3 4 0 0 0 0 0 0 0 5\n";
        let recs = parse(text.as_bytes()).unwrap();
        assert_eq!(recs[0].rss, None);
        assert_eq!(recs[0].ctime, 5);
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        for bad in [
            "1 2 3",
            "a b c d e f g h i j k l m n",
            "1 2 999 4096 3 4 0 0 0 0 0 0 0 5",
        ] {
            assert!(parse(format!("key\n{bad}\n").as_bytes()).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse(text.as_bytes());
        }

        #[test]
        fn round_trips_kernel_format(
            key in any::<i32>(), shmid in 0i64..i32::MAX as i64, mode in 0u32..0o4000,
            size in any::<u64>(), cpid in 0i32..1 << 22, lpid in 0i32..1 << 22,
            nattch in 0u64..1000, uid in any::<u32>(), gid in any::<u32>(),
            atime in 0i64..1 << 40, rss in any::<u64>(), swap in any::<u64>(),
        ) {
            // The kernel's own format string for a line.
            let line = format!(
                "{key:>10} {shmid:>10}  {mode:>4o} {size:>21} {cpid:>5} {lpid:>5}  {nattch:>5} {uid:>5} {gid:>5} {uid:>5} {gid:>5} {atime:>10} {atime:>10} {atime:>10} {rss:>21} {swap:>21}\n"
            );
            let recs = parse(line.as_bytes()).unwrap();
            prop_assert_eq!(recs.len(), 1);
            let r = &recs[0];
            prop_assert_eq!(r.key, key as u32);
            prop_assert_eq!((r.shmid, r.mode, r.size), (shmid, mode, size));
            prop_assert_eq!((r.cpid, r.lpid, r.nattch), (cpid, lpid, nattch));
            prop_assert_eq!((r.uid, r.gid, r.cuid, r.cgid), (uid, gid, uid, gid));
            prop_assert_eq!((r.rss, r.swap), (Some(rss), Some(swap)));
        }
    }
}
