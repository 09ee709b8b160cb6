//! What `watch` prints: a redrawn screen on a colour terminal, one line per refresh that changed
//! something when piped (or with colour off), JSON Lines with `--json`.

use super::color::Palette;
use super::hex::{write_row, ROW};
use super::layout::{format_record, record_json, Decoded};
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
    records: &[(usize, &[Decoded])],
    numbered: bool,
) -> io::Result<()> {
    for (i, fields) in records {
        let idx = if numbered {
            format!("[{i}] ")
        } else {
            String::new()
        };
        let text = format_record(fields, None, Palette { on: false });
        writeln!(out, "{clock}  {idx}{text}")?;
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
    time: &'a str,
    changed_bytes: u64,
    changes: Vec<JsonChange>,
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<Vec<serde_json::Value>>,
}

/// One JSON Lines object for a refresh that changed something.
pub fn write_json(
    out: &mut dyn Write,
    base: u64,
    r: &Refresh,
    records: &[(u64, u64, &[Decoded])],
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
    let v = JsonRefresh {
        time: &r.time,
        changed_bytes: r.changed_bytes,
        changes,
        truncated: r.truncated,
        records: (!records.is_empty()).then(|| {
            records
                .iter()
                .map(|(i, a, f)| record_json(*i, *a, f))
                .collect()
        }),
    };
    serde_json::to_writer(&mut *out, &v)?;
    writeln!(out)
}

/// Control sequences for the redrawn screen (used only with colour on).
pub mod term {
    pub const ENTER: &str = "\x1b[?1049h\x1b[?25l";
    pub const LEAVE: &str = "\x1b[?25h\x1b[?1049l";
    pub const HOME: &str = "\x1b[H";
    pub const CLEAR_LINE: &str = "\x1b[K";
    pub const CLEAR_BELOW: &str = "\x1b[J";
}

/// One screen: a header line, then hex rows (or records) with the changed bytes highlighted.
pub struct Screen<'a> {
    pub header: String,
    pub pal: Palette,
    pub rows: usize,
    pub base: u64,
    pub width: usize,
    pub data: &'a [u8],
    /// Per byte of `data`: changed in the last refresh.
    pub changed: &'a [bool],
}

impl Screen<'_> {
    pub fn write_hex(&self, out: &mut dyn Write) -> io::Result<()> {
        self.start(out)?;
        for (i, row) in self.data.chunks(ROW).take(self.rows).enumerate() {
            let c = &self.changed[i * ROW..(i * ROW + row.len()).min(self.changed.len())];
            let mut line = Vec::with_capacity(128);
            let addr = self.base + (i * ROW) as u64;
            write_row(&mut line, addr, self.width, row, Some(c), self.pal)?;
            out.write_all(line.strip_suffix(b"\n").unwrap_or(&line))?;
            self.end_line(out)?;
        }
        self.finish(out)
    }

    /// Records, each with a mask of changed fields.
    pub fn write_records(
        &self,
        out: &mut dyn Write,
        records: &[(&[Decoded], Vec<bool>)],
    ) -> io::Result<()> {
        self.start(out)?;
        let numbered = records.len() > 1;
        for (i, (fields, changed)) in records.iter().take(self.rows).enumerate() {
            if numbered {
                write!(out, "[{i}] ")?;
            }
            write!(out, "{}", format_record(fields, Some(changed), self.pal))?;
            self.end_line(out)?;
        }
        self.finish(out)
    }

    fn start(&self, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{}{}", term::HOME, self.pal.header(&self.header))?;
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
        write_json(&mut out, 0x1000, &refresh(), &[]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["time"], "2026-11-22T05:00:00.000Z");
        assert_eq!(v["changes"][1]["offset"], 16);
        assert_eq!(v["changes"][1]["address"], "0x1010");
        assert_eq!(v["changes"][1]["old"], "0001");
        assert_eq!(v["changes"][1]["new"], "0203");
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
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
        write_json(&mut out, 0, &r, &[]).unwrap();
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
