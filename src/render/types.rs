//! The `types` table: KIND NAME SIZE MEMBERS FILE, one row per struct, class or union.

use super::table::TableWriter;
use std::io::Write;

/// One row: kind, name, size in bytes, number of data members, defining file.
pub type TypeRow<'a> = (&'a str, &'a str, u64, usize, &'a str);

pub fn write_table(out: &mut dyn Write, rows: Vec<TypeRow>, color: bool) -> std::io::Result<()> {
    let mut t = TableWriter::new(
        &[
            ("KIND", false),
            ("NAME", false),
            ("SIZE", true),
            ("MEMBERS", true),
            ("FILE", false),
        ],
        color,
    );
    for (kind, name, size, members, file) in rows {
        t.row(&[
            kind.to_string(),
            name.to_string(),
            size.to_string(),
            members.to_string(),
            file.to_string(),
        ]);
    }
    t.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_type() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            vec![
                ("struct", "STU", 28, 3, "/tmp/w"),
                ("class", "testmap", 40, 2, "/tmp/w"),
            ],
            false,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("KIND"));
        assert!(lines[1].contains("STU") && lines[1].contains("28"));
    }
}
