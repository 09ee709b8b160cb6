//! Hex dumps in the style of `hexdump -C`, fed in chunks (memory stays O(chunk)): an address
//! column in the target's own addresses, 16 bytes a row, a printable gutter, and runs of
//! identical rows folded into one `*`. Also the `text` format: runs of printable characters.
//!
//! Bytes outside printable ASCII never reach the output as themselves: the gutter shows `.`, and
//! text runs are printable ASCII only, so escape sequences in memory are inert here.

use super::color::Palette;
use std::io::{self, Write};

/// Bytes a row.
pub const ROW: usize = 16;

/// An output format fed the bytes chunk by chunk (`dump` streams; memory stays O(chunk)).
pub trait Sink {
    fn write(&mut self, out: &mut dyn Write, bytes: &[u8]) -> io::Result<()>;
    /// Whatever is pending after the last chunk.
    fn finish(&mut self, out: &mut dyn Write) -> io::Result<()>;
}

/// `raw`: the bytes as they are.
pub struct Raw;

impl Sink for Raw {
    fn write(&mut self, out: &mut dyn Write, bytes: &[u8]) -> io::Result<()> {
        out.write_all(bytes)
    }

    fn finish(&mut self, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

/// A value that is worth a remark when found at an 8-byte-aligned address (a pointer hint).
pub type HintFn<'a> = &'a dyn Fn(u64) -> Option<String>;

fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// Width of the address column: enough hex digits for the last address, at least 8.
pub fn addr_width(end: u64) -> usize {
    let digits = (64 - end.leading_zeros() as usize).div_ceil(4);
    digits.max(8)
}

/// One row: address, hex bytes (a gap after eight), gutter. `changed` marks bytes to highlight.
pub fn write_row(
    out: &mut dyn Write,
    addr: u64,
    width: usize,
    bytes: &[u8],
    changed: Option<&[bool]>,
    pal: Palette,
) -> io::Result<()> {
    write_row_of(out, addr, width, bytes, changed, pal, ROW)
}

/// [`write_row`] with `per_row` bytes a row (16, or fewer to fit a narrow terminal).
pub fn write_row_of(
    out: &mut dyn Write,
    addr: u64,
    width: usize,
    bytes: &[u8],
    changed: Option<&[bool]>,
    pal: Palette,
    per_row: usize,
) -> io::Result<()> {
    let mut line = String::with_capacity(width + 4 * per_row + 8);
    line.push_str(&format!("{addr:0width$x}  "));
    let hot = |i: usize| changed.is_some_and(|c| c.get(i).copied().unwrap_or(false));
    for i in 0..per_row {
        if i == 8 {
            line.push(' ');
        }
        match bytes.get(i) {
            Some(b) if hot(i) => line.push_str(&pal.changed(&format!("{b:02x}"))),
            Some(b) => line.push_str(&format!("{b:02x}")),
            None => line.push_str("  "),
        }
        line.push(' ');
    }
    line.push_str(" |");
    for (i, &b) in bytes.iter().enumerate() {
        let c = if printable(b) { b as char } else { '.' };
        if hot(i) {
            line.push_str(&pal.changed(&c.to_string()));
        } else {
            line.push(c);
        }
    }
    line.push('|');
    writeln!(out, "{line}")
}

/// Hints for the 8-byte-aligned values in a row, as lines to print under it.
pub fn row_hints(addr: u64, bytes: &[u8], hint: HintFn) -> Vec<(u64, u64, String)> {
    let mut found = Vec::new();
    let first = (8 - (addr % 8) as usize) % 8;
    let mut i = first;
    while i + 8 <= bytes.len() {
        let v = u64::from_ne_bytes(bytes[i..i + 8].try_into().unwrap_or_default());
        if v != 0 {
            if let Some(h) = hint(v) {
                found.push((addr + i as u64, v, h));
            }
        }
        i += 8;
    }
    found
}

/// A streaming hex dump.
pub struct HexWriter<'a> {
    width: usize,
    pal: Palette,
    hint: HintFn<'a>,
    /// Address of the next row.
    addr: u64,
    /// Bytes of a row not yet complete (chunks need not end on a row boundary).
    partial: Vec<u8>,
    /// The last row printed or folded, for folding.
    prev: Option<[u8; ROW]>,
    folding: bool,
}

impl<'a> HexWriter<'a> {
    pub fn new(base: u64, len: u64, pal: Palette, hint: HintFn<'a>) -> HexWriter<'a> {
        HexWriter {
            width: addr_width(base.saturating_add(len)),
            pal,
            hint,
            addr: base,
            partial: Vec::with_capacity(ROW),
            prev: None,
            folding: false,
        }
    }

    fn full_row(&mut self, out: &mut dyn Write, row: &[u8]) -> io::Result<()> {
        let arr: [u8; ROW] = row.try_into().unwrap_or([0; ROW]);
        if self.prev == Some(arr) {
            if !self.folding {
                writeln!(out, "*")?;
                self.folding = true;
            }
        } else {
            self.folding = false;
            self.print(out, row)?;
            self.prev = Some(arr);
        }
        self.addr += ROW as u64;
        Ok(())
    }

    fn print(&self, out: &mut dyn Write, row: &[u8]) -> io::Result<()> {
        write_row(out, self.addr, self.width, row, None, self.pal)?;
        for (at, value, hint) in row_hints(self.addr, row, self.hint) {
            let text = format!("  ^ {value:#x} at {at:#x}: {hint}");
            writeln!(out, "{}", self.pal.warn(&text))?;
        }
        Ok(())
    }
}

impl Sink for HexWriter<'_> {
    fn write(&mut self, out: &mut dyn Write, mut bytes: &[u8]) -> io::Result<()> {
        if !self.partial.is_empty() {
            let take = (ROW - self.partial.len()).min(bytes.len());
            self.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.partial.len() < ROW {
                return Ok(());
            }
            let row = std::mem::take(&mut self.partial);
            self.full_row(out, &row)?;
        }
        let mut rows = bytes.chunks_exact(ROW);
        for row in &mut rows {
            self.full_row(out, row)?;
        }
        self.partial.extend_from_slice(rows.remainder());
        Ok(())
    }

    /// Print the last partial row and the end address, as `hexdump -C` does.
    fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if !self.partial.is_empty() {
            let row = std::mem::take(&mut self.partial);
            self.print(out, &row)?;
            self.addr += row.len() as u64;
        }
        writeln!(out, "{:0w$x}", self.addr, w = self.width)
    }
}

/// Runs of at least [`MIN_RUN`] printable ASCII characters with their addresses, like `strings`.
pub struct TextWriter {
    width: usize,
    /// Address of the next byte.
    addr: u64,
    run: Vec<u8>,
    run_start: u64,
}

pub const MIN_RUN: usize = 4;
/// A longer run is printed in pieces of this size, so memory stays bounded.
const MAX_RUN: usize = 4096;

impl TextWriter {
    pub fn new(base: u64, len: u64) -> TextWriter {
        TextWriter {
            width: addr_width(base.saturating_add(len)),
            addr: base,
            run: Vec::new(),
            run_start: base,
        }
    }

    fn flush_run(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.run.len() >= MIN_RUN {
            write!(out, "{:0w$x}  ", self.run_start, w = self.width)?;
            out.write_all(&self.run)?;
            writeln!(out)?;
        }
        self.run.clear();
        Ok(())
    }
}

impl Sink for TextWriter {
    fn write(&mut self, out: &mut dyn Write, bytes: &[u8]) -> io::Result<()> {
        for &b in bytes {
            if printable(b) {
                if self.run.is_empty() {
                    self.run_start = self.addr;
                }
                self.run.push(b);
                if self.run.len() == MAX_RUN {
                    self.flush_run(out)?;
                    self.run_start = self.addr + 1;
                }
            } else {
                self.flush_run(out)?;
            }
            self.addr += 1;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        self.flush_run(out)
    }
}

/// `dump --json` without a layout: JSON Lines, one `{address, hex}` object per 16-byte row.
pub struct JsonRows {
    addr: u64,
    partial: Vec<u8>,
}

impl JsonRows {
    pub fn new(base: u64) -> JsonRows {
        JsonRows {
            addr: base,
            partial: Vec::with_capacity(ROW),
        }
    }

    fn row(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let hex: String = self.partial.iter().map(|b| format!("{b:02x}")).collect();
        let v = serde_json::json!({"address": format!("{:#x}", self.addr), "hex": hex});
        super::write_json_compact(out, &v)?;
        writeln!(out)?;
        self.addr += self.partial.len() as u64;
        self.partial.clear();
        Ok(())
    }
}

impl Sink for JsonRows {
    fn write(&mut self, out: &mut dyn Write, bytes: &[u8]) -> io::Result<()> {
        for &b in bytes {
            self.partial.push(b);
            if self.partial.len() == ROW {
                self.row(out)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if !self.partial.is_empty() {
            self.row(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFF: Palette = Palette { on: false };

    fn dump(base: u64, data: &[u8], chunk: usize, hint: HintFn) -> String {
        let mut out = Vec::new();
        let mut w = HexWriter::new(base, data.len() as u64, OFF, hint);
        for c in data.chunks(chunk) {
            w.write(&mut out, c).unwrap();
        }
        w.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn none(_: u64) -> Option<String> {
        None
    }

    #[test]
    fn rows_like_hexdump_c() {
        let text = dump(0, b"Hello, world!\n\x1b[31mred\x00", 5, &none);
        assert_eq!(
            text,
            "00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0a 1b 5b  |Hello, world!..[|\n\
             00000010  33 31 6d 72 65 64 00                              |31mred.|\n\
             00000017\n"
        );
    }

    #[test]
    fn identical_rows_fold_into_a_star() {
        let mut data = vec![0u8; 64];
        data.extend_from_slice(&[1; 16]);
        let text = dump(0x7f00_0000_0000, &data, 7, &none);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("7f0000000000  00 00"));
        assert_eq!(lines[1], "*");
        assert!(lines[2].starts_with("7f0000000040  01 01"));
        assert_eq!(lines[3], "7f0000000050");
    }

    #[test]
    fn pointer_hints_follow_their_row() {
        let mut data = vec![0u8; 16];
        data[8..16].copy_from_slice(&0x5555_0000_1000u64.to_ne_bytes());
        let hint = |v: u64| (v == 0x5555_0000_1000).then(|| "pointer into pid 1 [heap]".into());
        let text = dump(0x1000, &data, 16, &hint);
        assert!(
            text.contains("^ 0x555500001000 at 0x1008: pointer into pid 1 [heap]"),
            "{text}"
        );
    }

    #[test]
    fn highlighted_row_has_escapes_only_with_colour() {
        let mut out = Vec::new();
        let changed = [true, false];
        write_row(&mut out, 0, 8, b"ab", Some(&changed), Palette { on: true }).unwrap();
        assert!(out.contains(&0x1b));
        out.clear();
        write_row(&mut out, 0, 8, b"ab", Some(&changed), OFF).unwrap();
        assert!(!out.contains(&0x1b));
    }

    #[test]
    fn text_runs_with_addresses_across_chunks() {
        let data = b"\x00\x01abc\x00hello\x1b[2Jworld\xff";
        let mut out = Vec::new();
        let mut w = TextWriter::new(0x100, data.len() as u64);
        for c in data.chunks(3) {
            w.write(&mut out, c).unwrap();
        }
        w.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "00000106  hello\n0000010c  [2Jworld\n");
    }
}
