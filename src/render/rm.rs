//! How `shmtool rm` reports: the confirmation list, then what happened to each object and a
//! summary line.

use super::sanitize::escape;
use super::table::{TableWriter, Tone};
use crate::model::{Attacher, FdHolder, Kind};
use crate::units::size_cell;
use serde::Serialize;
use std::io::Write;

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Gone now (System V: IPC_RMID on an unattached segment; POSIX: unlinked).
    Removed,
    /// System V segment still attached: marked for removal, freed when the last one detaches.
    Marked,
    /// `--dry-run`: would have been removed.
    WouldRemove,
    /// Left alone; `reason` says why.
    Kept,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Removed => "removed",
            Outcome::Marked => "marked",
            Outcome::WouldRemove => "would remove",
            Outcome::Kept => "kept",
        }
    }
}

/// One object in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct RmResult {
    pub result: Outcome,
    pub kind: Kind,
    pub id: Option<i64>,
    pub key: Option<String>,
    pub path: Option<String>,
    pub size: u64,
    /// Bytes this removal gives back now: a /dev/shm object's allocated blocks when its last
    /// name goes and nobody holds it; 0 when kept, marked, still held, or another name is left.
    pub freed: u64,
    /// Why it is leaked, as `ls` says it (`null` unless the verdict is leaked).
    pub stale_reason: Option<String>,
    /// Why it was kept or only marked, or what is left of it (`null` when there is nothing
    /// to add).
    pub note: Option<String>,
    /// Processes that map it, as `ls` lists them.
    pub attachers: Vec<Attacher>,
    /// Processes that hold it through an open file descriptor, as `ls` lists them.
    pub fd_holders: Vec<FdHolder>,
    /// Deprecated (`stale_reason`, `note`): why it was chosen or kept, in plain words.
    pub reason: Option<String>,
    /// Deprecated (`attachers`, `fd_holders`): pids that still hold it after the removal, whose
    /// letting go frees its memory.
    pub held_by: Vec<i32>,
    /// With `--backup`: the file that holds its bytes and metadata (`shmtool restore FILE`).
    pub backup: Option<String>,
}

/// The whole summary; also the `rm --json` output.
#[derive(Debug, Clone, Serialize)]
pub struct RmSummary {
    pub dry_run: bool,
    pub results: Vec<RmResult>,
    /// Objects removed (0 with `--dry-run`: nothing is).
    pub removed: usize,
    /// With `--dry-run`: objects that would be removed (0 otherwise).
    pub would_remove: usize,
    /// Segments marked for removal that are still attached.
    pub marked: usize,
    pub kept: usize,
    /// Bytes given back now (0 with `--dry-run`). Marked segments free theirs later.
    pub bytes_freed: u64,
    /// With `--dry-run`: bytes that would be given back (0 otherwise).
    pub bytes_would_free: u64,
}

/// The memory that removing `results` gives back. Each says what it frees: nothing while still
/// mapped or while another hard link is left; allocated blocks, not apparent size, for a file.
fn memory_given_back<'a>(results: impl Iterator<Item = &'a RmResult>) -> u64 {
    results
        .filter(|r| r.held_by.is_empty())
        .map(|r| r.freed)
        .sum()
}

impl RmSummary {
    pub fn new(dry_run: bool, results: Vec<RmResult>) -> RmSummary {
        let count = |o: Outcome| results.iter().filter(|r| r.result == o).count();
        let freeing = if dry_run {
            Outcome::WouldRemove
        } else {
            Outcome::Removed
        };
        let bytes_freed = memory_given_back(results.iter().filter(|r| r.result == freeing));
        let (gone, would) = if dry_run {
            (0, count(freeing))
        } else {
            (count(freeing), 0)
        };
        RmSummary {
            dry_run,
            removed: gone,
            would_remove: would,
            marked: count(Outcome::Marked),
            kept: count(Outcome::Kept),
            bytes_freed: if dry_run { 0 } else { bytes_freed },
            bytes_would_free: if dry_run { bytes_freed } else { 0 },
            results,
        }
    }

    /// Objects removed, or with `--dry-run` that would be; and their bytes.
    pub fn freeing(&self) -> (usize, u64) {
        if self.dry_run {
            (self.would_remove, self.bytes_would_free)
        } else {
            (self.removed, self.bytes_freed)
        }
    }
}

fn ident(r: &RmResult) -> (String, String) {
    match r.kind {
        Kind::Sysv => (
            r.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
            r.key.clone().unwrap_or_else(|| "-".into()),
        ),
        _ => ("-".into(), r.path.clone().unwrap_or_else(|| "-".into())),
    }
}

/// The per-object table and the summary line.
pub fn write_summary(
    out: &mut dyn Write,
    s: &RmSummary,
    color: bool,
    exact_bytes: bool,
) -> std::io::Result<()> {
    if s.results.is_empty() {
        writeln!(out, "nothing to remove")?;
        return Ok(());
    }
    let mut t = TableWriter::new(
        &[
            ("RESULT", false),
            ("KIND", false),
            ("ID", true),
            ("KEY/NAME", false),
            ("SIZE", true),
            ("WHY", false),
        ],
        color,
    );
    for r in &s.results {
        let tone = match r.result {
            Outcome::Kept => Tone::Bad,
            Outcome::Marked => Tone::Warn,
            _ => Tone::Plain,
        };
        let (id, name) = ident(r);
        let cells = [
            (r.result.word().to_string(), tone),
            (r.kind.to_string(), Tone::Plain),
            (id, Tone::Plain),
            (name, Tone::Plain),
            (size_cell(r.size, exact_bytes), Tone::Plain),
            (r.reason.clone().unwrap_or_else(|| "-".into()), Tone::Plain),
        ];
        t.row_toned(cells.iter().map(|(c, tone)| (c.as_str(), *tone)));
    }
    t.write(out)?;
    writeln!(out)?;
    let verb = if s.dry_run { "would remove" } else { "removed" };
    let (n, bytes) = s.freeing();
    let mut line = format!(
        "{verb} {n} object(s), {} freed",
        crate::units::human_size(bytes)
    );
    if s.marked > 0 {
        line.push_str(&format!(
            "; marked {} still-attached segment(s) for removal",
            s.marked
        ));
    }
    if s.kept > 0 {
        line.push_str(&format!("; kept {}", s.kept));
    }
    if s.dry_run {
        line.push_str(" (dry run: nothing was removed)");
    }
    writeln!(out, "{line}")
}

/// The question `rm --stale` asks on a terminal before removing anything.
pub fn write_confirmation(out: &mut dyn Write, items: &[RmResult]) -> std::io::Result<()> {
    // What the operator weighs is the memory given back, beside the apparent size.
    let total: u64 = items.iter().map(|r| r.size).sum();
    let freed = memory_given_back(items.iter());
    writeln!(
        out,
        "{} object(s) will be removed ({} in size; {} of memory given back):",
        items.len(),
        crate::units::human_size(total),
        crate::units::human_size(freed)
    )?;
    for r in items {
        let (id, name) = ident(r);
        let what = match r.kind {
            Kind::Sysv => format!("sysv shmid {id} key {name}"),
            k => format!("{k} {name}"),
        };
        writeln!(
            out,
            "  {}  {}  {}",
            escape(&what),
            crate::units::human_size(r.size),
            escape(r.reason.as_deref().unwrap_or("-"))
        )?;
    }
    write!(out, "Remove them? [y/N] ")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(result: Outcome, size: u64, held_by: &[i32]) -> RmResult {
        RmResult {
            result,
            kind: Kind::Sysv,
            id: Some(1),
            key: Some("0x00000001".into()),
            path: None,
            size,
            stale_reason: None,
            note: None,
            attachers: Vec::new(),
            fd_holders: Vec::new(),
            freed: if result == Outcome::Kept { 0 } else { size },
            reason: None,
            held_by: held_by.to_vec(),
            backup: None,
        }
    }

    #[test]
    fn summary_counts_and_bytes() {
        let s = RmSummary::new(
            false,
            vec![
                r(Outcome::Removed, 4096, &[]),
                r(Outcome::Removed, 100, &[1]),
                r(Outcome::Marked, 8192, &[2]),
                r(Outcome::Kept, 1, &[]),
            ],
        );
        assert_eq!((s.removed, s.marked, s.kept), (2, 1, 1));
        assert_eq!(s.bytes_freed, 4096);
        let mut out = Vec::new();
        write_summary(&mut out, &s, false, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("removed 2 object(s), 4 KiB freed"), "{text}");
        assert!(text.contains("kept 1"), "{text}");
    }

    #[test]
    fn dry_run_counts_what_would_go() {
        let s = RmSummary::new(true, vec![r(Outcome::WouldRemove, 4096, &[])]);
        // Nothing is removed by a dry run, and its JSON does not say so.
        assert_eq!((s.removed, s.bytes_freed), (0, 0));
        assert_eq!((s.would_remove, s.bytes_would_free), (1, 4096));
        let mut out = Vec::new();
        write_summary(&mut out, &s, false, false).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("dry run"));
    }

    /// The prompt's total is the memory given back, beside the objects' apparent size.
    #[test]
    fn confirmation_totals_memory_given_back() {
        let mut sparse = r(Outcome::WouldRemove, 1 << 20, &[]);
        sparse.freed = 4096;
        let mapped = r(Outcome::WouldRemove, 8192, &[7]);
        let mut out = Vec::new();
        write_confirmation(&mut out, &[sparse, mapped]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "2 object(s) will be removed (1.0 MiB in size; 4 KiB of memory given back):"
            ),
            "{text}"
        );
    }
}
