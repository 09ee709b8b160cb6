//! The table of `maps`: one row a mapping and a total row, as pmap's.

use super::table::{TableWriter, Tone};
use crate::model::{hex_addr, Kind, Mapping};
use crate::units::size_cell;
use std::io::Write;

fn tone(kind: &str) -> Tone {
    match kind {
        "deleted" => Tone::Warn,
        k if Kind::ALL.iter().any(|s| s.as_str() == k) => Tone::Plain,
        _ => Tone::Dim,
    }
}

/// The table of `maps`, with a total row (as pmap's).
pub fn write_table(
    out: &mut dyn Write,
    rows: &[Mapping],
    exact_bytes: bool,
    color: bool,
) -> std::io::Result<()> {
    let mut t = TableWriter::new(
        &[
            ("START", false),
            ("END", false),
            ("PERMS", false),
            ("OFFSET", true),
            ("DEV", false),
            ("INODE", true),
            ("SIZE", true),
            ("RSS", true),
            ("PSS", true),
            ("SWAP", true),
            ("KIND", false),
            ("PATH", false),
        ],
        color,
    );
    let size = |v: u64| size_cell(v, exact_bytes);
    let opt = |v: Option<u64>| v.map(size).unwrap_or_else(|| "-".into());
    for r in rows {
        let cells = [
            hex_addr(r.start),
            hex_addr(r.end),
            r.perms.clone(),
            format!("0x{:x}", r.offset),
            r.dev.to_string(),
            r.inode.to_string(),
            size(r.size),
            opt(r.rss),
            opt(r.pss),
            opt(r.swap),
            r.kind.clone(),
            r.path.clone().unwrap_or_default(),
        ];
        let kind_tone = tone(&r.kind);
        t.row_toned(cells.iter().enumerate().map(|(i, c)| {
            let tone = if i == 10 { kind_tone } else { Tone::Plain };
            (c.as_str(), tone)
        }));
    }
    let sum = |f: fn(&Mapping) -> Option<u64>| rows.iter().filter_map(f).sum::<u64>();
    let noun = if rows.len() == 1 {
        "mapping"
    } else {
        "mappings"
    };
    t.row(&[
        "total".to_string(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        size(rows.iter().map(|r| r.size).sum()),
        size(sum(|r| r.rss)),
        size(sum(|r| r.pss)),
        size(sum(|r| r.swap)),
        format!("{} {noun}", rows.len()),
        String::new(),
    ]);
    t.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of a captured smaps file (kept in step by a test in `source::mappings`).
    fn sample_rows() -> Vec<Mapping> {
        serde_json::from_str(include_str!("testdata/maps-rows.json")).unwrap()
    }

    fn table(rows: &[Mapping], exact: bool, color: bool) -> String {
        let mut out = Vec::new();
        write_table(&mut out, rows, exact, color).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_has_every_row_and_a_total() {
        let rows = sample_rows();
        let text = table(&rows, false, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + rows.len() + 1);
        assert!(lines[0].starts_with("START"), "{text}");
        for h in [
            "PERMS", "OFFSET", "INODE", "RSS", "PSS", "SWAP", "KIND", "PATH",
        ] {
            assert!(lines[0].contains(h));
        }
        assert!(lines[8].contains("/SYSV6f20d677 (deleted)"), "{text}");
        assert!(lines[8].contains("8 KiB"), "{text}");
        let total = lines.last().unwrap();
        assert!(total.starts_with("total"), "{text}");
        assert!(total.contains("11 mappings"), "{text}");
        assert!(!text.contains('\u{1b}'));
        assert!(text.lines().all(|l| !l.ends_with(' ')));

        let exact = table(&rows, true, false);
        let total: u64 = rows.iter().map(|r| r.size).sum();
        assert!(exact.lines().last().unwrap().contains(&total.to_string()));
        assert!(exact.lines().nth(8).unwrap().contains(" 8192 "), "{exact}");
    }

    #[test]
    fn table_escapes_hostile_paths() {
        let mut rows = sample_rows();
        rows[0].path = Some("/tmp/\u{1b}[31mred\nline".into());
        let text = table(&rows, false, false);
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("/tmp/\\e[31mred\\nline"));
        assert_eq!(text.lines().count(), 1 + rows.len() + 1);
        assert!(table(&rows, false, true).contains('\u{1b}'));
    }
}
