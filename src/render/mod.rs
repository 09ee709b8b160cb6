//! Everything that writes output: tables, JSON, hex, struct layouts, colour. Writes to
//! `&mut dyn Write`; never reads the kernel.

pub mod color;
pub mod hex;
pub mod ipc;
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

/// Write a serde value as pretty JSON followed by a newline.
pub fn write_json<T: serde::Serialize + ?Sized>(
    out: &mut dyn Write,
    value: &T,
) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    writeln!(out, "{}", crate::text::json_safe(&text))?;
    Ok(())
}

/// One value as compact JSON (a JSON Lines record, without its newline), escaped like
/// [`write_json`]: no raw C1 or bidi character reaches a terminal.
pub fn write_json_compact<T: serde::Serialize + ?Sized>(
    out: &mut dyn Write,
    value: &T,
) -> std::io::Result<()> {
    let text = serde_json::to_string(value).map_err(std::io::Error::from)?;
    out.write_all(crate::text::json_safe(&text).as_bytes())?;
    Ok(())
}
