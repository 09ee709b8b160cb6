//! `shmtool watch`: read the target every interval and show what changed — a redrawn screen on a
//! colour terminal, one line per changing refresh otherwise, JSON Lines with `--json`.
//!
//! Memory is the region once (the previous snapshot) plus one chunk: each refresh reads a chunk,
//! compares it with the snapshot, and copies it over only where it differs.

use super::dump::{decoding, layout, layout_span, open_target, short_read};
use super::{Ctx, Run};
use crate::attach::{reader, Target};
use crate::cli::WatchArgs;
use crate::error::{Error, Exit};
use crate::render::hex::{addr_width, ROW};
use crate::render::layout::{Decoded, Layout};
use crate::render::watch::{
    term, write_change_line, write_json, write_record_lines, Change, Refresh, Screen,
};
use crate::units::{human_size, parse_duration};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The shortest interval: below this a watch is a busy loop.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The most watch holds a copy of without an explicit --length.
const MAX_REGION: u64 = 1 << 30;
/// Changed bytes kept per refresh for printing; more are counted, not kept.
const MAX_KEPT: u64 = 1 << 20;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C and SIGTERM end the loop cleanly, so the terminal is restored.
fn catch_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        let _ = unsafe { sigaction(sig, &act) };
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Redraw in place (a terminal with colour on: escapes are allowed).
    Screen,
    /// One line per refresh that changed something.
    Lines,
    Json,
}

/// Local time of day `HH:MM:SS.mmm`, and UTC RFC 3339 with milliseconds.
fn clocks(t: SystemTime) -> (String, String) {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as libc::time_t;
    let ms = d.subsec_millis();
    // SAFETY: localtime_r/gmtime_r write only into the tm we own.
    let mut local: libc::tm = unsafe { std::mem::zeroed() };
    let mut utc: libc::tm = unsafe { std::mem::zeroed() };
    unsafe {
        libc::localtime_r(&secs, &mut local);
        libc::gmtime_r(&secs, &mut utc);
    }
    (
        format!(
            "{:02}:{:02}:{:02}.{ms:03}",
            local.tm_hour, local.tm_min, local.tm_sec
        ),
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            utc.tm_year + 1900,
            utc.tm_mon + 1,
            utc.tm_mday,
            utc.tm_hour,
            utc.tm_min,
            utc.tm_sec
        ),
    )
}

/// Terminal rows, or 24 when unknown.
fn term_rows() -> usize {
    // SAFETY: TIOCGWINSZ fills the winsize we own.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_row > 0 {
        ws.ws_row as usize
    } else {
        24
    }
}

/// Compare `new` with `old` (at offset `pos`), record the runs that differ, and update `old`.
pub fn diff_into(old: &mut [u8], new: &[u8], pos: u64, r: &mut Refresh) {
    let mut i = 0;
    while i < new.len() {
        if old[i] == new[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < new.len() && old[i] != new[i] {
            i += 1;
        }
        r.changed_bytes += (i - start) as u64;
        let kept: u64 = r.changes.iter().map(|c| c.new.len() as u64).sum();
        if kept < MAX_KEPT {
            r.changes.push(Change {
                offset: pos + start as u64,
                old: old[start..i].to_vec(),
                new: new[start..i].to_vec(),
            });
        } else {
            r.truncated = true;
        }
    }
    old.copy_from_slice(new);
}

/// Whether any change touches `[start, end)`.
fn touched(changes: &[Change], start: u64, end: u64) -> bool {
    let i = changes.partition_point(|c| c.offset + (c.new.len() as u64) <= start);
    changes.get(i).is_some_and(|c| c.offset < end)
}

struct Watcher<'a> {
    ctx: &'a Ctx,
    target: Target,
    len: u64,
    snapshot: Vec<u8>,
    layout: Option<Layout>,
    mode: Mode,
}

impl Watcher<'_> {
    /// Read the whole range once into the snapshot.
    fn first_read(&mut self) -> anyhow::Result<()> {
        let snap = &mut self.snapshot;
        let s = reader::stream(&self.target.reader, self.len, |pos, b| {
            snap[pos as usize..pos as usize + b.len()].copy_from_slice(b);
            Ok(())
        })?;
        if s.is_short() {
            return Err(short_read(self.ctx, &self.target, s.got, self.len).into());
        }
        Ok(())
    }

    fn refresh(&mut self) -> anyhow::Result<Refresh> {
        let (clock, time) = clocks(SystemTime::now());
        let mut r = Refresh {
            time,
            clock,
            ..Refresh::default()
        };
        let snap = &mut self.snapshot;
        let streamed = reader::stream(&self.target.reader, self.len, |pos, b| {
            let old = &mut snap[pos as usize..pos as usize + b.len()];
            if old != b {
                diff_into(old, b, pos, &mut r);
            }
            Ok(())
        });
        let s = match streamed {
            Ok(s) => s,
            Err(e) => return Err(self.gone_or(e)),
        };
        if s.is_short() {
            return Err(self.gone_or(short_read(self.ctx, &self.target, s.got, self.len).into()));
        }
        Ok(r)
    }

    /// The target's disappearance explains an error better than the error itself.
    fn gone_or(&self, e: anyhow::Error) -> anyhow::Error {
        match self.target.liveness.gone(&self.ctx.sys) {
            Some(why) => self.stopped(why),
            None => e,
        }
    }

    /// `System V segment 5 was removed; stopped watching System V segment 5`.
    fn stopped(&self, why: Error) -> anyhow::Error {
        match why {
            Error::Vanished { what, how } => Error::vanished(
                what,
                format!("{how}; stopped watching {}", self.target.label),
            )
            .into(),
            other => other.into(),
        }
    }

    fn record_count(&self) -> usize {
        match &self.layout {
            Some(l) => (self.len as usize).saturating_sub(l.size()) / l.stride() + 1,
            None => 0,
        }
    }

    /// Decode record `i` from the snapshot.
    fn decode(&self, l: &Layout, i: usize) -> (u64, Vec<Decoded>) {
        let off = i * l.stride();
        let end = (off + l.stride()).min(self.snapshot.len());
        let mut bytes = self.snapshot[off..end].to_vec();
        bytes.resize(l.stride(), 0);
        let addr = self.target.base + off as u64;
        (addr, l.decode(&bytes, addr, &|_| None))
    }

    /// Records whose bytes changed in `r` (all of them when `r` is None).
    fn changed_records(&self, r: Option<&Refresh>) -> Vec<(usize, u64, Vec<Decoded>)> {
        let Some(l) = &self.layout else {
            return Vec::new();
        };
        (0..self.record_count())
            .filter(|&i| {
                let off = (i * l.stride()) as u64;
                r.is_none_or(|r| touched(&r.changes, off, off + l.size() as u64))
            })
            .map(|i| {
                let (addr, d) = self.decode(l, i);
                (i, addr, d)
            })
            .collect()
    }

    fn emit(
        &self,
        out: &mut dyn Write,
        r: &Refresh,
        n: u64,
        rate: f64,
        first: bool,
    ) -> anyhow::Result<()> {
        match self.mode {
            Mode::Screen => self.draw(out, r, n, rate)?,
            Mode::Json if r.changed_bytes > 0 => {
                let recs = self.changed_records(Some(r));
                let view: Vec<(u64, u64, &[Decoded])> = recs
                    .iter()
                    .map(|(i, a, d)| (*i as u64, *a, d.as_slice()))
                    .collect();
                write_json(out, self.target.base, r, &view)?;
            }
            Mode::Lines if first || r.changed_bytes > 0 => {
                if self.layout.is_some() {
                    let recs = self.changed_records((!first).then_some(r));
                    let view: Vec<(usize, &[Decoded])> =
                        recs.iter().map(|(i, _, d)| (*i, d.as_slice())).collect();
                    write_record_lines(out, &r.clock, &view, self.record_count() > 1)?;
                } else if !first {
                    write_change_line(out, self.target.base, r)?;
                }
            }
            _ => {}
        }
        out.flush()?;
        Ok(())
    }

    fn draw(&self, out: &mut dyn Write, r: &Refresh, n: u64, rate: f64) -> anyhow::Result<()> {
        let rows = term_rows().saturating_sub(3).max(1);
        let shown = match &self.layout {
            Some(l) => (rows * l.stride()).min(self.snapshot.len()),
            None => (rows * ROW).min(self.snapshot.len()),
        };
        let header = format!(
            "{}  {}  refresh {n}  {} changed ({}/s){}",
            self.target.label,
            r.clock,
            human_size(r.changed_bytes),
            human_size(rate as u64),
            if shown < self.snapshot.len() {
                format!(
                    "  showing {} of {}",
                    human_size(shown as u64),
                    human_size(self.len)
                )
            } else {
                String::new()
            }
        );
        let mut changed = vec![false; shown];
        for c in &r.changes {
            let (s, e) = (c.offset as usize, c.offset as usize + c.new.len());
            if s < shown {
                changed[s..e.min(shown)].iter_mut().for_each(|b| *b = true);
            }
        }
        let screen = Screen {
            header: crate::render::sanitize::escape(&header),
            pal: self.ctx.palette(),
            rows,
            base: self.target.base,
            width: addr_width(self.target.base + self.len),
            data: &self.snapshot[..shown],
            changed: &changed,
        };
        match &self.layout {
            None => screen.write_hex(out)?,
            Some(l) => {
                let recs: Vec<(Vec<Decoded>, Vec<bool>)> = (0..self.record_count().min(rows))
                    .map(|i| {
                        let base = (i * l.stride()) as u64;
                        let mask = l
                            .fields
                            .iter()
                            .map(|f| {
                                let s = base + f.offset as u64;
                                touched(&r.changes, s, s + f.size() as u64)
                            })
                            .collect();
                        (self.decode(l, i).1, mask)
                    })
                    .collect();
                let view: Vec<(&[Decoded], Vec<bool>)> = recs
                    .iter()
                    .map(|(d, m)| (d.as_slice(), m.clone()))
                    .collect();
                screen.write_records(out, &view)?;
            }
        }
        Ok(())
    }

    /// Refresh until the count is reached, a signal arrives, or the target goes away.
    fn run(
        &mut self,
        out: &mut dyn Write,
        interval: Duration,
        count: Option<u64>,
    ) -> anyhow::Result<()> {
        self.first_read()?;
        let (clock, time) = clocks(SystemTime::now());
        let initial = Refresh {
            time,
            clock,
            ..Refresh::default()
        };
        self.emit(out, &initial, 1, 0.0, true)?;
        crate::hooks::pause_point("watch:shown");
        let start = Instant::now();
        let mut last = start;
        let mut n = 1u64;
        while count.is_none_or(|c| n < c) {
            let due = start + interval * n as u32;
            while Instant::now() < due {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    return Err(Exit(130).into());
                }
                std::thread::sleep((due - Instant::now()).min(Duration::from_millis(20)));
            }
            if let Some(why) = self.target.liveness.gone(&self.ctx.sys) {
                return Err(self.stopped(why));
            }
            let r = self.refresh()?;
            n += 1;
            let now = Instant::now();
            let rate = r.changed_bytes as f64 / (now - last).as_secs_f64().max(1e-3);
            last = now;
            self.emit(out, &r, n, rate, false)?;
        }
        Ok(())
    }
}

impl Run for WatchArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let interval = parse_duration(&self.interval)
            .map_err(|e| Error::BadInput(format!("--interval: {e}")))?;
        if interval < MIN_INTERVAL {
            return Err(Error::BadInput("--interval must be at least 10ms".into()).into());
        }
        if self.count == Some(0) {
            return Err(Error::BadInput("--count must be at least 1".into()).into());
        }
        let lay = layout(&self.target)?;
        let target = open_target(ctx, &self.target)?;
        let (lay, count) = decoding(ctx, &self.target, &target, lay)?;
        let len = match &lay {
            Some(l) => layout_span(&target, l, count)?,
            None => target.len,
        };
        if len > MAX_REGION && self.target.length.is_none() {
            return Err(Error::BadInput(format!(
                "{} is {}; watch keeps a copy of what it watches, so give --length (at most {})",
                target.label,
                human_size(len),
                human_size(MAX_REGION)
            ))
            .into());
        }
        let mode = if self.json {
            Mode::Json
        } else if ctx.stdout_tty && ctx.color {
            Mode::Screen
        } else {
            Mode::Lines
        };
        let mut w = Watcher {
            ctx,
            snapshot: vec![0; len as usize],
            target,
            len,
            layout: lay,
            mode,
        };
        catch_signals();
        if mode == Mode::Screen {
            write!(out, "{}", term::ENTER)?;
        }
        let result = w.run(out, interval, self.count);
        if mode == Mode::Screen {
            write!(out, "{}", term::LEAVE)?;
            out.flush()?;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_finds_runs_and_updates_the_snapshot() {
        let mut old = b"abcdefgh".to_vec();
        let mut r = Refresh::default();
        diff_into(&mut old, b"aXcdYZgh", 100, &mut r);
        assert_eq!(old, b"aXcdYZgh");
        assert_eq!(r.changed_bytes, 3);
        assert_eq!(r.changes.len(), 2);
        assert_eq!(r.changes[0].offset, 101);
        assert_eq!(r.changes[1].old, b"ef");
        assert_eq!(r.changes[1].new, b"YZ");
        assert!(touched(&r.changes, 104, 106));
        assert!(touched(&r.changes, 100, 102));
        assert!(!touched(&r.changes, 102, 104));
        assert!(!touched(&r.changes, 106, 200));
    }

    #[test]
    fn clocks_have_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let (local, utc) = clocks(t);
        assert_eq!(utc, "2023-11-14T22:13:20.123Z");
        assert!(local.ends_with(".123"), "{local}");
    }
}
