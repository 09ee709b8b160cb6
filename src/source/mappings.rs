//! Every mapping of one process as rows of `maps`: smaps read and parsed as a stream, each
//! mapping classified by [`classify`], as `ls` classifies them.

use super::classify::{classify, same_file};
use super::maps::{MapLine, PathKind};
use super::procs::ReadError;
use super::smaps::SmapsEntry;
use super::{bytes_to_string, Sys};
use crate::error::Error;
use crate::model::Mapping;
use std::os::unix::ffi::OsStrExt;

/// Whether the mapped object is gone from the filesystem: the kernel's ` (deleted)` suffix,
/// unless (for a plain file) a file with that very name is the mapped one.
pub fn is_deleted(m: &MapLine, named_as_is: impl Fn(&MapLine) -> bool) -> bool {
    m.path.ends_with(b" (deleted)")
        && match m.path_kind() {
            PathKind::Deleted { .. } => !named_as_is(m),
            _ => true,
        }
}

/// One smaps entry as a row of `maps`; `deleted` as [`is_deleted`] says.
pub fn to_mapping(e: &SmapsEntry, kind: &str, deleted: bool) -> Mapping {
    let m = &e.map;
    let clean = if deleted {
        m.path.strip_suffix(b" (deleted)").unwrap_or(&m.path)
    } else {
        &m.path[..]
    };
    Mapping {
        start: m.start,
        end: m.end,
        perms: m.perms_str(),
        offset: m.offset,
        dev: m.dev(),
        inode: m.inode,
        path: (!m.path.is_empty()).then(|| bytes_to_string(&m.path)),
        clean_path: (!clean.is_empty()).then(|| bytes_to_string(clean)),
        deleted,
        kind: kind.to_string(),
        size: e.figures.size,
        rss: Some(e.figures.rss),
        pss: Some(e.figures.pss),
        swap: Some(e.figures.swap),
    }
}

/// Every mapping of `pid` (only the shared ones with `shared_only`), in address order.
pub fn gather(sys: &Sys, pid: i32, shared_only: bool) -> anyhow::Result<Vec<Mapping>> {
    // How /dev/shm is named in maps (with --ns, shm_dir is reached through the target's root).
    let shm_dir = sys.shm_maps_dir.as_os_str().as_bytes();
    let named_as_is = |m: &MapLine| same_file(sys, &m.path, m);
    // Rows are made as smaps is parsed: a process with 50,000 mappings never has its whole
    // smaps text (about 1 KiB a mapping) in memory at once.
    let mut rows = Vec::new();
    let mut seen = 0usize;
    let read = sys.for_each_smaps(pid, |e| {
        seen += 1;
        if !shared_only || e.map.is_shared() {
            let deleted = is_deleted(&e.map, named_as_is);
            rows.push(to_mapping(
                &e,
                classify(&e.map, shm_dir, named_as_is).word(),
                deleted,
            ));
        }
    });
    match read {
        Ok(()) => {}
        Err(ReadError::Gone) => return Err(Error::NoSuchProcess(pid).into()),
        Err(ReadError::Denied) => {
            return Err(Error::PermissionDenied(format!(
                "cannot read the mappings of process {pid}"
            ))
            .into())
        }
        Err(ReadError::Other(e)) => {
            return Err(anyhow::Error::new(e)
                .context(format!("reading {}", sys.pid_path(pid, "smaps").display())))
        }
    };
    // A process that exits while we read leaves an empty or cut-short file behind; one that
    // was a zombie before we began has none to give (and that is not an error).
    let cut_short = if seen == 0 {
        !sys.alive(pid)
    } else {
        sys.exited(pid)
    };
    if cut_short {
        return Err(
            Error::vanished(format!("process {pid}"), "vanished while it was being read").into(),
        );
    }
    Ok(rows)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::source::smaps;

    const SAMPLE: &[u8] = include_bytes!("testdata/smaps-sample.txt");

    pub(crate) fn sample_rows() -> Vec<Mapping> {
        smaps::parse(SAMPLE)
            .iter()
            .map(|e| {
                let deleted = is_deleted(&e.map, |_| false);
                to_mapping(e, classify(&e.map, b"/dev/shm", |_| false).word(), deleted)
            })
            .collect()
    }

    #[test]
    fn rows_carry_the_contract_fields_in_bytes() {
        let rows = sample_rows();
        let sysv = rows.iter().find(|r| r.kind == "sysv").unwrap();
        let json = serde_json::to_value(sysv).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "start": "0x7f4b4465c000", "end": "0x7f4b4465e000", "perms": "rw-s",
                "offset": 0, "dev": "00:01", "inode": 55,
                "path": "/SYSV6f20d677 (deleted)", "clean_path": "/SYSV6f20d677",
                "deleted": true, "kind": "sysv",
                "size": 8192, "rss": 4096, "pss": 4096, "swap": 0
            })
        );
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "file-private",
                "heap",
                "anon",
                "anon-private",
                "file-private",
                "posix",
                "memfd",
                "sysv",
                "file-private",
                "stack",
                "special"
            ]
        );
        let anon = rows.iter().find(|r| r.kind == "anon-private").unwrap();
        assert_eq!(anon.path, None);
    }

    /// The rows the render tests use, written out so they need no parser (see
    /// src/render/testdata/maps-rows.json): regenerate with SHMTOOL_WRITE_TESTDATA=1.
    #[test]
    fn render_testdata_matches_the_sample() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/render/testdata/maps-rows.json"
        );
        let rows = serde_json::to_string_pretty(&sample_rows()).unwrap() + "\n";
        if std::env::var_os("SHMTOOL_WRITE_TESTDATA").is_some() {
            std::fs::write(path, &rows).unwrap();
        }
        assert_eq!(std::fs::read_to_string(path).unwrap(), rows);
    }

    #[test]
    fn empty_process_and_errors_on_a_captured_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let sys = Sys::new(root, std::path::Path::new("/dev/shm"));
        std::fs::create_dir(root.join("7")).unwrap();
        std::fs::write(root.join("7/smaps"), SAMPLE).unwrap();
        std::fs::write(root.join("7/stat"), b"7 (holder) S 1").unwrap();
        assert_eq!(gather(&sys, 7, false).unwrap(), sample_rows());
        let shared = gather(&sys, 7, true).unwrap();
        assert_eq!(shared.len(), 4);
        assert!(shared.iter().all(|r| r.perms.ends_with('s')));

        let err = gather(&sys, 8, false).unwrap_err();
        assert_eq!(err.to_string(), "no such process: 8");

        // A kernel thread: alive (it has a stat) and maps nothing.
        std::fs::create_dir(root.join("2")).unwrap();
        std::fs::write(root.join("2/smaps"), b"").unwrap();
        std::fs::write(root.join("2/stat"), b"2 (kthreadd) S").unwrap();
        assert!(gather(&sys, 2, false).unwrap().is_empty());

        // Exited while we read: an empty smaps and no stat left.
        std::fs::create_dir(root.join("9")).unwrap();
        std::fs::write(root.join("9/smaps"), b"").unwrap();
        let err = gather(&sys, 9, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "process 9 vanished while it was being read"
        );

        // Read in full, but a zombie by the time we looked again: it may have been cut short.
        std::fs::write(root.join("7/stat"), b"7 (holder) Z 1").unwrap();
        let err = gather(&sys, 7, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "process 7 vanished while it was being read"
        );
    }
}
