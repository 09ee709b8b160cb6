//! Everything that writes output: tables, JSON, hex, struct layouts, colour. Writes to
//! `&mut dyn Write`; never reads the kernel.

pub mod color;
pub mod hex;
pub mod ipc;
pub mod json;
pub mod key;
pub mod layout;
pub mod limits;
pub mod locks;
pub mod maps;
pub mod prometheus;
pub mod risk;
pub mod rm;
pub mod sanitize;
pub mod segments;
pub mod table;
pub mod trace;
pub mod types;
pub mod verdict;
pub mod watch;

use std::io::Write;

/// Write a serde value as pretty JSON followed by a newline, streamed: nothing the size of the
/// document is held (a listing of 200,000 rows would otherwise keep its whole text twice), and
/// the bytes are those of `serde_json::to_string_pretty` passed through [`crate::text::json_safe`].
pub fn write_json<T: serde::Serialize + ?Sized>(
    out: &mut dyn Write,
    value: &T,
) -> anyhow::Result<()> {
    let mut buf = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, SafePretty::default());
    value.serialize(&mut ser)?;
    buf.write_all(b"\n")?;
    buf.flush()?;
    Ok(())
}

/// serde_json's pretty layout, with every unsafe character that it leaves raw inside strings
/// spelled `\uXXXX` as [`crate::text::json_safe`] spells it (they occur only inside strings).
#[derive(Default)]
struct SafePretty(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for SafePretty {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_safe_fragment(w, fragment)
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// One value as compact JSON (a JSON Lines record, without its newline), escaped like
/// [`write_json`]: no raw C1 or bidi character reaches a terminal. Streamed into `out` 512 bytes at
/// a time, never held whole (a record of 64 Mi elements is 256 MB of JSON), and `out` is not
/// flushed. (It used to escape through a 64 KiB buffer made per record and flush `out` after
/// each one: `trace --json` made two write(2) calls per event, each through trace's own
/// system-call hook, and freed 64 KiB per event, which made malloc consolidate its free lists
/// every time.)
pub fn write_json_compact<T: serde::Serialize + ?Sized>(
    out: &mut dyn Write,
    value: &T,
) -> std::io::Result<()> {
    // The serializer's many small writes land in a buffer of a known type (inlined copies);
    // `out` gets a call per 512 bytes, about one per trace event. Straight into `out`, each
    // piece was a call through `dyn Write`: half the tracer's time at 265,000 events/s (`perf
    // record`). Not larger: glibc's malloc of 1 KiB or more first consolidates its free lists
    // (5% of the tracer's time with 8 KiB).
    let mut buf = std::io::BufWriter::with_capacity(512, out);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, SafeCompact);
    value.serialize(&mut ser).map_err(std::io::Error::from)?;
    // Hands the rest to `out` without flushing `out` itself.
    buf.into_inner().map(drop).map_err(|e| e.into_error())
}

/// serde_json's compact layout, with the escapes of [`SafePretty`].
struct SafeCompact;

impl serde_json::ser::Formatter for SafeCompact {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_safe_fragment(w, fragment)
    }
}

/// A piece of a JSON string as serde_json escaped it (control characters below 0x20 already
/// are), with every other unsafe character spelled `\uXXXX` by [`crate::text::json_safe`]
/// (borrowed, without a copy, for the plain ASCII nearly every fragment is).
fn write_safe_fragment<W: ?Sized + Write>(w: &mut W, fragment: &str) -> std::io::Result<()> {
    w.write_all(crate::text::json_safe(fragment).as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn compact_json_escapes_like_the_whole_text() {
        let v = serde_json::json!({"name": "a\u{202e}b\u{9b}c\u{e9}".repeat(20_000)});
        let whole = crate::text::json_safe(&serde_json::to_string(&v).unwrap()).into_owned();
        let mut out = Vec::new();
        super::write_json_compact(&mut out, &v).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), whole);
        // Control characters and DEL too.
        let v = serde_json::json!({"k\u{1b}": "x\u{7f}y\u{2066}"});
        let mut out = Vec::new();
        super::write_json_compact(&mut out, &v).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            crate::text::json_safe(&serde_json::to_string(&v).unwrap())
        );
    }
}

#[cfg(test)]
mod json_tests {
    /// The streamed writer gives the bytes of the whole-text one, unsafe characters escaped.
    #[test]
    fn streamed_json_is_the_pretty_text_made_safe() {
        let value = serde_json::json!([
            {"path": "/dev/shm/a\u{202e}b\u{9b}c\u{1b}d\"é", "n": [1, 2], "e": {}, "l": []},
            [],
            {"k\u{2066}": null}
        ]);
        let mut out = Vec::new();
        super::write_json(&mut out, &value).unwrap();
        let whole = serde_json::to_string_pretty(&value).unwrap();
        let expected = format!("{}\n", crate::text::json_safe(&whole));
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert!(expected.contains("\\u202e") && expected.contains("\\u009b"));
    }
}
