//! `shmtool watch`: read the target every interval and show what changed — a redrawn screen on a
//! colour terminal, one line per changing refresh otherwise, JSON Lines with `--json`.
//!
//! Memory is bounded whatever the region: up to [`COPY_LIMIT`] it is the region once (the
//! previous snapshot) plus one chunk, and each refresh reads a chunk, compares it with the
//! snapshot, and copies it over only where it differs. Above that, watch keeps a copy of the
//! first [`HEAD`] bytes (what a screen shows) and one 64-bit hash per block of the rest: a
//! changed block is reported whole, without its old bytes (`"old": null` in JSON).

use super::dump::{decoding, layout, layout_span, open_target, short_read};
use super::{Ctx, Run};
use crate::attach::reader::{self, InPlace, Reader, Streamed};
use crate::attach::{Target, CHUNK};
use crate::cli::WatchArgs;
use crate::error::{Error, Exit};
use crate::render::hex::addr_width;
use crate::render::layout::{Layout, RecordView};
use crate::render::watch::{
    row_bytes, term, write_change_line, write_first_state, write_json, write_record_lines, Change,
    Refresh, Screen,
};
use crate::units::{human_size, parse_duration};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The shortest interval: below this a watch is a busy loop.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The most watch reads each refresh without an explicit --length.
const MAX_REGION: u64 = 1 << 30;
/// The largest region kept as a byte-for-byte copy; above it, blocks are hashed.
pub const COPY_LIMIT: u64 = 256 << 20;
/// Bytes at the start of a hashed region that are still kept as a copy (for the screen).
const HEAD: usize = 64 << 10;
/// Changed bytes kept per refresh for printing; more are counted, not kept.
const MAX_KEPT: u64 = 1 << 20;
/// Runs of changes kept per refresh; more are counted, not kept.
const MAX_RUNS: usize = 1 << 16;

/// Signals caught and not yet handled, one bit each (bit = signal number).
static PENDING: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    PENDING.fetch_or(1 << sig, Ordering::SeqCst);
}

/// Take the pending signals.
fn take_signals() -> u64 {
    PENDING.swap(0, Ordering::SeqCst)
}

/// The signals that end a watch: it then restores the terminal and exits with 128 + signal.
const ENDING: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Catch every signal that ends or stops a watch, so that the terminal is restored first
/// (and, after SIGCONT, taken back and redrawn); SIGWINCH redraws at the new size.
fn catch_signals(screen: bool) {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    let mut sigs = vec![
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ];
    if screen {
        sigs.extend([Signal::SIGTSTP, Signal::SIGCONT, Signal::SIGWINCH]);
    }
    for sig in sigs {
        // SAFETY: the handler only does an atomic read-modify-write, which is
        // async-signal-safe.
        let _ = unsafe { sigaction(sig, &act) };
    }
}

/// Stop as Ctrl-Z asks, after the caller has restored the terminal. SIGSTOP cannot be caught,
/// so we stop at once; the shell sees a stopped job as after SIGTSTP.
fn stop_now() {
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Redraw in place: a terminal with colour on (never with colour off, which prints no
    /// escape byte).
    Screen,
    /// The first state, then one line per refresh that changed something.
    Lines,
    /// The first state, then one JSON object per refresh that changed something.
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

/// Terminal (rows, columns), or 24x80 when unknown.
fn term_size() -> (usize, usize) {
    // SAFETY: winsize is plain old data; TIOCGWINSZ writes only into the one we own.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to our winsize for this ioctl.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    let rows = if ok && ws.ws_row > 0 { ws.ws_row } else { 24 };
    let cols = if ok && ws.ws_col > 0 { ws.ws_col } else { 80 };
    (rows as usize, cols as usize)
}

/// Whether `r` has room for a change of `size` bytes (old and new together).
fn has_room(r: &Refresh, size: u64) -> bool {
    r.kept + size <= MAX_KEPT && r.changes.len() < MAX_RUNS
}

/// Keep a change in `r` if the budget allows, else mark the refresh truncated.
fn keep(r: &mut Refresh, c: Change) {
    let size = (c.new.len() + c.old.as_ref().map_or(0, Vec::len)) as u64;
    if has_room(r, size) {
        r.kept += size;
        r.changes.push(c);
    } else {
        r.truncated = true;
    }
}

thread_local! {
    /// Byte vectors of changes already shown, for the next refresh's changes: at 1% of
    /// 256 MiB changing, 65,536 runs are kept a refresh, two vectors each, and allocating and
    /// freeing them anew was a fifth of a refresh (malloc's consolidation).
    static SPARE: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty vector, from [`SPARE`] when it has one.
fn spare_buf() -> Vec<u8> {
    SPARE.with(|s| s.borrow_mut().pop()).unwrap_or_default()
}

/// Give a refresh's byte vectors back to [`SPARE`] once it has been shown.
fn recycle(r: Refresh) {
    SPARE.with(|s| {
        let mut s = s.borrow_mut();
        for c in r.changes {
            s.extend(c.old);
            s.push(c.new);
        }
        for b in s.iter_mut() {
            b.clear();
        }
    });
}

/// Record the run `[s, e)` of `old`/`new` (at offset `pos`) as changed, and copy it into `old`.
/// Inlined: at 1% of 256 MiB changing, it runs 2.7 million times a refresh.
///
/// # Safety
/// `new` points to at least `e` readable bytes (see [`diff_raw`]).
#[inline]
unsafe fn changed_run(
    old: &mut [u8],
    new: *const u8,
    s: usize,
    e: usize,
    pos: u64,
    r: &mut Refresh,
) {
    let run = &mut old[s..e];
    r.changed_bytes += run.len() as u64;
    // SAFETY: the caller's contract: new[s..e] is readable; read by raw pointer, never as a
    // reference (it may be another process's memory, mapped).
    let copy = |to: &mut [u8]| unsafe {
        std::ptr::copy_nonoverlapping(new.add(s), to.as_mut_ptr(), to.len());
    };
    if has_room(r, 2 * run.len() as u64) {
        let mut fresh = spare_buf();
        fresh.resize(run.len(), 0);
        copy(&mut fresh);
        let mut was = spare_buf();
        was.extend_from_slice(run);
        keep(
            r,
            Change {
                offset: pos + s as u64,
                old: Some(was),
                new: fresh,
            },
        );
    } else {
        // Counted, not kept: no copy made.
        r.truncated = true;
    }
    copy(run);
}

/// One bit per byte of two 64-byte blocks, set where they differ (bit k for byte k).
///
/// # Safety
/// `b` points to 64 readable bytes.
#[cfg(target_arch = "x86_64")]
unsafe fn diff_mask(a: &[u8; 64], b: *const u8) -> u64 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8};
    let mut equal = 0u64;
    for k in 0..4 {
        // SAFETY: SSE2 is part of x86_64; the 16 bytes at 16k lie inside `a` and, by the
        // caller's contract, inside what `b` points to; both read unaligned.
        let m = unsafe {
            let x = _mm_loadu_si128(a.as_ptr().add(16 * k).cast::<__m128i>());
            let y = _mm_loadu_si128(b.add(16 * k).cast::<__m128i>());
            _mm_movemask_epi8(_mm_cmpeq_epi8(x, y))
        };
        equal |= u64::from(m as u16) << (16 * k);
    }
    !equal
}

/// One bit per byte of two 64-byte blocks, set where they differ (bit k for byte k).
///
/// # Safety
/// `b` points to 64 readable bytes.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn diff_mask(a: &[u8; 64], b: *const u8) -> u64 {
    // SAFETY: the caller's contract.
    (0..64).fold(0, |m, k| {
        m | (u64::from(a[k] != unsafe { b.add(k).read() }) << k)
    })
}

/// Compare `new` with `old` (at offset `pos`), record the runs that differ, and update `old`
/// (only where it differs). Returns the steps taken (blocks compared and run edges found, and
/// the bytes of a short tail): linear in the input however many runs there are, which a test
/// pins. 64 bytes are compared at a time into a mask of the bytes that differ, and runs are
/// found from the mask's edges, not byte by byte.
pub fn diff_into(old: &mut [u8], new: &[u8], pos: u64, r: &mut Refresh) -> u64 {
    let n = new.len().min(old.len());
    // SAFETY: new has n readable bytes.
    unsafe { diff_raw(&mut old[..n], new.as_ptr(), pos, r) }
}

/// [`diff_into`] of `old.len()` bytes at `new`, which are read by raw pointer only: in place,
/// they are a mapping of the target that its writers change meanwhile.
///
/// # Safety
/// `new` points to `old.len()` readable bytes that stay mapped during the call.
unsafe fn diff_raw(old: &mut [u8], new: *const u8, pos: u64, r: &mut Refresh) -> u64 {
    let n = old.len();
    let blocks = n / 64 * 64;
    let mut steps = 0u64;
    // Start of the run of changed bytes we are in, if any.
    let mut run: Option<usize> = None;
    let mut i = 0;
    while i < blocks {
        steps += 1;
        let Ok(a) = <&[u8; 64]>::try_from(&old[i..i + 64]) else {
            break;
        };
        // SAFETY: i + 64 <= n: inside what the caller vouches for.
        let d = unsafe { diff_mask(a, new.add(i)) };
        // From bit `k` on, the next edge: a differing byte outside a run, an equal one inside.
        let mut k = 0u32;
        while k < 64 {
            let edges = if run.is_some() { !d } else { d } >> k;
            if edges == 0 {
                break;
            }
            steps += 1;
            k += edges.trailing_zeros();
            let at = i + k as usize;
            match run.take() {
                // SAFETY: at <= n.
                Some(s) => unsafe { changed_run(old, new, s, at, pos, r) },
                None => run = Some(at),
            }
        }
        i += 64;
    }
    // The last few bytes, one at a time.
    for k in i..n {
        steps += 1;
        // SAFETY: k < n.
        let differs = old[k] != unsafe { new.add(k).read() };
        match (differs, run) {
            (true, None) => run = Some(k),
            (false, Some(s)) => {
                // SAFETY: k < n.
                unsafe { changed_run(old, new, s, k, pos, r) };
                run = None;
            }
            _ => {}
        }
    }
    if let Some(s) = run {
        // SAFETY: the caller's contract covers n bytes.
        unsafe { changed_run(old, new, s, n, pos, r) };
    }
    // Every differing byte was in a run, each copied as it closed: `old` is `new` now, with
    // the unchanged bytes never written.
    steps
}

/// A 64-bit hash of a block, four lanes wide so that it runs near memory speed. Not
/// cryptographic: it only has to notice that a block changed.
pub fn block_hash(b: &[u8]) -> u64 {
    const K: [u64; 4] = [
        0x9e37_79b9_7f4a_7c15,
        0xc2b2_ae3d_27d4_eb4f,
        0x1656_67b1_9e37_79f9,
        0x85eb_ca77_c2b2_ae63,
    ];
    let mut lanes = K;
    let mut words = b.chunks_exact(32);
    for w in &mut words {
        for (l, (lane, k)) in lanes.iter_mut().zip(K).enumerate() {
            let v = u64::from_le_bytes(w[l * 8..l * 8 + 8].try_into().unwrap_or_default());
            *lane = (*lane ^ v).wrapping_mul(k).rotate_left(29);
        }
    }
    let mut h = b.len() as u64;
    for lane in lanes {
        h = (h ^ lane).wrapping_mul(K[0]).rotate_left(31);
    }
    for &x in words.remainder() {
        h = (h ^ x as u64).wrapping_mul(K[1]);
    }
    h ^ (h >> 32)
}

/// What watch remembers of the region between refreshes (see the module comment).
struct Snapshot {
    /// The first bytes (all of them up to [`COPY_LIMIT`]), diffed byte for byte.
    exact: Vec<u8>,
    /// Size of a hashed block (a power of two, at most one read chunk); 0 when nothing is
    /// hashed.
    block: usize,
    /// One hash per block after `exact`.
    hashes: Vec<u64>,
}

impl Snapshot {
    fn new(len: u64) -> Snapshot {
        if len <= COPY_LIMIT {
            return Snapshot {
                exact: vec![0; len as usize],
                block: 0,
                hashes: Vec::new(),
            };
        }
        // At most 2^21 blocks (16 MiB of hashes), each at least a page.
        let block = ((len >> 21) as usize)
            .next_power_of_two()
            .clamp(4096, CHUNK);
        // A multiple of the block, so that blocks never straddle a read chunk.
        let exact = HEAD.max(block);
        Snapshot {
            exact: vec![0; exact],
            block,
            hashes: vec![0; (len - exact as u64).div_ceil(block as u64) as usize],
        }
    }

    /// Take in a chunk read at `pos`; with `r`, record what changed since the last time.
    fn update(&mut self, pos: u64, bytes: &[u8], mut r: Option<&mut Refresh>) {
        let split = self.head_part(pos, bytes.len());
        let (head, rest) = bytes.split_at(split);
        if !head.is_empty() {
            let old = &mut self.exact[pos as usize..pos as usize + head.len()];
            match r.as_deref_mut() {
                Some(r) if old != head => {
                    diff_into(old, head, pos, r);
                }
                Some(_) => {}
                None => old.copy_from_slice(head),
            }
        }
        self.update_hashed(pos + split as u64, rest, r);
    }

    /// [`Snapshot::update`] with the `n` bytes at `pos` of a mapping, compared where they lie
    /// (the copied part) or copied a block at a time into `buf` (the hashed part). After a
    /// fault ([`InPlace::faulted`]) what was taken in is zeros, not the target's bytes.
    fn update_mapped(
        &mut self,
        m: &InPlace,
        pos: u64,
        n: usize,
        buf: &mut Vec<u8>,
        mut r: Option<&mut Refresh>,
    ) {
        let split = self.head_part(pos, n);
        if split > 0 {
            let old = &mut self.exact[pos as usize..pos as usize + split];
            if let Some(src) = m.at(pos, split) {
                match r.as_deref_mut() {
                    // SAFETY: `at` vouches for `split` bytes, mapped while `m` lives.
                    Some(r) => unsafe {
                        diff_raw(old, src, pos, r);
                    },
                    // SAFETY: as above; read by raw pointer into memory of ours.
                    None => unsafe {
                        std::ptr::copy_nonoverlapping(src, old.as_mut_ptr(), split);
                    },
                }
            }
        }
        let mut at = pos + split as u64;
        let end = pos + n as u64;
        while at < end {
            let k = (end - at).min(self.block.max(1) as u64) as usize;
            buf.resize(k, 0);
            if !m.copy_at(at, buf) {
                return;
            }
            self.update_hashed(at, buf, r.as_deref_mut());
            at += k as u64;
        }
    }

    /// How many of the `n` bytes at `pos` fall in the copied part.
    fn head_part(&self, pos: u64, n: usize) -> usize {
        (self.exact.len() as u64).saturating_sub(pos).min(n as u64) as usize
    }

    /// Take in bytes at `at` of the hashed part.
    fn update_hashed(&mut self, mut at: u64, rest: &[u8], mut r: Option<&mut Refresh>) {
        for b in rest.chunks(self.block.max(1)) {
            let i = ((at - self.exact.len() as u64) / self.block as u64) as usize;
            let h = block_hash(b);
            if let Some(r) = r.as_deref_mut() {
                if self.hashes[i] != h {
                    r.changed_bytes += b.len() as u64;
                    keep(
                        r,
                        Change {
                            offset: at,
                            old: None,
                            new: b.to_vec(),
                        },
                    );
                }
            }
            self.hashes[i] = h;
            at += b.len() as u64;
        }
    }

    /// The bytes kept as a copy (the whole region unless it is hashed).
    fn bytes(&self) -> &[u8] {
        &self.exact
    }
}

/// Whether any change touches `[start, end)`.
fn touched(changes: &[Change], start: u64, end: u64) -> bool {
    let i = changes.partition_point(|c| c.offset + (c.new.len() as u64) <= start);
    changes.get(i).is_some_and(|c| c.offset < end)
}

/// Bytes of an in-place mapping compared at a time, between two looks for a fault.
const IN_PLACE_CHUNK: usize = 1 << 20;

/// Take the target's `len` bytes into `snap` (with `r`, recording what changed): from
/// `in_place` while it is usable (its checks are made again before each pass), else through
/// `reader`. When a page of the mapping cannot be had mid-pass (truncated meanwhile), the
/// mapping is dropped and the chunk and the rest are read through `reader`, which reports the
/// short read as before. `point` is a pause point reached after the checks, for the race tests.
fn read_region(
    in_place: &mut Option<InPlace>,
    reader: &Reader,
    snap: &mut Snapshot,
    len: u64,
    point: Option<&str>,
    mut r: Option<&mut Refresh>,
) -> anyhow::Result<Streamed> {
    let through_reader = |from: u64, snap: &mut Snapshot, r: Option<&mut Refresh>| {
        let mut r = r;
        reader::stream_from(reader, from, len, CHUNK, |pos, b| {
            snap.update(pos, b, r.as_deref_mut());
            Ok(())
        })
    };
    let Some(m) = in_place.as_ref().filter(|m| m.usable()) else {
        *in_place = None;
        return through_reader(0, snap, r);
    };
    if let Some(p) = point {
        crate::hooks::pause_point(p);
    }
    let mut buf = Vec::new();
    let mut pos = 0u64;
    while pos < len {
        let n = (IN_PLACE_CHUNK as u64).min(len - pos) as usize;
        snap.update_mapped(m, pos, n, &mut buf, r.as_deref_mut());
        if m.faulted() {
            *in_place = None;
            return through_reader(pos, snap, r);
        }
        pos += n as u64;
    }
    Ok(Streamed {
        wanted: len,
        got: len,
    })
}

struct Watcher<'a> {
    ctx: &'a Ctx,
    target: Target,
    len: u64,
    snapshot: Snapshot,
    /// The target mapped for reading in place, when it can be ([`InPlace`]).
    in_place: Option<InPlace>,
    layout: Option<Layout>,
    mode: Mode,
}

impl Watcher<'_> {
    /// Read the whole range once into the snapshot.
    fn first_read(&mut self) -> anyhow::Result<()> {
        let s = read_region(
            &mut self.in_place,
            &self.target.reader,
            &mut self.snapshot,
            self.len,
            None,
            None,
        )?;
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
        let streamed = read_region(
            &mut self.in_place,
            &self.target.reader,
            &mut self.snapshot,
            self.len,
            Some("watch:in-place"),
            Some(&mut r),
        );
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

    /// Record `i`'s address and bytes, borrowed from the snapshot, not copied: a record of
    /// `u8[67108864]` is decoded where it lies. The last record may lack its tail padding
    /// (at least [`Layout::size`] bytes are there: `len` came from [`Layout::span`]), which no
    /// field reads.
    fn record_bytes(&self, l: &Layout, i: usize) -> (u64, &[u8]) {
        let off = i * l.stride();
        let snap = self.snapshot.bytes();
        let end = (off + l.stride()).min(snap.len());
        (self.target.base + off as u64, &snap[off.min(end)..end])
    }

    /// Records whose bytes changed in `r` (all of them when `r` is None): index, address,
    /// bytes. Decoded only as they are written.
    fn changed_records(&self, r: Option<&Refresh>) -> Vec<(usize, u64, &[u8])> {
        let Some(l) = &self.layout else {
            return Vec::new();
        };
        (0..self.record_count())
            .filter(|&i| {
                let off = (i * l.stride()) as u64;
                r.is_none_or(|r| touched(&r.changes, off, off + l.size() as u64))
            })
            .map(|i| {
                let (addr, b) = self.record_bytes(l, i);
                (i, addr, b)
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
        let no_hint = |_: u64| None;
        match (self.mode, &self.layout) {
            (Mode::Screen, _) => self.draw(out, r, n, rate)?,
            (Mode::Json, _) if first || r.changed_bytes > 0 => {
                let recs = self.changed_records((!first).then_some(r));
                let views: Vec<RecordView> = match &self.layout {
                    Some(l) => recs
                        .iter()
                        .map(|(i, a, b)| RecordView::new(l, b, *a, *i as u64, &no_hint))
                        .collect(),
                    None => Vec::new(),
                };
                let initial = first.then(|| self.snapshot.bytes());
                write_json(out, self.target.base, r, initial, &views)?;
            }
            (Mode::Lines, Some(l)) if first || r.changed_bytes > 0 => {
                let recs = self.changed_records((!first).then_some(r));
                let views: Vec<(usize, RecordView)> = recs
                    .iter()
                    .map(|(i, a, b)| (*i, RecordView::new(l, b, *a, *i as u64, &no_hint)))
                    .collect();
                write_record_lines(out, &r.clock, &views, self.record_count() > 1)?;
            }
            (Mode::Lines, None) if first => write_first_state(
                out,
                &r.clock,
                &crate::text::escape(&self.target.label),
                self.target.base,
                self.len,
                self.snapshot.bytes(),
            )?,
            (Mode::Lines, None) if r.changed_bytes > 0 => {
                write_change_line(out, self.target.base, r)?
            }
            _ => {}
        }
        out.flush()?;
        Ok(())
    }

    fn draw(&self, out: &mut dyn Write, r: &Refresh, n: u64, rate: f64) -> anyhow::Result<()> {
        let (term_rows, cols) = term_size();
        // The header, a blank line, the rows, and one line free so that nothing scrolls.
        let rows = term_rows.saturating_sub(3).max(1);
        let width = addr_width(self.target.base + self.len);
        let per_row = row_bytes(width, cols);
        let snap = self.snapshot.bytes();
        let shown = match &self.layout {
            Some(l) => (rows * l.stride()).min(snap.len()),
            None => (rows * per_row).min(snap.len()),
        };
        let header = format!(
            "{}  {}  #{n}  {} changed ({}/s){}",
            self.target.label,
            r.clock,
            human_size(r.changed_bytes),
            human_size(rate as u64),
            if (shown as u64) < self.len {
                format!("  {} of {}", human_size(shown as u64), human_size(self.len))
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
            header: crate::text::escape(&header),
            pal: self.ctx.palette(),
            rows,
            cols,
            base: self.target.base,
            width,
            data: &snap[..shown],
            changed: &changed,
        };
        match &self.layout {
            None => screen.write_hex(out)?,
            Some(l) => {
                let recs: Vec<(u64, &[u8], Vec<bool>)> = (0..self.record_count().min(rows))
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
                        let (addr, bytes) = self.record_bytes(l, i);
                        (addr, bytes, mask)
                    })
                    .collect();
                let no_hint = |_: u64| None;
                let views: Vec<(RecordView, Vec<bool>)> = recs
                    .iter()
                    .enumerate()
                    .map(|(i, (a, b, m))| {
                        (RecordView::new(l, b, *a, i as u64, &no_hint), m.clone())
                    })
                    .collect();
                screen.write_records(out, &views)?;
            }
        }
        Ok(())
    }

    /// Handle the signals that arrived: Ok(true) to redraw, Err to end the watch (128 + signal).
    fn on_signals(&self, out: &mut dyn Write) -> anyhow::Result<bool> {
        let got = take_signals();
        if got == 0 {
            return Ok(false);
        }
        if let Some(&sig) = ENDING.iter().find(|&&s| got & (1 << s) != 0) {
            return Err(Exit(128 + sig as u8).into());
        }
        if got & (1 << libc::SIGTSTP) != 0 {
            // Ctrl-Z: give the shell its screen back, stop, and take ours back on fg.
            write!(out, "{}", term::LEAVE)?;
            out.flush()?;
            stop_now();
            write!(out, "{}", term::ENTER)?;
            return Ok(true);
        }
        // SIGCONT (after a stop we did not see) or SIGWINCH.
        Ok(self.mode == Mode::Screen)
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
        // What the screen shows now, to redraw it after a stop or a resize.
        let mut shown = initial;
        while count.is_none_or(|c| n < c) {
            let due = start + interval * n as u32;
            while Instant::now() < due {
                if self.on_signals(out)? {
                    self.draw(out, &shown, n, 0.0)?;
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
            if self.mode == Mode::Screen {
                recycle(std::mem::replace(&mut shown, r));
            } else {
                recycle(r);
            }
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
        // A terminal is redrawn only with colour on: redrawing needs cursor escapes, and with
        // colour off (NO_COLOR, `--color never`, TERM=dumb) the contract allows no escape byte
        // at all, so those get line mode (the first state, then one line per change).
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let mode = if self.json {
            Mode::Json
        } else if ctx.stdout_tty && !dumb && ctx.color {
            Mode::Screen
        } else {
            Mode::Lines
        };
        if lay.is_some() && len > COPY_LIMIT {
            return Err(Error::BadInput(format!(
                "--layout decodes at most {} of records in watch; give a smaller --layout-repeat",
                human_size(COPY_LIMIT)
            ))
            .into());
        }
        let mut w = Watcher {
            ctx,
            snapshot: Snapshot::new(len),
            in_place: InPlace::new(&target.reader, len),
            target,
            len,
            layout: lay,
            mode,
        };
        catch_signals(mode == Mode::Screen);
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
        assert_eq!(r.changes[1].old.as_deref(), Some(&b"ef"[..]));
        assert_eq!(r.changes[1].new, b"YZ");
        assert!(touched(&r.changes, 104, 106));
        assert!(touched(&r.changes, 100, 102));
        assert!(!touched(&r.changes, 102, 104));
        assert!(!touched(&r.changes, 106, 200));
    }

    #[test]
    fn runs_across_words_are_one_run() {
        let mut old = vec![0u8; 21];
        let mut new = old.clone();
        new[6..11].fill(1);
        new[20] = 2;
        let mut r = Refresh::default();
        diff_into(&mut old, &new, 0, &mut r);
        let runs: Vec<(u64, usize)> = r.changes.iter().map(|c| (c.offset, c.new.len())).collect();
        assert_eq!(runs, [(6, 5), (20, 1)]);
        assert_eq!(r.changed_bytes, 6);
        assert_eq!(old, new);
    }

    /// A run: offset, old bytes, new bytes.
    type Run = (u64, Vec<u8>, Vec<u8>);

    /// Runs and the changed count, found one byte at a time.
    fn naive(old: &[u8], new: &[u8]) -> (Vec<Run>, u64) {
        let mut runs = Vec::new();
        let mut k = 0;
        while k < new.len() {
            if old[k] == new[k] {
                k += 1;
                continue;
            }
            let s = k;
            while k < new.len() && old[k] != new[k] {
                k += 1;
            }
            runs.push((s as u64, old[s..k].to_vec(), new[s..k].to_vec()));
        }
        let changed = runs.iter().map(|r| r.1.len() as u64).sum();
        (runs, changed)
    }

    #[test]
    fn the_block_diff_finds_what_a_byte_diff_finds() {
        // xorshift: the same cases every run.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for case in 0..300 {
            let n = (next() % 700) as usize;
            let old: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            // Sparse, dense and all-changed stretches, at every alignment.
            let density = [1, 8, 64, 100][case % 4];
            let new: Vec<u8> = old
                .iter()
                .map(|&b| if next() % 100 < density { b ^ 0x5a } else { b })
                .collect();
            let (want, changed) = naive(&old, &new);
            let mut snap = old.clone();
            let mut r = Refresh::default();
            diff_into(&mut snap, &new, 0, &mut r);
            assert_eq!(snap, new, "case {case}");
            assert_eq!(r.changed_bytes, changed, "case {case}");
            let got: Vec<Run> = r
                .changes
                .iter()
                .map(|c| (c.offset, c.old.clone().unwrap_or_default(), c.new.clone()))
                .collect();
            assert_eq!(got, want, "case {case}");
        }
    }

    /// Every 16th byte of `n` bytes changed.
    fn every_16th(n: usize) -> (Vec<u8>, Vec<u8>) {
        let old = vec![0u8; n];
        let new: Vec<u8> = (0..n).map(|i| u8::from(i % 16 == 0)).collect();
        (old, new)
    }

    #[test]
    fn a_diff_of_n_runs_does_linear_work_and_keeps_a_bounded_list() {
        // 64 KiB, 256 KiB, 1 MiB and 16 MiB with every 16th byte changed, fed in read-sized
        // chunks: the work per byte is the same at every size.
        let mut per_byte = Vec::new();
        for n in [64 << 10, 256 << 10, 1 << 20, 16 << 20] {
            let (mut old, new) = every_16th(n);
            let mut r = Refresh::default();
            let mut steps = 0;
            for (k, (o, c)) in old.chunks_mut(CHUNK).zip(new.chunks(CHUNK)).enumerate() {
                steps += diff_into(o, c, (k * CHUNK) as u64, &mut r);
            }
            assert_eq!(r.changed_bytes, n as u64 / 16);
            assert!(r.changes.len() <= MAX_RUNS && r.kept <= MAX_KEPT);
            assert_eq!(r.truncated, n / 16 > MAX_RUNS, "{n}");
            per_byte.push(steps as f64 / n as f64);
        }
        let (lo, hi) = per_byte
            .iter()
            .fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
        assert!(hi <= 1.5 * lo, "work per byte grows: {per_byte:?}");
        assert!(hi <= 2.5, "more than 2.5 steps a byte: {per_byte:?}");
    }

    #[test]
    fn hashed_regions_report_changed_blocks_without_old_bytes() {
        let len = COPY_LIMIT + (8 << 20);
        let mut snap = Snapshot::new(len);
        assert!(snap.block >= 4096 && snap.exact.len() == HEAD);
        assert!(snap.hashes.len() <= 1 << 21);
        // Memory is the head and the hashes, not the region.
        assert!(snap.exact.len() + snap.hashes.len() * 8 < 8 << 20);
        let chunk = vec![0u8; CHUNK];
        let mut pos = 0;
        while pos < len {
            let n = (len - pos).min(CHUNK as u64) as usize;
            snap.update(pos, &chunk[..n], None);
            pos += n as u64;
        }
        // One byte changes far into the region, and one in the head.
        let mut r = Refresh::default();
        let far = 200u64 << 20;
        let k = far / CHUNK as u64 * CHUNK as u64;
        let mut changed = chunk.clone();
        changed[(far - k) as usize] = 1;
        snap.update(k, &changed, Some(&mut r));
        let mut head = chunk.clone();
        head[10] = 9;
        snap.update(0, &head, Some(&mut r));
        assert_eq!(r.changes.len(), 2, "{:?}", r.changes.len());
        let block = &r.changes[0];
        assert_eq!(block.old, None);
        assert_eq!(block.offset, far / snap.block as u64 * snap.block as u64);
        assert_eq!(block.new.len(), snap.block);
        assert_eq!(r.changes[1].old.as_deref(), Some(&[0u8][..]));
        // Unchanged since: nothing to report.
        let mut r = Refresh::default();
        snap.update(k, &changed, Some(&mut r));
        assert!(r.changes.is_empty() && r.changed_bytes == 0);
    }

    #[test]
    fn clocks_have_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let (local, utc) = clocks(t);
        assert_eq!(utc, "2023-11-14T22:13:20.123Z");
        assert!(local.ends_with(".123"), "{local}");
    }
}
