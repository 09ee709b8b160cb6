//! `trace` and `history` output: one line per event, coloured by what happened.

use crate::model::TraceEvent;
use crate::render::sanitize::escape;
use owo_colors::OwoColorize;
use std::io::Write;

/// How to print events.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub color: bool,
    /// Add to an event's CLOCK_MONOTONIC time to get wall-clock time (unused for logged events,
    /// which carry their wall time).
    pub wall_offset_ns: i128,
}

pub fn write_header(out: &mut dyn Write, v: &View) -> std::io::Result<()> {
    let h = format!(
        "{:<23} {:<7} {:>7} {:<15} {:<10} {:<6} {:<32} DETAIL",
        "TIME", "EVENT", "PID", "COMM", "USER", "KIND", "OBJECT"
    );
    if v.color {
        writeln!(out, "{}", h.bold())
    } else {
        writeln!(out, "{h}")
    }
}

/// What the object is, in a few words: `shmid 7 key 0x00001234`, a path, a memfd name.
pub fn object(e: &TraceEvent) -> String {
    match (&e.path, e.id, &e.key) {
        (Some(p), _, _) => escape(p),
        (None, Some(id), Some(k)) => format!("shmid {id} key {k}"),
        (None, Some(id), None) => format!("shmid {id}"),
        (None, None, _) => "?".into(),
    }
}

fn detail(e: &TraceEvent) -> String {
    let mut parts = Vec::new();
    if let Some(s) = e.size {
        parts.push(crate::units::human_size(s));
    }
    if let Some(a) = &e.addr {
        parts.push(format!("at {a}"));
    }
    if let Some(d) = &e.detail {
        parts.push(escape(d));
    }
    parts.join(" ")
}

/// The local date and time of an RFC 3339 UTC stamp, to the millisecond.
pub fn local(time: &str) -> String {
    let secs = parse_rfc3339_secs(time);
    let millis = time
        .split_once('.')
        .map(|(_, f)| f.chars().take(3).collect::<String>())
        .unwrap_or_default();
    match secs {
        Some(s) => format!("{}.{millis:0<3}", crate::units::local_time(s)),
        None => escape(time),
    }
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS…Z`.
pub fn parse_rfc3339_secs(t: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86400 + hh * 3600 + mm * 60 + ss)
}

pub fn write_line(out: &mut dyn Write, e: &TraceEvent, v: &View) -> std::io::Result<()> {
    let event = format!("{:<7}", e.event);
    let event = if v.color {
        match e.event.as_str() {
            "create" | "memfd" => event.green().to_string(),
            "remove" | "unlink" => event.red().bold().to_string(),
            "attach" | "mmap" | "open" => event.cyan().to_string(),
            "detach" => event.dimmed().to_string(),
            _ => event.yellow().to_string(),
        }
    } else {
        event
    };
    let comm: String = escape(&e.comm).chars().take(15).collect();
    writeln!(
        out,
        "{:<23} {event} {:>7} {:<15} {:<10} {:<6} {:<32} {}",
        local(&e.time),
        e.pid,
        comm,
        escape(&e.user),
        e.kind,
        object(e),
        detail(e)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let ns = 1_795_340_516_123_456_789i128;
        let t = crate::units::rfc3339(ns);
        assert_eq!(parse_rfc3339_secs(&t), Some(1_795_340_516));
    }
}
