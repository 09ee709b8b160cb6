//! Plain tables in the style of ipcs and ps: no borders, left-aligned, two spaces between
//! columns, numbers right-aligned. Cells are escaped here, so callers pass raw text.

use comfy_table::{presets, Attribute, Cell, CellAlignment, Color, ContentArrangement, Table};
use std::io::Write;

use super::sanitize::escape;

/// How a cell should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Dim,
    Warn,
    Bad,
}

/// One table being built.
pub struct TableWriter {
    table: Table,
    color: bool,
    right: Vec<bool>,
}

impl TableWriter {
    /// A table with these column headers; `right` marks numeric columns.
    pub fn new(headers: &[(&str, bool)], color: bool) -> TableWriter {
        let mut table = Table::new();
        table.load_style(presets::NOTHING);
        table.set_content_arrangement(ContentArrangement::Disabled);
        if color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table.set_header(headers.iter().map(|(h, _)| {
            let c = Cell::new(h);
            if color {
                c.add_attribute(Attribute::Bold)
            } else {
                c
            }
        }));
        let right: Vec<bool> = headers.iter().map(|(_, r)| *r).collect();
        for (i, col) in table.column_iter_mut().enumerate() {
            col.set_padding((0, 2));
            if right.get(i).copied().unwrap_or(false) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        TableWriter {
            table,
            color,
            right,
        }
    }

    /// Add a row of plain cells.
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        self.row_toned(cells.iter().map(|c| (c.as_ref(), Tone::Plain)));
    }

    /// Add a row whose cells each have a tone.
    pub fn row_toned<'a>(&mut self, cells: impl IntoIterator<Item = (&'a str, Tone)>) {
        let color = self.color;
        let row: Vec<Cell> = cells
            .into_iter()
            .enumerate()
            .map(|(i, (text, tone))| {
                let mut c = Cell::new(escape(text));
                if self.right.get(i).copied().unwrap_or(false) {
                    c = c.set_alignment(CellAlignment::Right);
                }
                if color {
                    c = match tone {
                        Tone::Plain => c,
                        Tone::Dim => c.add_attribute(Attribute::Dim),
                        Tone::Warn => c.fg(Color::Yellow),
                        Tone::Bad => c.fg(Color::Red).add_attribute(Attribute::Bold),
                    };
                }
                c
            })
            .collect();
        self.table.add_row(row);
    }

    pub fn is_empty(&self) -> bool {
        self.table.row_count() == 0
    }

    /// Write the table, without trailing spaces on any line.
    pub fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for line in self.table.lines() {
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_table_has_no_escapes_and_no_trailing_spaces() {
        let mut t = TableWriter::new(&[("KIND", false), ("SIZE", true)], false);
        t.row(&["sysv", "4 KiB"]);
        t.row_toned([("posix\u{1b}[31m", Tone::Bad), ("12 B", Tone::Plain)]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.lines().all(|l| !l.ends_with(' ')));
        assert_eq!(text.lines().next().unwrap(), "KIND          SIZE");
        assert!(text.contains("posix\\e[31m"));
    }

    #[test]
    fn coloured_table_has_escapes() {
        let mut t = TableWriter::new(&[("KIND", false)], true);
        t.row_toned([("sysv", Tone::Bad)]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        assert!(out.contains(&0x1b));
    }
}
