//! The `locks` table: one row per thread blocked on a lock in shared memory.

use super::table::{TableWriter, Tone};
use crate::model::{LockObject, LockWait};
use std::io::Write;

/// An object as a cell: its kind and the name `ls` and `show` know it by.
pub fn object_cell(o: &LockObject) -> String {
    let name = match (&o.path, o.id, &o.key) {
        (Some(p), _, _) => p.clone(),
        (None, Some(id), _) => id.to_string(),
        (None, None, Some(k)) => crate::model::key_string(*k),
        (None, None, None) => "-".into(),
    };
    format!("{} {name}", o.kind)
}

/// What the lock is: `mutex (robust, pshared)`, `semaphore`, `sem 1 op -1`, `futex`.
pub fn lock_cell(w: &LockWait) -> String {
    match w.lock.as_str() {
        "mutex" => {
            let mut traits = Vec::new();
            if let Some(t) = &w.mutex_type {
                if t != "normal" {
                    traits.push(t.clone());
                }
            }
            if w.robust == Some(true) {
                traits.push("robust".into());
            }
            if w.pi == Some(true) {
                traits.push("pi".into());
            }
            traits.push(if w.pshared == Some(true) {
                "pshared".into()
            } else {
                "private".into()
            });
            format!("mutex ({})", traits.join(", "))
        }
        "sysv-sem" => match (w.sem_num, w.sem_op) {
            (Some(n), Some(op)) => format!("semaphore {n}, op {op:+}"),
            _ => "semaphore".into(),
        },
        other => other.into(),
    }
}

fn owner_cell(w: &LockWait) -> String {
    match &w.owner {
        None => "-".into(),
        Some(o) if !o.alive => format!("{} (dead)", o.tid),
        Some(o) => {
            let pid = o.pid.unwrap_or(o.tid);
            let who = if pid == o.tid {
                pid.to_string()
            } else {
                format!("{pid}/{}", o.tid)
            };
            let comm = o.comm.as_deref().unwrap_or("?");
            // A stopped owner (SIGSTOP, a debugger) holds its locks until it is continued.
            match o.state.as_deref() {
                Some(s) if s.starts_with('T') || s.starts_with('t') => {
                    format!("{who} ({comm}, stopped)")
                }
                _ => format!("{who} ({comm})"),
            }
        }
    }
}

fn verdict_tone(v: &str) -> Tone {
    if v.starts_with("owner dead") || v.starts_with("cycle") {
        Tone::Bad
    } else if v.starts_with("unknown") || v.starts_with("owner unclear") {
        Tone::Warn
    } else {
        Tone::Plain
    }
}

/// The table, then one line per row that has a note.
pub fn write_table(out: &mut dyn Write, rows: &[LockWait], color: bool) -> std::io::Result<()> {
    let with_member = rows.iter().any(|w| w.member.is_some());
    let mut headers = vec![
        ("PID", true),
        ("TID", true),
        ("COMMAND", false),
        ("OBJECT", false),
        ("OFFSET", true),
        ("LOCK", false),
        ("WORD", false),
        ("OWNER", false),
        ("VERDICT", false),
    ];
    if with_member {
        headers.insert(5, ("MEMBER", false));
    }
    let mut t = TableWriter::new(&headers, color);
    for w in rows {
        let mut cells = vec![
            (w.pid.to_string(), Tone::Plain),
            (w.tid.to_string(), Tone::Plain),
            (w.comm.clone(), Tone::Plain),
            (
                w.object
                    .as_ref()
                    .map(object_cell)
                    .unwrap_or_else(|| "-".into()),
                Tone::Plain,
            ),
            (
                w.offset
                    .map(|o| format!("0x{o:x}"))
                    .unwrap_or_else(|| "-".into()),
                Tone::Plain,
            ),
            (lock_cell(w), Tone::Plain),
            (w.word.clone().unwrap_or_else(|| "-".into()), Tone::Plain),
            (owner_cell(w), Tone::Plain),
            (w.verdict.clone(), verdict_tone(&w.verdict)),
        ];
        if with_member {
            cells.insert(
                5,
                (w.member.clone().unwrap_or_else(|| "-".into()), Tone::Plain),
            );
        }
        t.row_toned(cells.iter().map(|(s, tone)| (s.as_str(), *tone)));
    }
    t.write(out)?;
    for w in rows {
        if let Some(n) = &w.note {
            let line = format!("{}/{}: {n}", w.pid, w.tid);
            writeln!(out, "{}", super::sanitize::escape(&line))?;
        }
    }
    Ok(())
}

/// The `show` page's section on threads blocked on locks in the object (nothing when none).
pub fn write_waiters(out: &mut dyn Write, rows: &[LockWait], color: bool) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "blocked on locks in it:")?;
    write_table(out, rows, color)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LockOwner;

    fn waiter() -> LockWait {
        LockWait {
            pid: 4250,
            tid: 4250,
            comm: "reader".into(),
            call: "futex".into(),
            op: Some("FUTEX_WAIT".into()),
            address: Some(0x7f3a12c00040),
            object: Some(LockObject {
                kind: "posix".into(),
                id: None,
                key: None,
                path: Some("/dev/shm/app".into()),
            }),
            offset: Some(0x40),
            lock: "mutex".into(),
            word: Some("0x00000002".into()),
            expected: Some("0x00000002".into()),
            mutex_type: Some("normal".into()),
            robust: Some(false),
            pshared: Some(true),
            pi: Some(false),
            owner_died: None,
            owner: Some(LockOwner {
                tid: 4242,
                pid: None,
                comm: None,
                alive: false,
                maps_object: None,
                state: None,
            }),
            sem_num: None,
            sem_op: None,
            sem_value: None,
            sem_last_pid: None,
            member: None,
            verdict: "owner dead (not robust: waits forever)".into(),
            cycle: None,
            note: None,
        }
    }

    #[test]
    fn a_waiter_on_a_dead_owner() {
        let mut out = Vec::new();
        write_table(&mut out, &[waiter()], false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("posix /dev/shm/app"), "{text}");
        assert!(text.contains("4242 (dead)"), "{text}");
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn lock_cells() {
        let mut w = waiter();
        w.robust = Some(true);
        w.mutex_type = Some("recursive".into());
        assert_eq!(lock_cell(&w), "mutex (recursive, robust, pshared)");
        w.lock = "sysv-sem".into();
        w.sem_num = Some(1);
        w.sem_op = Some(-1);
        assert_eq!(lock_cell(&w), "semaphore 1, op -1");
    }
}
