//! The table of `maps`: one row a mapping and a total row, as pmap's.

use super::table::{write_streamed, ColumnSpec, Style, Tone, Trunc};
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

/// A line of the `maps` table: a mapping, or the total at the end.
enum Line<'a> {
    Mapping(&'a Mapping),
    Total,
}

const COLUMNS: [ColumnSpec; 12] = [
    ColumnSpec::new("START", false, Trunc::Never, 0),
    ColumnSpec::new("END", false, Trunc::Never, 0),
    ColumnSpec::new("PERMS", false, Trunc::Never, 0),
    ColumnSpec::new("OFFSET", true, Trunc::Never, 4),
    ColumnSpec::new("DEV", false, Trunc::Never, 3),
    ColumnSpec::new("INODE", true, Trunc::Never, 2),
    ColumnSpec::new("SIZE", true, Trunc::Never, 0),
    ColumnSpec::new("RSS", true, Trunc::Never, 0),
    ColumnSpec::new("PSS", true, Trunc::Never, 1),
    ColumnSpec::new("SWAP", true, Trunc::Never, 1),
    ColumnSpec::new("KIND", false, Trunc::Never, 0),
    ColumnSpec::new("PATH", false, Trunc::Middle, 0),
];

/// The table of `maps`, with a total row (as pmap's). Written in two passes over the rows
/// without keeping any cell: a process with 50,000 mappings would otherwise hold 600,000
/// formatted strings at once (53 MB peak against 15 MB for the rows themselves).
pub fn write_table(
    out: &mut dyn Write,
    rows: &[Mapping],
    exact_bytes: bool,
    color: bool,
) -> std::io::Result<()> {
    let size = |v: u64| size_cell(v, exact_bytes);
    let sum = |f: fn(&Mapping) -> Option<u64>| rows.iter().filter_map(f).sum::<u64>();
    let total = [
        size(rows.iter().map(|r| r.size).sum()),
        size(sum(|r| r.rss)),
        size(sum(|r| r.pss)),
        size(sum(|r| r.swap)),
        format!(
            "{} {}",
            rows.len(),
            if rows.len() == 1 {
                "mapping"
            } else {
                "mappings"
            }
        ),
    ];
    let lines: Vec<Line> = rows
        .iter()
        .map(Line::Mapping)
        .chain(std::iter::once(Line::Total))
        .collect();
    let style = Style {
        may_drop: true,
        ..Style::new(color)
    };
    write_streamed(out, &COLUMNS, &lines, &style, |line, col, buf| {
        use std::fmt::Write as _;
        let r = match line {
            Line::Mapping(r) => r,
            Line::Total => {
                match col {
                    0 => buf.push_str("total"),
                    6..=10 => buf.push_str(&total[col - 6]),
                    _ => {}
                }
                return Tone::Plain;
            }
        };
        let opt = |v: Option<u64>| v.map(size).unwrap_or_else(|| "-".into());
        match col {
            0 => buf.push_str(&hex_addr(r.start)),
            1 => buf.push_str(&hex_addr(r.end)),
            2 => buf.push_str(&r.perms),
            3 => {
                let _ = write!(buf, "0x{:x}", r.offset);
            }
            4 => {
                let _ = write!(buf, "{}", r.dev);
            }
            5 => {
                let _ = write!(buf, "{}", r.inode);
            }
            6 => buf.push_str(&size(r.size)),
            7 => buf.push_str(&opt(r.rss)),
            8 => buf.push_str(&opt(r.pss)),
            9 => buf.push_str(&opt(r.swap)),
            10 => {
                buf.push_str(&r.kind);
                return tone(&r.kind);
            }
            _ => buf.push_str(r.path.as_deref().unwrap_or_default()),
        }
        Tone::Plain
    })
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
