//! Records too large to hold, decoded as their bytes arrive (issue 13: "layout records
//! stream"). A record of `x:u8[67108864]` used to be gathered whole before it was decoded:
//! 64 MiB held per record, whatever the output. Here each field is decoded as soon as its
//! bytes are in: an array element by element (a scalar's bytes held, or one string of a
//! `char[N][M]`), any other field whole (its own size: a scalar, a string, a bit-field).
//! The text and JSON are the same as [`RecordView`] writes for a whole record.

use super::*;

/// Records with a stride above this are streamed; smaller ones are gathered and decoded whole.
pub const STREAM_OVER: usize = 1 << 20;

/// Where the decoder is inside the current record.
#[derive(Debug, Default)]
pub struct Streamer {
    /// Bytes of the current record seen so far.
    pos: usize,
    /// The field being decoded (`fields.len()`: all done, skipping tail padding).
    field: usize,
    /// Whether the record's start, and the current field's name, have been written.
    opened: bool,
    named: bool,
    /// The bytes of the current unit: one array element, or a whole field.
    pending: Vec<u8>,
    /// Elements of the current array written.
    elem: usize,
    /// Pointer hints kept (field, hint), and how many more were found.
    hints: (Vec<(usize, String)>, u64),
}

/// An array field's dimensions that are streamed: all of them, but a `char` array's last one
/// (its strings are decoded whole, as [`RecordView`] does).
fn outer(f: &Field) -> &[usize] {
    if f.scalar == Scalar::Char {
        &f.dims[..f.dims.len().saturating_sub(1)]
    } else {
        &f.dims
    }
}

fn streamed(f: &Field) -> bool {
    f.meaning == Meaning::Plain && !outer(f).is_empty() && f.size() > 0
}

/// Bytes decoded at once: one element of a streamed array, else the whole field.
fn unit(f: &Field) -> usize {
    if streamed(f) {
        f.size() / outer(f).iter().product::<usize>().max(1)
    } else {
        f.size()
    }
}

/// Whether `layout`'s records are streamed: large, with fields in order and none sharing
/// bytes (a union's members do, and are decoded from a gathered record instead).
pub fn fits(layout: &Layout) -> bool {
    layout.stride() > STREAM_OVER
        && layout
            .fields
            .windows(2)
            .all(|w| w[0].offset + w[0].size() <= w[1].offset)
}

/// An element of an array of integers up to 32 bits (which carry no pointer hints), read
/// as [`decode_scalar`] reads it; None for every other element.
fn small_int(f: &Field, b: &[u8]) -> Option<i64> {
    macro_rules! int {
        ($t:ty) => {{
            let b = b.try_into().ok()?;
            Some(i64::from(match f.order {
                Order::Native => <$t>::from_ne_bytes(b),
                Order::Big => <$t>::from_be_bytes(b),
                Order::Little => <$t>::from_le_bytes(b),
            }))
        }};
    }
    if f.dims.len() != outer(f).len() {
        return None;
    }
    match f.scalar {
        Scalar::U8 => int!(u8),
        Scalar::I8 => int!(i8),
        Scalar::U16 => int!(u16),
        Scalar::I16 => int!(i16),
        Scalar::U32 => int!(u32),
        Scalar::I32 => int!(i32),
        _ => None,
    }
}

fn json_token(out: &mut dyn Write, v: &impl serde::Serialize) -> io::Result<()> {
    let text = serde_json::to_string(v).map_err(io::Error::from)?;
    out.write_all(crate::text::json_safe(&text).as_bytes())
}

impl LayoutWriter<'_> {
    /// Feed bytes of the record stream to the streaming decoder.
    pub(super) fn stream(&mut self, out: &mut dyn Write, mut bytes: &[u8]) -> io::Result<()> {
        let stride = self.layout.stride();
        let nfields = self.layout.fields.len();
        while !bytes.is_empty() {
            if !self.st.opened {
                self.open_record(out)?;
            }
            if self.st.field < nfields {
                let f = &self.layout.fields[self.st.field];
                if self.st.pos < f.offset {
                    // Padding before the field.
                    let n = (f.offset - self.st.pos).min(bytes.len());
                    self.st.pos += n;
                    bytes = &bytes[n..];
                    continue;
                }
                if !self.st.named {
                    self.name_field(out)?;
                }
                let n = self.batch(out, bytes)?;
                if n > 0 {
                    bytes = &bytes[n..];
                    continue;
                }
                let take = (unit(f) - self.st.pending.len()).min(bytes.len());
                self.st.pending.extend_from_slice(&bytes[..take]);
                self.st.pos += take;
                bytes = &bytes[take..];
                if self.st.pending.len() == unit(f) {
                    self.emit_unit(out)?;
                }
                continue;
            }
            // Tail padding; then the next record.
            let n = (stride - self.st.pos).min(bytes.len());
            self.st.pos += n;
            bytes = &bytes[n..];
            if self.st.pos == stride {
                self.st = Streamer::default();
                self.index += 1;
            }
        }
        Ok(())
    }

    /// The middle of a one-dimensional array of small integers, written a few thousand
    /// elements at a time straight from `bytes` (the first and last elements, with their
    /// brackets, go through [`Self::emit_unit`]). Returns the bytes consumed.
    fn batch(&mut self, out: &mut dyn Write, bytes: &[u8]) -> io::Result<usize> {
        use std::fmt::Write as _;
        let f = &self.layout.fields[self.st.field];
        let size = unit(f);
        if !self.st.pending.is_empty()
            || self.st.elem == 0
            || !streamed(f)
            || f.dims.len() != 1
            || small_int(f, &bytes[..size.min(bytes.len())]).is_none()
        {
            return Ok(0);
        }
        let left = f.dims[0] - 1 - self.st.elem;
        let n = left.min(bytes.len() / size).min(4096);
        let sep = if self.json { "," } else { ", " };
        let mut text = String::with_capacity(n * 6);
        for c in bytes[..n * size].chunks_exact(size) {
            let v = small_int(f, c).unwrap_or_default();
            let _ = write!(text, "{sep}{v}");
        }
        out.write_all(text.as_bytes())?;
        self.st.elem += n;
        self.st.pos += n * size;
        Ok(n * size)
    }

    /// A record cut short (the read ended inside it): close what was opened, and say so.
    pub(super) fn stream_finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if !self.st.opened || self.st.field >= self.layout.fields.len() {
            return Ok(());
        }
        let f = &self.layout.fields[self.st.field];
        if self.st.named && streamed(f) {
            let n = outer(f).len();
            if self.st.elem == 0 {
                write!(out, "{}", "[".repeat(n))?;
            }
            write!(out, "{}", "]".repeat(n))?;
        } else if self.st.named {
            out.write_all(if self.json { b"null" } else { b"?" })?;
        }
        let at = self.st.pos;
        self.st.field = self.layout.fields.len();
        self.close_record(out, Some(at))?;
        self.st = Streamer::default();
        Ok(())
    }

    fn record_addr(&self) -> u64 {
        self.base + self.index * self.layout.stride() as u64
    }

    fn open_record(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.json {
            write!(
                out,
                "{{\"index\":{},\"address\":\"{:#x}\",\"fields\":{{",
                self.index,
                self.record_addr()
            )?;
        } else if self.numbered {
            write!(out, "[{}] ", self.index)?;
        }
        self.st.opened = true;
        Ok(())
    }

    fn name_field(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let f = &self.layout.fields[self.st.field];
        if self.json {
            if self.st.field > 0 {
                out.write_all(b",")?;
            }
            json_token(out, &f.name)?;
            out.write_all(b":")?;
        } else {
            if self.st.field > 0 {
                out.write_all(b" ")?;
            }
            write!(out, "{}=", f.name)?;
        }
        self.st.named = true;
        Ok(())
    }

    /// Decode and write the unit just gathered: an element (with the brackets and separator
    /// before it, and the closing ones after the last), or a whole field.
    fn emit_unit(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let i = self.st.field;
        let f = &self.layout.fields[i];
        let at = self.record_addr() + (self.st.pos - self.st.pending.len()) as u64;
        let mut found = Vec::new();
        let done = if streamed(f) {
            let dims = outer(f);
            let k = self.st.elem;
            if k == 0 {
                write!(out, "{}", "[".repeat(dims.len()))?;
            } else {
                // How many inner arrays end here: each closes and the next one opens.
                let mut ends = 0;
                let mut inner = 1;
                for d in dims[1..].iter().rev() {
                    inner *= d;
                    if !k.is_multiple_of(inner) {
                        break;
                    }
                    ends += 1;
                }
                let sep = if self.json { "," } else { ", " };
                write!(out, "{}{sep}{}", "]".repeat(ends), "[".repeat(ends))?;
            }
            let rest = &f.dims[dims.len()..];
            if let Some(n) = small_int(f, &self.st.pending) {
                // An integer reads the same in text and JSON; the hot path of a huge array.
                write!(out, "{n}")?;
            } else {
                let (text, value) = decode_dims(
                    f.scalar,
                    f.order,
                    rest,
                    &self.st.pending,
                    at,
                    self.hint,
                    &mut found,
                );
                self.write_value(out, &text, &value)?;
            }
            self.st.elem += 1;
            let last = self.st.elem == dims.iter().product::<usize>();
            if last {
                write!(out, "{}", "]".repeat(dims.len()))?;
            }
            last
        } else {
            let (text, value) = decode_field(f, &self.st.pending, at, self.hint, &mut found);
            self.write_value(out, &text, &value)?;
            true
        };
        for h in found {
            if self.st.hints.0.len() < MAX_HINTS {
                self.st.hints.0.push((i, h));
            } else {
                self.st.hints.1 += 1;
            }
        }
        self.st.pending.clear();
        if done {
            self.st.field += 1;
            self.st.named = false;
            self.st.elem = 0;
            if self.st.field == self.layout.fields.len() {
                self.close_record(out, None)?;
            }
        }
        Ok(())
    }

    fn write_value(&self, out: &mut dyn Write, text: &str, value: &Value) -> io::Result<()> {
        if self.json {
            json_token(out, value)
        } else {
            out.write_all(text.as_bytes())
        }
    }

    /// The record's end: its hints; `cut` when the bytes ended inside it.
    fn close_record(&mut self, out: &mut dyn Write, cut: Option<usize>) -> io::Result<()> {
        let (kept, more) = &self.st.hints;
        if self.json {
            out.write_all(b"},\"hints\":")?;
            let mut hints: Vec<&str> = kept.iter().map(|(_, h)| h.as_str()).collect();
            let more_text = format!("and {more} more");
            if *more > 0 {
                hints.push(&more_text);
            }
            json_token(out, &hints)?;
            if let Some(at) = cut {
                write!(out, ",\"cut_short_at\":{at}")?;
            }
            out.write_all(b"}\n")?;
        } else {
            if let Some(at) = cut {
                write!(out, " (record cut short after {at} bytes)")?;
            }
            writeln!(out)?;
            for (i, h) in kept {
                let line = format!("  ^ {}: {h}", self.layout.fields[*i].name);
                writeln!(out, "{}", self.pal.warn(&line))?;
            }
            if *more > 0 {
                writeln!(out, "{}", self.pal.warn(&format!("  ^ and {more} more")))?;
            }
        }
        Ok(())
    }
}
