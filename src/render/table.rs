//! Plain tables in the style of ipcs and ps: no borders, left-aligned, two spaces between
//! columns, numbers right-aligned. Cells are escaped here, so callers pass raw text.
//!
//! Tables fit the terminal: when standard output is a terminal its width is the limit (none when
//! piped, none with `--wide`); text columns shrink first (paths and names lose their middle to an
//! ellipsis, other text its end), then the least useful columns of a default set are left out.
//! Numbers are never cut.
//!
//! This is our own writer rather than comfy-table, because comfy-table was the cost. Measured
//! with scripts/bench-table.sh (200,000 POSIX objects, release build, this 2-core machine):
//! with comfy-table, which keeps a `Cell` per cell (content split into lines, styles,
//! alignment), the `ls` table peaked at 880 MiB against 257 MiB for `ls --json` (3.4x; about
//! 3 KB more per row) and took 1.5-2x its time. [`write_streamed`] measures the columns in a
//! first pass over the rows and writes them in a second, formatting each cell twice into one
//! reused buffer, so it holds nothing per row: the same peak as `ls --json` (1.00x; 63 MiB at
//! 200,000 rows, all of it the inventory and the scan) and 1.0x its time. [`TableWriter`] keeps
//! its cells and is for the small tables (rm, maps, show, limits), where holding them costs
//! nothing worth measuring.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use owo_colors::OwoColorize;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::sanitize::is_unsafe;

/// How a cell should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Dim,
    Warn,
    Bad,
}

/// How a column gives way when the table is too wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trunc {
    /// Never cut (numbers, ids, keys).
    Never,
    /// Cut at the end, with an ellipsis.
    End,
    /// Cut in the middle, keeping both ends (paths: the directory and the file name).
    Middle,
}

/// One column's look: header, alignment, how it shrinks, and when it is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    pub header: &'static str,
    pub right: bool,
    pub trunc: Trunc,
    /// When the table cannot fit by shrinking, columns with a higher number are left out first;
    /// 0 is never left out. Only default column sets drop columns (an explicit `-o` keeps them).
    pub drop: u8,
}

impl ColumnSpec {
    pub const fn new(header: &'static str, right: bool, trunc: Trunc, drop: u8) -> ColumnSpec {
        ColumnSpec {
            header,
            right,
            trunc,
            drop,
        }
    }

    /// The defaults for a header and an alignment: numbers never shrink; names and paths shrink
    /// in the middle, other text at the end.
    pub fn guess(header: &str, right: bool) -> ColumnSpec {
        let trunc = if right {
            Trunc::Never
        } else if matches!(
            header,
            "NAME" | "PATH" | "KEY/NAME" | "FILE" | "MAPPING" | "VALUE"
        ) {
            Trunc::Middle
        } else {
            Trunc::End
        };
        // The table keeps the header text itself (it need not be static).
        ColumnSpec::new("", right, trunc, 0)
    }
}

/// 0: no limit. Set once at start-up from the terminal (see [`terminal_width`]).
static WIDTH: AtomicUsize = AtomicUsize::new(0);

/// Set the width every table fits into (None: no limit).
pub fn set_width(width: Option<usize>) {
    WIDTH.store(width.unwrap_or(0), Ordering::Relaxed);
}

/// The width tables fit into, if any.
pub fn width() -> Option<usize> {
    match WIDTH.load(Ordering::Relaxed) {
        0 => None,
        w => Some(w),
    }
}

/// The width of the terminal on standard output, or None when it is not a terminal. `COLUMNS`
/// (a positive number) overrides what the terminal says, as in ls(1) and util-linux.
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
    {
        return Some(c);
    }
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we pass.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// How a table is written.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Print the header line.
    pub headings: bool,
    /// One space between cells, no padding, no cutting, spaces and backslashes in cells
    /// escaped (`\x20`, `\x5c`), no colour: for scripts.
    pub raw: bool,
    /// The width to fit into.
    pub width: Option<usize>,
    /// Columns may be left out to fit (a default column set).
    pub may_drop: bool,
}

impl Style {
    /// A table with a header, fitted to the terminal's width.
    pub fn new(color: bool) -> Style {
        Style {
            color,
            headings: true,
            raw: false,
            width: width(),
            may_drop: false,
        }
    }
}

/// The ellipsis that marks a cut: `…` where the locale is UTF-8, `~` otherwise.
pub fn ellipsis() -> &'static str {
    use std::sync::OnceLock;
    static E: OnceLock<&'static str> = OnceLock::new();
    E.get_or_init(|| {
        let utf8 = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .map(|s| {
                let s = s.to_ascii_lowercase();
                s.contains("utf-8") || s.contains("utf8")
            })
            .unwrap_or(false);
        if utf8 {
            "…"
        } else {
            "~"
        }
    })
}

/// Append `text` to `out` with every unsafe character escaped (see [`super::sanitize`]); in raw
/// mode also spaces and backslashes, so that a line splits on single spaces.
pub fn escape_into(out: &mut String, text: &str, raw: bool) {
    use std::fmt::Write as _;
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            ' ' | '\\' if raw => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x100 && is_unsafe(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// The display width of escaped (hence printable) text.
pub fn display_width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        UnicodeWidthStr::width(s)
    }
}

/// The longest prefix of `s` at most `w` columns wide.
fn prefix(s: &str, w: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w {
            return &s[..i];
        }
        used += cw;
    }
    s
}

/// The longest suffix of `s` at most `w` columns wide.
fn suffix(s: &str, w: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w {
            return &s[i + c.len_utf8()..];
        }
        used += cw;
    }
    s
}

/// `s` cut to at most `w` columns the way `trunc` says, with an ellipsis where it was cut.
pub fn fit_cell(s: &str, w: usize, trunc: Trunc) -> std::borrow::Cow<'_, str> {
    let sw = display_width(s);
    if sw <= w || trunc == Trunc::Never {
        return s.into();
    }
    let e = ellipsis();
    let ew = e.width();
    if w <= ew {
        return prefix(e, w).to_string().into();
    }
    let keep = w - ew;
    match trunc {
        Trunc::Never => unreachable!(),
        Trunc::End => format!("{}{e}", prefix(s, keep)).into(),
        Trunc::Middle => {
            let head = keep / 2;
            let tail = keep - head;
            format!("{}{e}{}", prefix(s, head), suffix(s, tail)).into()
        }
    }
}

/// The narrowest a column may become: its header, or a few characters of a cut cell.
fn min_width(trunc: Trunc, header: usize, natural: usize) -> usize {
    let floor = match trunc {
        Trunc::Never => natural,
        Trunc::End => header.max(5),
        Trunc::Middle => header.max(10),
    };
    floor.min(natural)
}

/// Column widths for these natural (widest cell) widths: which columns are shown, and how wide.
/// `headers` are the header widths (0 without headings).
pub fn fit(
    specs: &[ColumnSpec],
    headers: &[usize],
    natural: &[usize],
    style: &Style,
) -> Vec<Option<usize>> {
    let mut shown: Vec<bool> = vec![true; specs.len()];
    let Some(limit) = style.width.filter(|_| !style.raw) else {
        return natural.iter().map(|&w| Some(w)).collect();
    };
    loop {
        let mut widths: Vec<usize> = natural.to_vec();
        let total = |widths: &[usize], shown: &[bool]| {
            let n = shown.iter().filter(|s| **s).count();
            widths
                .iter()
                .zip(shown)
                .filter(|(_, s)| **s)
                .map(|(w, _)| *w)
                .sum::<usize>()
                + 2 * n.saturating_sub(1)
        };
        let mut excess = total(&widths, &shown).saturating_sub(limit);
        // Water-filling: take a column at a time from the widest column that can still give.
        while excess > 0 {
            let widest = (0..specs.len())
                .filter(|&i| {
                    shown[i] && widths[i] > min_width(specs[i].trunc, headers[i], natural[i])
                })
                .max_by_key(|&i| (widths[i], i));
            let Some(i) = widest else { break };
            widths[i] -= 1;
            excess -= 1;
        }
        let droppable = (0..specs.len())
            .filter(|&i| shown[i] && specs[i].drop > 0)
            .max_by_key(|&i| (specs[i].drop, i));
        match droppable {
            Some(i) if excess > 0 && style.may_drop => shown[i] = false,
            _ => {
                return widths
                    .into_iter()
                    .zip(shown)
                    .map(|(w, s)| s.then_some(w))
                    .collect()
            }
        }
    }
}

/// Write one line of a table: cells already escaped, `widths` from [`fit`].
pub fn write_line(
    out: &mut dyn Write,
    specs: &[ColumnSpec],
    widths: &[Option<usize>],
    cells: &[(&str, Tone)],
    style: &Style,
    header: bool,
) -> std::io::Result<()> {
    let mut line = String::with_capacity(128);
    let last = widths.iter().rposition(Option::is_some);
    let mut first = true;
    for (i, (spec, w)) in specs.iter().zip(widths).enumerate() {
        let Some(w) = *w else { continue };
        let (text, tone) = cells.get(i).copied().unwrap_or(("", Tone::Plain));
        if !first {
            line.push_str(if style.raw { " " } else { "  " });
        }
        first = false;
        if style.raw {
            line.push_str(if text.is_empty() { "-" } else { text });
            continue;
        }
        let text = fit_cell(text, w, spec.trunc);
        let pad = w.saturating_sub(display_width(&text));
        let is_last = Some(i) == last;
        if spec.right {
            line.extend(std::iter::repeat_n(' ', pad));
        }
        // Escapes wrap the text only, never the padding, so a cut line never ends in a
        // styled run of spaces.
        if style.color && header {
            line.push_str(&text.bold().to_string());
        } else if style.color && tone != Tone::Plain {
            let styled = match tone {
                Tone::Plain => unreachable!(),
                Tone::Dim => text.dimmed().to_string(),
                Tone::Warn => text.yellow().to_string(),
                Tone::Bad => text.red().bold().to_string(),
            };
            line.push_str(&styled);
        } else {
            line.push_str(&text);
        }
        if !spec.right && !is_last {
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    let trimmed = line.trim_end_matches(' ');
    out.write_all(trimmed.as_bytes())?;
    out.write_all(b"\n")
}

/// Write a table of `rows` in two passes without keeping any cell: `cell(row, column, buf)`
/// appends column `column`'s raw text for `row` to `buf` and returns its tone. The first pass
/// measures each column, the second writes. Headers count towards widths.
pub fn write_streamed<R>(
    out: &mut dyn Write,
    specs: &[ColumnSpec],
    rows: &[R],
    style: &Style,
    mut cell: impl FnMut(&R, usize, &mut String) -> Tone,
) -> std::io::Result<()> {
    let n = specs.len();
    let mut natural: Vec<usize> = specs
        .iter()
        .map(|s| if style.headings { s.header.len() } else { 0 })
        .collect();
    let mut raw_text = String::new();
    let mut escaped: Vec<String> = vec![String::new(); n];
    let mut tones: Vec<Tone> = vec![Tone::Plain; n];
    for row in rows {
        for (i, w) in natural.iter_mut().enumerate() {
            raw_text.clear();
            cell(row, i, &mut raw_text);
            escaped[i].clear();
            escape_into(&mut escaped[i], &raw_text, style.raw);
            *w = (*w).max(display_width(&escaped[i]));
        }
    }
    let header_widths: Vec<usize> = specs
        .iter()
        .map(|s| if style.headings { s.header.len() } else { 0 })
        .collect();
    let widths = fit(specs, &header_widths, &natural, style);
    if style.headings {
        let headers: Vec<(&str, Tone)> = specs.iter().map(|s| (s.header, Tone::Plain)).collect();
        write_line(out, specs, &widths, &headers, style, true)?;
    }
    for row in rows {
        for i in 0..n {
            raw_text.clear();
            escaped[i].clear();
            if widths[i].is_some() {
                tones[i] = cell(row, i, &mut raw_text);
                escape_into(&mut escaped[i], &raw_text, style.raw);
            }
        }
        let cells: Vec<(&str, Tone)> = escaped
            .iter()
            .zip(&tones)
            .map(|(s, t)| (s.as_str(), *t))
            .collect();
        write_line(out, specs, &widths, &cells, style, false)?;
    }
    Ok(())
}

/// One small table being built, cells kept until [`TableWriter::write`].
pub struct TableWriter {
    headers: Vec<String>,
    specs: Vec<ColumnSpec>,
    rows: Vec<Vec<(String, Tone)>>,
    style: Style,
}

impl TableWriter {
    /// A table with these column headers; `right` marks numeric columns. It fits the terminal
    /// (see the module documentation).
    pub fn new(headers: &[(&str, bool)], color: bool) -> TableWriter {
        TableWriter {
            headers: headers.iter().map(|(h, _)| h.to_string()).collect(),
            specs: headers
                .iter()
                .map(|&(h, r)| ColumnSpec::guess(h, r))
                .collect(),
            rows: Vec::new(),
            style: Style::new(color),
        }
    }

    /// Never cut or fit this table (a page of labelled values read in full).
    pub fn unlimited(mut self) -> TableWriter {
        self.style.width = None;
        self
    }

    /// Add a row of plain cells.
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        self.row_toned(cells.iter().map(|c| (c.as_ref(), Tone::Plain)));
    }

    /// Add a row whose cells each have a tone.
    pub fn row_toned<'a>(&mut self, cells: impl IntoIterator<Item = (&'a str, Tone)>) {
        let row = cells
            .into_iter()
            .map(|(text, tone)| {
                let mut s = String::with_capacity(text.len());
                escape_into(&mut s, text, self.style.raw);
                (s, tone)
            })
            .collect();
        self.rows.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Write the table, without trailing spaces on any line.
    pub fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut natural: Vec<usize> = self.headers.iter().map(|h| display_width(h)).collect();
        for row in &self.rows {
            for (w, (text, _)) in natural.iter_mut().zip(row) {
                *w = (*w).max(display_width(text));
            }
        }
        let header_widths: Vec<usize> = self.headers.iter().map(|h| display_width(h)).collect();
        let widths = fit(&self.specs, &header_widths, &natural, &self.style);
        let headers: Vec<(&str, Tone)> = self
            .headers
            .iter()
            .map(|h| (h.as_str(), Tone::Plain))
            .collect();
        write_line(out, &self.specs, &widths, &headers, &self.style, true)?;
        for row in &self.rows {
            let cells: Vec<(&str, Tone)> = row.iter().map(|(s, t)| (s.as_str(), *t)).collect();
            write_line(out, &self.specs, &widths, &cells, &self.style, false)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &TableWriter) -> String {
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_table_has_no_escapes_and_no_trailing_spaces() {
        let mut t = TableWriter::new(&[("KIND", false), ("SIZE", true)], false);
        t.row(&["sysv", "4 KiB"]);
        t.row_toned([("posix\u{1b}[31m", Tone::Bad), ("12 B", Tone::Plain)]);
        let text = render(&t.unlimited());
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.lines().all(|l| !l.ends_with(' ')));
        assert_eq!(text.lines().next().unwrap(), "KIND          SIZE");
        assert!(text.contains("posix\\e[31m"));
    }

    #[test]
    fn coloured_table_has_escapes_around_text_not_padding() {
        let mut t = TableWriter::new(&[("KIND", false), ("N", true)], true).unlimited();
        t.row_toned([("sysv-long", Tone::Bad), ("1", Tone::Plain)]);
        let text = render(&t);
        assert!(text.contains('\u{1b}'));
        let header = text.lines().next().unwrap();
        // The header's padding follows the reset, outside the bold run.
        assert!(
            header.starts_with("\u{1b}[1mKIND\u{1b}[0m       "),
            "{header:?}"
        );
    }

    #[test]
    fn cuts_keep_both_ends_of_a_path() {
        assert_eq!(
            fit_cell("/dev/shm/abcdefghijkl", 9, Trunc::Middle).len(),
            9 - 1 + ellipsis().len()
        );
        let cut = fit_cell("/dev/shm/abcdefghijkl", 9, Trunc::Middle);
        assert!(cut.starts_with("/dev") && cut.ends_with("ijkl"), "{cut}");
        let cut = fit_cell("4242(writer) 4250(reader)", 8, Trunc::End);
        assert!(cut.starts_with("4242(wr"), "{cut}");
        assert_eq!(fit_cell("12345", 2, Trunc::Never), "12345");
        // Wide characters count two columns each.
        let cut = fit_cell("日本語のなまえ", 7, Trunc::End);
        assert!(display_width(&cut) <= 7, "{cut}");
    }

    #[test]
    fn fits_by_shrinking_then_dropping() {
        let specs = [
            ColumnSpec::new("KIND", false, Trunc::Never, 0),
            ColumnSpec::new("PERMS", false, Trunc::Never, 2),
            ColumnSpec::new("NAME", false, Trunc::Middle, 0),
        ];
        let style = Style {
            color: false,
            headings: true,
            raw: false,
            width: Some(30),
            may_drop: true,
        };
        // 5 + 2 + 5 + 2 + 40 = 54 > 30: NAME gives 24 columns, down to 16.
        assert_eq!(
            fit(&specs, &[4, 5, 4], &[5, 5, 40], &style),
            [Some(5), Some(5), Some(16)]
        );
        // Narrower than every minimum: PERMS goes.
        let narrow = Style {
            width: Some(18),
            ..style
        };
        assert_eq!(
            fit(&specs, &[4, 5, 4], &[5, 5, 40], &narrow),
            [Some(5), None, Some(11)]
        );
        // Not allowed to drop: the line stays too long rather than lie.
        let keep = Style {
            may_drop: false,
            ..narrow
        };
        assert_eq!(
            fit(&specs, &[4, 5, 4], &[5, 5, 40], &keep),
            [Some(5), Some(5), Some(10)]
        );
    }

    #[test]
    fn raw_lines_split_on_single_spaces() {
        let specs = [
            ColumnSpec::new("A", false, Trunc::Never, 0),
            ColumnSpec::new("B", false, Trunc::Middle, 0),
        ];
        let style = Style {
            color: true,
            headings: false,
            raw: true,
            width: Some(5),
            may_drop: true,
        };
        let rows = [("x", "with space\\"), ("", "y")];
        let mut out = Vec::new();
        write_streamed(&mut out, &specs, &rows, &style, |r, i, buf| {
            buf.push_str(if i == 0 { r.0 } else { r.1 });
            Tone::Bad
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "x with\\x20space\\x5c\n- y\n"
        );
    }
}
