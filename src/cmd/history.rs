//! `shmtool history ID|KEY|NAME`: one object's life as `trace --log` recorded it.

use super::show::{parse_id, Wanted};
use super::trace::log;
use super::{Ctx, Run};
use crate::cli::HistoryArgs;
use crate::error::Error;
use crate::model::TraceEvent;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// The events of the object `wanted` names, in log order. A key also gathers the events of every
/// shmid that has had it (an attach names the shmid; the key comes from its shmget).
pub fn select<'a>(events: &'a [TraceEvent], wanted: &Wanted, shm_dir: &str) -> Vec<&'a TraceEvent> {
    match wanted {
        Wanted::Shmid(n) => events
            .iter()
            .filter(|e| e.kind == "sysv" && e.id == Some(*n))
            .collect(),
        Wanted::Key(k) => {
            let k = crate::model::key_string(*k);
            let ids: HashSet<i64> = events
                .iter()
                .filter(|e| e.key.as_deref() == Some(k.as_str()))
                .filter_map(|e| e.id)
                .collect();
            events
                .iter()
                .filter(|e| {
                    e.kind == "sysv"
                        && (e.key.as_deref() == Some(k.as_str())
                            || e.id.is_some_and(|id| ids.contains(&id)))
                })
                .collect()
        }
        Wanted::Name(name) => {
            let in_shm = format!("{}/{}", shm_dir.trim_end_matches('/'), name);
            let memfd = format!("memfd:{name}");
            events
                .iter()
                .filter(|e| {
                    e.path.as_deref().is_some_and(|p| {
                        p == name.as_str() || p == in_shm.as_str() || p == memfd.as_str()
                    })
                })
                .collect()
        }
        // The trace records shared memory only.
        Wanted::At { .. } | Wanted::Ipc { .. } | Wanted::Mqueue(_) => Vec::new(),
    }
}

/// `pid 42 (comm, user bob) at 2026-11-23 10:05:53.889`.
fn who(e: &TraceEvent) -> String {
    format!(
        "pid {} ({}, user {}) at {}",
        e.pid,
        e.comm,
        e.user,
        crate::render::trace::local(&e.time)
    )
}

/// The events of the object now called `wanted` since it was last created (an id or a name
/// can be used again by a later object).
fn current_life<'a>(
    events: &'a [TraceEvent],
    wanted: &Wanted,
    shm_dir: &str,
) -> Vec<&'a TraceEvent> {
    let all = select(events, wanted, shm_dir);
    let start = all
        .iter()
        .rposition(|e| e.event == "create" || e.event == "memfd")
        .unwrap_or(0);
    all[start..].to_vec()
}

/// What the log says about an object that exists: who created it and when, who attached.
pub fn story(log: &Path, wanted: &Wanted, shm_dir: &str) -> Vec<String> {
    let Ok(Some(events)) = log::read_all(log) else {
        return Vec::new();
    };
    let life = current_life(&events, wanted, shm_dir);
    let mut lines = Vec::new();
    for e in &life {
        let verb = match e.event.as_str() {
            "create" | "memfd" => "created by",
            "attach" | "mmap" => "attached by",
            "detach" => "detached by",
            "munmap" => "unmapped by",
            "resize" => "resized by",
            "set" => "changed (IPC_SET) by",
            "unlink" => "unlinked by",
            "remove" => "marked for removal by",
            "exit" => "held at exit by",
            _ => continue,
        };
        lines.push(format!("{verb} {}", who(e)));
    }
    const MAX: usize = 20;
    if lines.len() > MAX {
        let more = lines.len() - MAX;
        lines.drain(1..=more);
        lines.insert(1, format!("... and {more} more events (shmtool history)"));
    }
    lines
}

/// For an object that no longer exists: who removed it and when, if the log says.
pub fn removal(log: &Path, wanted: &Wanted, shm_dir: &str) -> Option<String> {
    let events = log::read_all(log).ok()??;
    let life = select(&events, wanted, shm_dir);
    let gone = life
        .iter()
        .rev()
        .find(|e| e.event == "remove" || e.event == "unlink")?;
    Some(format!(
        "removed by {} (trace log {})",
        who(gone),
        log.display()
    ))
}

impl Run for HistoryArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let wanted = parse_id(&self.id)?;
        if matches!(wanted, Wanted::At { .. }) {
            return Err(Error::BadInput(
                "history takes a shmid, a key or a name, not PID:ADDR".into(),
            )
            .into());
        }
        let Some(events) = log::read_all(&self.log)? else {
            return Err(Error::BadInput(format!(
                "no trace log at {} (start one with 'shmtool trace --log FILE', or name it with --log)",
                self.log.display()
            ))
            .into());
        };
        let shm_dir = ctx.sys.shm_maps_dir.to_string_lossy();
        let mine = select(&events, &wanted, &shm_dir);
        if mine.is_empty() {
            return Err(
                Error::NoSuchObject(format!("{} in {}", self.id, self.log.display())).into(),
            );
        }
        let view = crate::render::trace::View {
            color: ctx.color,
            wall_offset_ns: 0,
            width: crate::render::table::width(),
            time_of_day: false,
        };
        if !self.json {
            crate::render::trace::write_header(out, &view)?;
        }
        let mut line = Vec::new();
        for e in mine {
            if self.json {
                line.clear();
                crate::render::json::push_event_line(&mut line, e);
                out.write_all(&line)?;
            } else {
                crate::render::trace::write_line(out, e, &view)?;
            }
        }
        Ok(())
    }
}
