//! The `trace --log` file: JSON Lines appended, rotated by size (FILE → FILE.1 → … → FILE.N),
//! and read back, oldest first, by `history` and `show`.

use crate::model::TraceEvent;
use anyhow::Context;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends events to a log file, rotating it before it passes its size limit.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    max: u64,
    keep: u32,
    file: BufWriter<File>,
    size: u64,
}

fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".{n}"));
    PathBuf::from(p)
}

impl LogWriter {
    pub fn open(path: &Path, max: u64, keep: u32) -> anyhow::Result<LogWriter> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = open_append(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogWriter {
            path: path.to_path_buf(),
            max: max.max(1),
            keep,
            file: BufWriter::new(file),
            size,
        })
    }

    /// Append one event's line, as [`crate::render::json::push_event_line`] writes it (the
    /// same bytes `trace --json` prints, made once for both).
    pub fn write(&mut self, line: &[u8]) -> anyhow::Result<()> {
        let len = line.len() as u64;
        if self.size > 0 && self.size + len > self.max {
            self.rotate()?;
        }
        self.file
            .write_all(line)
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.size += len;
        Ok(())
    }

    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.file
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }

    fn rotate(&mut self) -> anyhow::Result<()> {
        self.flush()?;
        if self.keep == 0 {
            std::fs::remove_file(&self.path).ok();
        } else {
            for n in (1..self.keep).rev() {
                std::fs::rename(rotated(&self.path, n), rotated(&self.path, n + 1)).ok();
            }
            std::fs::rename(&self.path, rotated(&self.path, 1))
                .with_context(|| format!("rotating {}", self.path.display()))?;
        }
        self.file = BufWriter::new(open_append(&self.path)?);
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> anyhow::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Every event in the log and its rotated copies, oldest first. Lines that are not events
/// (a torn last line after a crash) are skipped. None when there is no log at all.
pub fn read_all(path: &Path) -> anyhow::Result<Option<Vec<TraceEvent>>> {
    let mut files: Vec<PathBuf> = (1..1000)
        .map(|n| rotated(path, n))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    files.push(path.to_path_buf());
    let mut events = Vec::new();
    let mut any = false;
    for f in files {
        let file = match File::open(&f) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", f.display())),
        };
        any = true;
        for line in BufReader::new(file).split(b'\n') {
            let line = line.with_context(|| format!("reading {}", f.display()))?;
            if let Ok(e) = serde_json::from_slice::<TraceEvent>(&line) {
                events.push(e);
            }
        }
    }
    Ok(any.then_some(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u64) -> TraceEvent {
        TraceEvent {
            time: "t".into(),
            mono_ns: n,
            event: "create".into(),
            pid: 1,
            tid: 1,
            comm: "c".into(),
            uid: 0,
            user: "root".into(),
            container: None,
            kind: "sysv".into(),
            id: Some(n as i64),
            key: None,
            path: None,
            size: None,
            addr: None,
            detail: None,
        }
    }

    #[test]
    fn rotates_by_size_and_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/trace.jsonl");
        let mut w = LogWriter::open(&path, 600, 2).unwrap();
        for n in 0..20 {
            let mut line = Vec::new();
            crate::render::json::push_event_line(&mut line, &ev(n));
            w.write(&line).unwrap();
        }
        w.flush().unwrap();
        assert!(rotated(&path, 1).exists());
        assert!(rotated(&path, 2).exists());
        assert!(!rotated(&path, 3).exists());
        for p in [path.clone(), rotated(&path, 1)] {
            assert!(std::fs::metadata(&p).unwrap().len() <= 600);
        }
        let back = read_all(&path).unwrap().unwrap();
        let ns: Vec<u64> = back.iter().map(|e| e.mono_ns).collect();
        assert!(!ns.is_empty());
        assert!(ns.windows(2).all(|w| w[0] + 1 == w[1]));
        assert_eq!(*ns.last().unwrap(), 19);
        assert!(read_all(&dir.path().join("none")).unwrap().is_none());
    }
}
