//! Everything that writes output: tables, JSON, hex, struct layouts, colour. Writes to
//! `&mut dyn Write`; never reads the kernel.

pub mod color;
pub mod hex;
pub mod key;
pub mod layout;
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
pub mod watch;

use std::io::Write;

/// Write a serde value as pretty JSON followed by a newline.
pub fn write_json<T: serde::Serialize + ?Sized>(
    out: &mut dyn Write,
    value: &T,
) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}
