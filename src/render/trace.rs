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
    /// Fit every line into this many columns (a terminal's), as ps(1) does: narrower columns,
    /// and the object and detail cut with an ellipsis. None: whole lines (a pipe, a file).
    pub width: Option<usize>,
    /// Where lines are narrowed, show the time of day only (a live trace, whose date is
    /// today's), not the date (`history`, whose events span days).
    pub time_of_day: bool,
}

/// Below this width the columns narrow (a whole line with a short object takes about 120).
const NARROW_BELOW: usize = 120;

/// Widths of TIME, COMM and USER.
fn columns(v: &View) -> (usize, usize, usize) {
    match v.width {
        Some(w) if w < NARROW_BELOW => (if v.time_of_day { 12 } else { 23 }, 12, 8),
        _ => (23, 15, 10),
    }
}

/// `line` cut to `v.width` columns (counted in characters), with an ellipsis where cut.
fn fit(line: String, v: &View) -> String {
    match v.width {
        Some(w) if line.chars().count() > w => {
            let mut cut: String = line.chars().take(w.saturating_sub(1)).collect();
            cut.push_str(super::table::ellipsis());
            cut
        }
        _ => line,
    }
}

pub fn write_header(out: &mut dyn Write, v: &View) -> std::io::Result<()> {
    let (tw, cw, uw) = columns(v);
    let h = fit(
        format!(
            "{:<tw$} {:<7} {:>7} {:<cw$} {:<uw$} {:<6} {:<32} DETAIL",
            "TIME", "EVENT", "PID", "COMM", "USER", "KIND", "OBJECT"
        ),
        v,
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
    let (tw, cw, uw) = columns(v);
    let mut time = local(&e.time);
    if tw == 12 {
        time = time.chars().skip(11).collect();
    }
    let comm: String = escape(&e.comm).chars().take(cw).collect();
    let user: String = escape(&e.user).chars().take(uw).collect();
    // Cut as plain text; then the event is coloured where the cut left it whole.
    let line = fit(
        format!(
            "{time:<tw$} {:<7} {:>7} {comm:<cw$} {user:<uw$} {:<6} {:<32} {}",
            e.event,
            e.pid,
            e.kind,
            object(e),
            detail(e)
        )
        .trim_end()
        .to_string(),
        v,
    );
    let head = format!("{time:<tw$} ");
    let event = format!("{:<7}", e.event);
    let rest = match line
        .strip_prefix(&head)
        .and_then(|r| r.strip_prefix(&event))
    {
        Some(rest) if v.color => rest,
        // No colour, or a line cut before its event ends.
        _ => return writeln!(out, "{line}"),
    };
    let event = match e.event.as_str() {
        "create" | "memfd" => event.green().to_string(),
        "remove" | "unlink" => event.red().bold().to_string(),
        "attach" | "mmap" | "open" => event.cyan().to_string(),
        "detach" | "munmap" => event.dimmed().to_string(),
        _ => event.yellow().to_string(),
    };
    writeln!(out, "{head}{event}{rest}")
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

    fn event() -> TraceEvent {
        TraceEvent {
            time: "2026-12-03T14:53:44.845123456Z".into(),
            mono_ns: 1,
            event: "mmap".into(),
            pid: 7536,
            tid: 7536,
            comm: "python3".into(),
            uid: 0,
            user: "root".into(),
            container: None,
            kind: "posix".into(),
            id: None,
            key: None,
            path: Some("/dev/shm/psm_0123456789abcdef0123".into()),
            size: Some(8192),
            addr: Some("0x7f5023efc000".into()),
            detail: Some("read-write".into()),
        }
    }

    fn lines(v: &View) -> Vec<String> {
        let mut out = Vec::new();
        write_header(&mut out, v).unwrap();
        write_line(&mut out, &event(), v).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    /// On an 80-column terminal no line wraps: the time of day only, narrower columns, the
    /// rest cut with an ellipsis; in colour, the same visible text. Unfitted, the whole line.
    #[test]
    fn lines_fit_the_terminal_as_ps_does() {
        let mut v = View {
            color: false,
            wall_offset_ns: 0,
            width: Some(80),
            time_of_day: true,
        };
        let narrow = lines(&v);
        for l in &narrow {
            assert!(l.chars().count() <= 80, "{l:?}");
        }
        let line = &narrow[1];
        assert!(
            line.starts_with(&crate::render::trace::local(&event().time)[11..]),
            "{line}"
        );
        assert!(
            line.contains(" mmap ") && line.contains("/dev/shm/psm_"),
            "{line}"
        );
        assert_eq!(line.chars().count(), 80, "{line}");
        v.color = true;
        let coloured = lines(&v);
        assert!(coloured[1].contains('\x1b'));
        let plain = |s: &str| {
            let mut out = String::new();
            let mut it = s.chars();
            while let Some(c) = it.next() {
                if c == '\x1b' {
                    for c in it.by_ref() {
                        if c == 'm' {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            out
        };
        assert_eq!(plain(&coloured[1]), narrow[1]);
        // history keeps the date.
        v.color = false;
        v.time_of_day = false;
        let dated = lines(&v);
        assert!(dated[1].starts_with("2026-12-03") || dated[1].starts_with("2026-12-0"));
        assert!(dated.iter().all(|l| l.chars().count() <= 80));
        // A pipe: whole lines.
        v.width = None;
        let whole = lines(&v);
        assert!(
            whole[1].ends_with("8 KiB at 0x7f5023efc000 read-write"),
            "{}",
            whole[1]
        );
        // Absurdly narrow: still no panic, still within the width.
        v.width = Some(5);
        v.color = true;
        assert!(lines(&v).iter().all(|l| plain(l).chars().count() <= 5));
    }
}
