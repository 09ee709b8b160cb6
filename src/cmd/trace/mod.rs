//! `shmtool trace`: shared-memory lifecycle events, machine-wide, as they happen.

pub mod interp;
pub mod log;

use super::{Ctx, Run};
use crate::cli::{TraceArgs, TraceEventArg, TraceKind};
use crate::error::Error;
use crate::model::{Kind, TraceEvent};
use crate::source::trace::{self as kernel, Call, RawEvent, Tracer};
use crate::source::users::Users;
use anyhow::Context;
use interp::{Interp, Obj};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Container names (as `ls` gives them) by cgroup id, looked up again when an id is new.
#[derive(Debug, Default)]
struct Containers {
    paths: std::collections::HashMap<u64, String>,
    names: std::collections::HashMap<u64, Option<String>>,
    last_scan_ns: u64,
}

impl Containers {
    fn name(&mut self, id: u64) -> Option<String> {
        if let Some(n) = self.names.get(&id) {
            return n.clone();
        }
        // A new cgroup: walk the hierarchy again, at most every 100 ms.
        let now = kernel::monotonic_ns();
        if !self.paths.contains_key(&id) && now.saturating_sub(self.last_scan_ns) > 100_000_000 {
            self.paths = kernel::cgroup_paths();
            self.last_scan_ns = now;
        }
        let name = self
            .paths
            .get(&id)
            .and_then(|p| crate::source::cgroup::classify_path(p))
            .map(|mut c| {
                // A pod by its name where the kubelet's log directory gives it, as `ls` does.
                let dir = std::path::Path::new(crate::source::cgroup::POD_LOG_DIR);
                crate::source::cgroup::name_pods(std::iter::once(&mut c), dir);
                c.to_string()
            });
        if self.paths.contains_key(&id) {
            self.names.insert(id, name.clone());
        }
        name
    }
}

/// What the user asked to see.
#[derive(Debug, Default)]
pub struct Filter {
    pub kinds: Vec<&'static str>,
    pub events: Vec<&'static str>,
    pub pids: Vec<i32>,
    pub uid: Option<u32>,
    pub name: Option<String>,
    pub key: Option<String>,
    pub shmid: Option<i64>,
}

impl Filter {
    pub fn from_args(a: &TraceArgs) -> Result<Filter, Error> {
        let uid = match &a.user {
            Some(u) => Some(
                Users::resolve(u).ok_or_else(|| Error::BadInput(format!("no such user {u:?}")))?,
            ),
            None => None,
        };
        let key = match &a.key {
            Some(k) => Some(crate::model::key_string(
                crate::units::parse_key(k).map_err(Error::BadInput)?,
            )),
            None => None,
        };
        Ok(Filter {
            kinds: a.kind.iter().map(|k| kind_name(*k)).collect(),
            events: a.event.iter().map(|e| event_name(*e)).collect(),
            pids: a.pid.clone(),
            uid,
            name: a.name.clone(),
            key,
            shmid: a.shmid,
        })
    }

    pub fn matches(&self, e: &TraceEvent) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&e.kind.as_str()))
            && (self.events.is_empty() || self.events.contains(&e.event.as_str()))
            && (self.pids.is_empty() || self.pids.contains(&e.pid))
            && self.uid.is_none_or(|u| u == e.uid)
            && self.key.as_ref().is_none_or(|k| e.key.as_ref() == Some(k))
            && self.shmid.is_none_or(|id| e.id == Some(id))
            && self.name.as_ref().is_none_or(|g| {
                e.path.as_deref().is_some_and(|p| {
                    let base = p.rsplit('/').next().unwrap_or(p);
                    let base = base.strip_prefix("memfd:").unwrap_or(base);
                    glob(g.as_bytes(), p.as_bytes()) || glob(g.as_bytes(), base.as_bytes())
                })
            })
    }
}

fn kind_name(k: TraceKind) -> &'static str {
    match k {
        TraceKind::Sysv => "sysv",
        TraceKind::Posix => "posix",
        TraceKind::Psem => "psem",
        TraceKind::Memfd => "memfd",
        TraceKind::File => "file",
    }
}

fn event_name(e: TraceEventArg) -> &'static str {
    use TraceEventArg::*;
    match e {
        Create => "create",
        Open => "open",
        Attach => "attach",
        Detach => "detach",
        Remove => "remove",
        Set => "set",
        Unlink => "unlink",
        Memfd => "memfd",
        Mmap => "mmap",
        Resize => "resize",
        Munmap => "munmap",
        Exit => "exit",
    }
}

/// Shell-style glob with `*` and `?`.
pub fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some(p);
            mark = i;
            p += 1;
        } else if let Some(sp) = star {
            p = sp + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// What exists before tracing starts: segments and their keys, /dev/shm names. Read before the
/// programs are attached, so that an object made after they are is never taken for an old one
/// (its shmget or shm_open is then a "create", not an "open").
fn snapshot_names(ctx: &Ctx, interp: &mut Interp) {
    for r in ctx.sys.sysv_segments().unwrap_or_default() {
        interp.know_segment(r.shmid, r.key);
    }
    for f in ctx.sys.shm_files().unwrap_or_default() {
        interp.know_path(&f.path.to_string_lossy());
    }
}

/// Who holds what when tracing starts (so that an exit or a shmdt of something attached
/// earlier is named, and a munmap of something mapped earlier recorded). Read after the
/// programs are attached: nothing falls between the two.
fn snapshot_holders(ctx: &Ctx, tracer: &Tracer, interp: &mut Interp) {
    let opts = crate::source::inventory::Options {
        include_readonly_files: false,
        exact_memfds: false,
        messaging: false,
    };
    let Ok(inv) = crate::source::inventory::gather(&ctx.sys, opts) else {
        return;
    };
    for seg in &inv.segments {
        let obj = match (seg.kind, &seg.path) {
            (Kind::Sysv, _) => match seg.id {
                Some(id) => interp.sysv(id),
                None => continue,
            },
            (Kind::Posix, Some(p)) => interp.path_obj(p),
            (Kind::Memfd, Some(p)) => Obj {
                kind: "memfd",
                id: None,
                key: None,
                path: Some(p.clone()),
            },
            _ => continue,
        };
        for a in &seg.attachers {
            let len = a.end.saturating_sub(a.start);
            if obj.kind != "sysv" {
                tracer.know_mapping(a.pid, a.start, len);
            }
            interp.know_holder(a.pid, a.start, len, obj.clone());
        }
    }
}

fn install_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    // No SA_RESTART: poll returns at once and the loop sees STOP.
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

impl Run for TraceArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let filter = Filter::from_args(self)?;
        let deadline_ns = match &self.duration {
            Some(d) => Some(
                crate::units::parse_duration(d)
                    .map_err(Error::BadInput)?
                    .as_nanos() as u64,
            ),
            None => None,
        };
        let max_log = crate::units::parse_size(&self.log_size).map_err(Error::BadInput)?;
        let mut log = match &self.log {
            Some(path) => Some(log::LogWriter::open(path, max_log, self.log_keep)?),
            None => None,
        };

        let shm_dir = ctx.sys.shm_maps_dir.to_string_lossy().into_owned();
        let mut interp = Interp::new(&shm_dir);
        snapshot_names(ctx, &mut interp);
        let mut tracer = Tracer::start()?;
        if let Some(dir) = &tracer.mounted {
            super::note(&format!("mounted tracefs on {}", dir.display()));
        }
        snapshot_holders(ctx, &tracer, &mut interp);
        install_signals();
        let me = std::process::id() as i32;
        let wall_offset = kernel::realtime_ns() as i128 - kernel::monotonic_ns() as i128;
        let deadline = deadline_ns.map(|d| kernel::monotonic_ns() + d);
        let users = Users::default();
        let mut containers = Containers::default();
        let view = crate::render::trace::View {
            color: ctx.color,
            wall_offset_ns: wall_offset,
            width: crate::render::table::width(),
            time_of_day: true,
        };
        let print = !self.quiet;
        if print && !self.json {
            crate::render::trace::write_header(out, &view)?;
        }
        out.flush()?;
        eprintln!("shmtool: tracing shared-memory events (Ctrl-C to stop)");

        let (mut seen, mut shown, mut lost) = (0u64, 0u64, 0u64);
        let mut pending: Vec<RawEvent> = Vec::new();
        let mut stamps = interp::Stamps::default();
        // One event's JSON line (for the log and `--json`), reused.
        let mut line = Vec::with_capacity(512);
        let mut done = false;
        while !done {
            let stopping = STOP.load(Ordering::SeqCst)
                || deadline.is_some_and(|d| kernel::monotonic_ns() >= d);
            let (now, dropped) = tracer
                .poll(if stopping { 0 } else { tracer.wait_ms() }, &mut pending)
                .context("reading trace events")?;
            lost += dropped;
            // Our own calls (reading /proc, writing the log) are not the machine's.
            pending.retain(|e| e.pid != me);
            // Records from different CPUs arrive out of order; everything stamped 2 ms before
            // the rings were read is complete and can go out in time order.
            let horizon = if stopping {
                u64::MAX
            } else {
                now.saturating_sub(2_000_000)
            };
            pending.sort_by_key(|e| e.mono_ns);
            let ready = pending.partition_point(|e| e.mono_ns < horizon);
            for raw in pending.drain(..ready) {
                match raw.call {
                    Call::Exit | Call::Exec => {
                        let (fds, addrs) = interp.kernel_keys(raw.pid);
                        tracer.forget_process(raw.pid, &fds, &addrs);
                    }
                    Call::CloseRange => {
                        tracer.forget_process(raw.pid, &interp.fds_closed_by(&raw), &[]);
                    }
                    _ => {}
                }
                for (name, obj, extra) in interp.feed(&raw) {
                    seen += 1;
                    let time = stamps.rfc3339(raw.mono_ns as i128 + wall_offset);
                    let mut ev = interp::event(&raw, name, obj, extra, users.name(raw.uid), time);
                    ev.container = containers.name(raw.cgroup);
                    if done || !filter.matches(&ev) {
                        continue;
                    }
                    shown += 1;
                    if log.is_some() || (print && self.json) {
                        line.clear();
                        crate::render::json::push_event_line(&mut line, &ev);
                    }
                    if let Some(log) = &mut log {
                        log.write(&line)?;
                    }
                    if print {
                        if self.json {
                            out.write_all(&line)?;
                        } else {
                            crate::render::trace::write_line(out, &ev, &view)?;
                        }
                    }
                    if self.count.is_some_and(|c| shown >= c) {
                        done = true;
                    }
                }
            }
            out.flush()?;
            if let Some(log) = &mut log {
                log.flush()?;
            }
            done |= stopping;
        }
        let lost_note = if lost > 0 {
            " (the kernel's buffers overflowed: some calls are missing)"
        } else {
            ""
        };
        eprintln!("shmtool: {shown} events shown, {seen} seen, {lost} lost{lost_note}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(b"psm_*", b"psm_12ab"));
        assert!(glob(b"*", b""));
        assert!(glob(b"a?c", b"abc"));
        assert!(!glob(b"a?c", b"abbc"));
        assert!(glob(b"*x*y", b"axxby"));
        assert!(!glob(b"psm_*", b"xpsm_1"));
    }
}
