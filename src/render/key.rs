//! How `shmtool key` answers: the key and its segment, or the files that could have made a key.

use super::sanitize::escape;
use super::segments::{self, View};
use super::table::TableWriter;
use crate::model::Segment;
use serde::Serialize;
use std::io::Write;

/// `key --json`, as the contract fixes it.
#[derive(Debug, Clone, Serialize)]
pub struct KeyJson {
    pub path: String,
    /// The proj_id as given (ftok uses its low 8 bits).
    pub proj_id: i32,
    pub key: String,
    pub shmid: Option<i64>,
}

/// Everything the forward answer shows.
pub struct KeyAnswer<'a> {
    pub json: KeyJson,
    pub proj_bits: u8,
    pub dev: u64,
    pub ino: u64,
    /// The segment that has the key now.
    pub segment: Option<&'a Segment>,
    /// Segments marked for removal whose attachers still name this key.
    pub former: Vec<&'a Segment>,
}

/// The forward answer as text.
pub fn write_answer(out: &mut dyn Write, a: &KeyAnswer, view: &View) -> std::io::Result<()> {
    let proj = if a.json.proj_id == a.proj_bits as i32 {
        a.json.proj_id.to_string()
    } else {
        format!("{} (low 8 bits 0x{:02x})", a.json.proj_id, a.proj_bits)
    };
    writeln!(
        out,
        "{}  ftok(\"{}\", {proj})",
        a.json.key,
        escape(&a.json.path)
    )?;
    writeln!(
        out,
        "     from inode {} (low 16 bits 0x{:04x}), device {}:{} (low 8 bits 0x{:02x}), proj_id 0x{:02x}",
        a.ino,
        a.ino & 0xffff,
        libc::major(a.dev),
        libc::minor(a.dev),
        a.dev & 0xff,
        a.proj_bits
    )?;
    match a.segment {
        Some(s) => writeln!(out, "shmid {} has this key:", s.id.unwrap_or(-1))?,
        None => writeln!(out, "no System V segment has this key")?,
    }
    for s in &a.former {
        writeln!(
            out,
            "shmid {} was made with this key and is marked for removal",
            s.id.unwrap_or(-1)
        )?;
    }
    let rows: Vec<Segment> = a
        .segment
        .into_iter()
        .chain(a.former.iter().copied())
        .cloned()
        .collect();
    if !rows.is_empty() {
        writeln!(out)?;
        segments::write_table(out, &rows, view)?;
    }
    Ok(())
}

/// One file `key --find` turned up.
#[derive(Debug, Clone, Serialize)]
pub struct FoundFile {
    pub path: String,
    pub inode: u64,
    /// `"MAJ:MIN"` in hex, as `ls` and `maps` name devices.
    pub dev: crate::model::Dev,
    /// The same in decimal, as `stat` prints it (and the table shows it).
    pub dev_decimal: String,
    pub is_dir: bool,
}

/// `key --find` as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct FindJson {
    pub key: String,
    /// The proj_id (low 8 bits) that, with any of the files, gives the key.
    pub proj_id: u8,
    pub candidates: Vec<FoundFile>,
    /// The directories walked, in order.
    pub searched: Vec<String>,
    /// Entries looked at.
    pub entries: usize,
    /// False when a cap stopped the walk or directories could not be read.
    pub complete: bool,
}

/// A proj_id the way C code would write it: `'A'` where printable, else the number.
pub fn proj_id_c(p: u8) -> String {
    if p.is_ascii_graphic() && p != b'\'' && p != b'\\' {
        format!("'{}' ({p})", p as char)
    } else {
        format!("{p} (0x{p:02x})")
    }
}

/// The `key --find` table.
pub fn write_found(out: &mut dyn Write, f: &FindJson) -> std::io::Result<()> {
    if f.candidates.is_empty() {
        writeln!(out, "no file found that gives key {}", f.key)?;
        return Ok(());
    }
    writeln!(
        out,
        "files that give key {} with proj_id {}:",
        f.key,
        proj_id_c(f.proj_id)
    )?;
    let mut t = TableWriter::new(
        &[("PATH", false), ("INODE", true), ("DEVICE", false)],
        false,
    );
    for c in &f.candidates {
        let path = if c.is_dir {
            format!("{}/", c.path.trim_end_matches('/'))
        } else {
            c.path.clone()
        };
        t.row(&[path, c.inode.to_string(), c.dev_decimal.clone()]);
    }
    writeln!(out)?;
    t.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proj_ids_as_c_writes_them() {
        assert_eq!(proj_id_c(b'A'), "'A' (65)");
        assert_eq!(proj_id_c(0x80), "128 (0x80)");
        assert_eq!(proj_id_c(b'\''), "39 (0x27)");
    }

    #[test]
    fn found_table_escapes_paths() {
        let f = FindJson {
            key: "0x41000001".into(),
            proj_id: b'A',
            candidates: vec![FoundFile {
                path: "/tmp/a\u{1b}[2Jb".into(),
                inode: 1,
                dev: crate::model::Dev::from_parts(0, 42),
                dev_decimal: "0:42".into(),
                is_dir: false,
            }],
            searched: vec!["/tmp".into()],
            entries: 1,
            complete: true,
        };
        let mut out = Vec::new();
        write_found(&mut out, &f).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("'A' (65)"), "{text}");
    }
}
