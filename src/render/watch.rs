//! What `watch` prints: a redrawn screen on a colour terminal, one line per refresh that changed
//! something when piped (or with colour off), JSON Lines with `--json`.

use super::color::Palette;
use super::hex::{write_row_of, ROW};
use super::layout::RecordView;
use serde::Serialize;
use std::io::{self, Write};

/// A run of changed bytes, at an offset from the target's first byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub offset: u64,
    /// The bytes before; None for a block of a region too large to keep a copy of, whose
    /// change was seen by its hash (`watch` keeps one hash per block there).
    pub old: Option<Vec<u8>>,
    pub new: Vec<u8>,
}

/// What one refresh found.
#[derive(Debug, Clone, Default)]
pub struct Refresh {
    /// Wall-clock time, UTC, RFC 3339 with milliseconds (JSON).
    pub time: String,
    /// Local time of day with milliseconds (text).
    pub clock: String,
    /// Changed bytes in all, even those not kept in `changes`.
    pub changed_bytes: u64,
    /// Runs of changes (the first ones, when very many bytes changed).
    pub changes: Vec<Change>,
    /// Some changes were left out of `changes`.
    pub truncated: bool,
    /// Bytes held in `changes` (old and new), kept as they are added so that a refresh with
    /// many runs stays linear.
    pub kept: u64,
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs shown on one text line; bytes shown of each run.
const LINE_RUNS: usize = 4;
const LINE_BYTES: usize = 8;

/// `12:00:01.234  3 bytes changed: 0x7f…10 41 42 -> 43 44; …`
pub fn write_change_line(out: &mut dyn Write, base: u64, r: &Refresh) -> io::Result<()> {
    let plural = if r.changed_bytes == 1 { "" } else { "s" };
    let mut line = format!("{}  {} byte{plural} changed:", r.clock, r.changed_bytes);
    for c in r.changes.iter().take(LINE_RUNS) {
        let n = c.new.len().min(LINE_BYTES);
        let more = if c.new.len() > n { " ..." } else { "" };
        let spaced = |b: &[u8]| {
            b.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        match &c.old {
            Some(old) => line.push_str(&format!(
                " {:#x} {}{more} -> {}{more};",
                base + c.offset,
                spaced(&old[..n]),
                spaced(&c.new[..n])
            )),
            None => line.push_str(&format!(
                " {:#x} block of {} bytes -> {}{more};",
                base + c.offset,
                c.new.len(),
                spaced(&c.new[..n])
            )),
        }
    }
    if r.changes.len() > LINE_RUNS || r.truncated {
        line.push_str(" ...");
    }
    writeln!(out, "{}", line.trim_end_matches(';'))
}

/// `12:00:01.234 [2] id=11 name="hqx"` for each record given.
pub fn write_record_lines(
    out: &mut dyn Write,
    clock: &str,
    records: &[(usize, RecordView)],
    numbered: bool,
) -> io::Result<()> {
    for (i, view) in records {
        write!(out, "{clock}  ")?;
        if numbered {
            write!(out, "[{i}] ")?;
        }
        view.write_text(out, None, Palette { on: false })?;
        writeln!(out)?;
    }
    Ok(())
}

/// Bytes of the first state shown in line mode; the rest is counted.
pub const FIRST_SHOWN: usize = 4096;

/// The first state in line mode, without a layout: a line naming the target, then its first
/// bytes as hex rows (identical rows folded).
pub fn write_first_state(
    out: &mut dyn Write,
    clock: &str,
    label: &str,
    base: u64,
    len: u64,
    head: &[u8],
) -> io::Result<()> {
    use super::hex::{HexWriter, Sink};
    writeln!(out, "{clock}  {label}: {len} bytes")?;
    let shown = &head[..head.len().min(FIRST_SHOWN)];
    let mut w = HexWriter::new(base, len, Palette { on: false }, &|_| None);
    w.write(out, shown)?;
    w.finish(out)?;
    if (shown.len() as u64) < len {
        writeln!(out, "... {} more bytes", len - shown.len() as u64)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonChange {
    offset: u64,
    address: String,
    /// null for a block seen changed by its hash (regions above watch's copy limit).
    old: Option<String>,
    new: String,
}

#[derive(Serialize)]
struct JsonRefresh<'a> {
    /// Deprecated: the same as `time_iso`.
    time: &'a str,
    time_unix: Option<i64>,
    time_iso: &'a str,
    /// The first object: the state watch started from (its bytes in `hex`, or its records).
    initial: bool,
    /// The first state's bytes (null on later objects and with a layout).
    hex: Option<String>,
    changed_bytes: u64,
    changes: Vec<JsonChange>,
    truncated: bool,
    /// Every record decoded (null without `--layout`/`--type`).
    records: Option<&'a [RecordView<'a>]>,
}

/// Bytes of the first state given as `hex` in JSON; a larger region's first object has
/// `truncated: true`.
pub const FIRST_HEX: usize = 64 << 10;

/// One JSON Lines object: a refresh that changed something, or with `initial` (the bytes
/// watch started from), the first state.
pub fn write_json(
    out: &mut dyn Write,
    base: u64,
    r: &Refresh,
    initial: Option<&[u8]>,
    records: &[RecordView],
) -> io::Result<()> {
    let changes: Vec<JsonChange> = r
        .changes
        .iter()
        .map(|c| JsonChange {
            offset: c.offset,
            address: format!("{:#x}", base + c.offset),
            old: c.old.as_deref().map(hexs),
            new: hexs(&c.new),
        })
        .collect();
    let hex = initial
        .filter(|_| records.is_empty())
        .map(|b| hexs(&b[..b.len().min(FIRST_HEX)]));
    let v = JsonRefresh {
        time: &r.time,
        time_unix: super::trace::parse_rfc3339_secs(&r.time),
        time_iso: &r.time,
        initial: initial.is_some(),
        truncated: r.truncated || initial.is_some_and(|b| b.len() > FIRST_HEX),
        hex,
        changed_bytes: r.changed_bytes,
        changes,
        records: (!records.is_empty()).then_some(records),
    };
    super::write_json_compact(out, &v)?;
    writeln!(out)
}

/// Control sequences for the redrawn screen.
pub mod term {
    pub const ENTER: &str = "\x1b[?1049h\x1b[?25l";
    pub const LEAVE: &str = "\x1b[?25h\x1b[?1049l";
    pub const HOME: &str = "\x1b[H";
    pub const CLEAR_LINE: &str = "\x1b[K";
    pub const CLEAR_BELOW: &str = "\x1b[J";
    /// Reverse video: how changes are marked on a screen without colour (NO_COLOR).
    pub const REVERSE: &str = "\x1b[7m";
    pub const RESET: &str = "\x1b[0m";
}

/// Bytes per hex row that fit `cols` columns with an address column `width` wide: 16, 8 or 4
/// (a row is `width + 5 + 4n` columns, plus one for the gap after eight). One column is left
/// free so that a full row never wraps.
pub fn row_bytes(width: usize, cols: usize) -> usize {
    [ROW, 8, 4]
        .into_iter()
        .find(|&n| width + 5 + 4 * n + usize::from(n > 8) < cols)
        .unwrap_or(4)
}

/// `text` cut to at most `cols - 1` columns (an ellipsis marks the cut); `text` is escaped,
/// printable text (one column a character).
pub fn fit(text: &str, cols: usize) -> String {
    let max = cols.saturating_sub(1).max(1);
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// A writer that keeps at most `max` visible characters of what it is given, passing escape
/// sequences through until the cut (so a long record never wraps a screen line).
struct Clip {
    buf: Vec<u8>,
    visible: usize,
    max: usize,
    in_escape: bool,
    cut: bool,
}

impl Write for Clip {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        for &b in data {
            if self.cut {
                break;
            }
            if self.in_escape {
                self.buf.push(b);
                // CSI sequences end with a byte in @..~ (after the '[').
                if (0x40..=0x7e).contains(&b) && b != b'[' {
                    self.in_escape = false;
                }
            } else if b == 0x1b {
                self.in_escape = true;
                self.buf.push(b);
            } else if self.visible < self.max {
                self.buf.push(b);
                self.visible += 1;
            } else {
                self.cut = true;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One screen: a header line, then hex rows (or records) with the changed bytes highlighted.
pub struct Screen<'a> {
    pub header: String,
    pub pal: Palette,
    pub rows: usize,
    /// Terminal width: no line is longer than `cols - 1`.
    pub cols: usize,
    pub base: u64,
    pub width: usize,
    pub data: &'a [u8],
    /// Per byte of `data`: changed in the last refresh.
    pub changed: &'a [bool],
}

impl Screen<'_> {
    /// How a changed byte or field looks: colour when on, reverse video otherwise.
    fn mark(&self) -> Palette {
        self.pal
    }

    fn marked(&self, line: Vec<u8>, hot: bool) -> Vec<u8> {
        if hot && !self.pal.on {
            let mut v = term::REVERSE.as_bytes().to_vec();
            v.extend_from_slice(&line);
            v.extend_from_slice(term::RESET.as_bytes());
            v
        } else {
            line
        }
    }

    pub fn write_hex(&self, out: &mut dyn Write) -> io::Result<()> {
        self.start(out)?;
        let n = row_bytes(self.width, self.cols);
        for (i, row) in self.data.chunks(n).take(self.rows).enumerate() {
            let c = &self.changed[i * n..(i * n + row.len()).min(self.changed.len())];
            let mut line = Vec::with_capacity(128);
            let addr = self.base + (i * n) as u64;
            if self.pal.on {
                write_row_of(&mut line, addr, self.width, row, Some(c), self.mark(), n)?;
            } else {
                write_row_marked(&mut line, addr, self.width, row, c, n)?;
            }
            out.write_all(line.strip_suffix(b"\n").unwrap_or(&line))?;
            self.end_line(out)?;
        }
        self.finish(out)
    }

    /// Records, each with a mask of changed fields; each line cut to the width.
    pub fn write_records(
        &self,
        out: &mut dyn Write,
        records: &[(RecordView, Vec<bool>)],
    ) -> io::Result<()> {
        self.start(out)?;
        let numbered = records.len() > 1;
        for (i, (view, changed)) in records.iter().take(self.rows).enumerate() {
            let mut clip = Clip {
                buf: Vec::new(),
                visible: 0,
                max: self.cols.saturating_sub(1).max(1),
                in_escape: false,
                cut: false,
            };
            if numbered {
                write!(clip, "[{i}] ")?;
            }
            let hot = changed.iter().any(|&c| c);
            if self.pal.on {
                view.write_text(&mut clip, Some(changed), self.pal)?;
            } else {
                view.write_text(&mut clip, None, self.pal)?;
            }
            let mut line = clip.buf;
            if self.pal.on {
                line.extend_from_slice(term::RESET.as_bytes());
            }
            out.write_all(&self.marked(line, hot))?;
            self.end_line(out)?;
        }
        self.finish(out)
    }

    fn start(&self, out: &mut dyn Write) -> io::Result<()> {
        let header = fit(&self.header, self.cols);
        write!(out, "{}{}", term::HOME, self.pal.header(&header))?;
        self.end_line(out)?;
        self.end_line(out)
    }

    fn end_line(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", term::CLEAR_LINE)
    }

    fn finish(&self, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{}", term::CLEAR_BELOW)?;
        out.flush()
    }
}

/// A hex row without colour whose changed bytes are shown in reverse video.
fn write_row_marked(
    out: &mut Vec<u8>,
    addr: u64,
    width: usize,
    bytes: &[u8],
    changed: &[bool],
    n: usize,
) -> io::Result<()> {
    let hot = |i: usize| changed.get(i).copied().unwrap_or(false);
    write!(out, "{addr:0width$x}  ")?;
    for i in 0..n {
        if i == 8 {
            out.push(b' ');
        }
        match bytes.get(i) {
            Some(b) if hot(i) => write!(out, "{}{b:02x}{}", term::REVERSE, term::RESET)?,
            Some(b) => write!(out, "{b:02x}")?,
            None => out.extend_from_slice(b"  "),
        }
        out.push(b' ');
    }
    out.extend_from_slice(b" |");
    for (i, &b) in bytes.iter().enumerate() {
        let c = if (0x20..0x7f).contains(&b) { b } else { b'.' };
        if hot(i) {
            write!(out, "{}{}{}", term::REVERSE, c as char, term::RESET)?;
        } else {
            out.push(c);
        }
    }
    out.extend_from_slice(b"|\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refresh() -> Refresh {
        Refresh {
            time: "2026-11-22T05:00:00.000Z".into(),
            clock: "05:00:00.000".into(),
            changed_bytes: 3,
            changes: vec![
                Change {
                    offset: 4,
                    old: Some(vec![0x41]),
                    new: vec![0x42],
                },
                Change {
                    offset: 16,
                    old: Some(vec![0, 1]),
                    new: vec![2, 3],
                },
            ],
            truncated: false,
            kept: 6,
        }
    }

    #[test]
    fn change_line() {
        let mut out = Vec::new();
        write_change_line(&mut out, 0x1000, &refresh()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "05:00:00.000  3 bytes changed: 0x1004 41 -> 42; 0x1010 00 01 -> 02 03\n"
        );
    }

    #[test]
    fn json_line() {
        let mut out = Vec::new();
        write_json(&mut out, 0x1000, &refresh(), None, &[]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["time"], "2026-11-22T05:00:00.000Z");
        assert_eq!(v["time_iso"], "2026-11-22T05:00:00.000Z");
        assert_eq!(v["time_unix"], 1_795_323_600);
        assert_eq!(v["changes"][1]["offset"], 16);
        assert_eq!(v["changes"][1]["address"], "0x1010");
        assert_eq!(v["changes"][1]["old"], "0001");
        assert_eq!(v["changes"][1]["new"], "0203");
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    }

    #[test]
    fn rows_and_headers_fit_the_width() {
        // 12-digit addresses (7f…): 16 bytes a row need 82 columns.
        assert_eq!(row_bytes(12, 120), 16);
        assert_eq!(row_bytes(12, 80), 8);
        assert_eq!(row_bytes(8, 80), 16);
        assert_eq!(row_bytes(12, 60), 8);
        assert_eq!(row_bytes(12, 40), 4);
        for (w, cols) in [(12, 80), (8, 80), (12, 60), (16, 100)] {
            let n = row_bytes(w, cols);
            let mut line = Vec::new();
            write_row_of(
                &mut line,
                0,
                w,
                &[0x41; 16][..n],
                None,
                Palette { on: false },
                n,
            )
            .unwrap();
            assert!(line.len() - 1 < cols, "{w} {cols}: {}", line.len());
        }
        let long = "x".repeat(100);
        assert_eq!(fit(&long, 80).chars().count(), 79);
        assert!(fit(&long, 80).ends_with('…'));
        assert_eq!(fit("short", 80), "short");
    }

    #[test]
    fn first_json_line_carries_the_state() {
        let r = Refresh::default();
        let mut out = Vec::new();
        write_json(&mut out, 0, &r, Some(&[1, 2, 255]), &[]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["initial"], true);
        assert_eq!(v["hex"], "0102ff");
        assert_eq!(v["changed_bytes"], 0);
        let mut out = Vec::new();
        write_json(&mut out, 0, &refresh(), None, &[]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        // Absent values are null, never missing keys.
        assert_eq!(v["initial"], false);
        assert!(v["hex"].is_null() && v["records"].is_null());
    }

    #[test]
    fn hashed_blocks_have_no_old_bytes() {
        let mut r = refresh();
        r.changes = vec![Change {
            offset: 4096,
            old: None,
            new: vec![7; 4096],
        }];
        let mut out = Vec::new();
        write_json(&mut out, 0, &r, None, &[]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v["changes"][0]["old"].is_null());
        assert_eq!(v["changes"][0]["new"].as_str().unwrap().len(), 8192);
        let mut out = Vec::new();
        write_change_line(&mut out, 0, &r).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.contains("0x1000 block of 4096 bytes -> 07 07"),
            "{line}"
        );
    }
}
