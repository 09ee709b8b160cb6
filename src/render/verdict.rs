//! Verdicts in words: the one-line reason for each rule (the JSON `stale_reason`, the WHY
//! column, `show`'s verdict line). The rules themselves live in `source::judge`.

use crate::model::{PidCheck, PidState, Rule, Segment, Verdict};
use crate::units::local_time;
use std::sync::Arc;

fn pid_list(pids: &[i32]) -> String {
    const SHOWN: usize = 8;
    let mut s: Vec<String> = pids.iter().take(SHOWN).map(|p| p.to_string()).collect();
    if pids.len() > SHOWN {
        s.push(format!("and {} more", pids.len() - SHOWN));
    }
    s.join(", ")
}

fn who(p: &PidCheck) -> String {
    match &p.comm {
        Some(c) => format!("{} ({c})", p.pid),
        None => p.pid.to_string(),
    }
}

fn since(seg: &Segment) -> String {
    match seg.atime.or(seg.dtime) {
        Some(t) => format!("nobody attached since {}", local_time(t)),
        None => format!(
            "never attached since it was made {}",
            seg.ctime.map(local_time).unwrap_or_default()
        ),
    }
}

/// Why the object has the verdict it has, in one line.
pub fn reason(seg: &Segment) -> String {
    let ev = &seg.evidence;
    let program = ev.owner_program.as_deref().unwrap_or("its program");
    match ev.rule {
        Rule::NotJudged => "not judged".into(),
        Rule::Mapped if ev.holders.is_empty() => format!(
            "attached {} time(s) by processes that cannot be seen from here",
            ev.nattch.unwrap_or(0)
        ),
        Rule::Mapped => format!("mapped by {}", pid_list(&ev.holders)),
        Rule::OpenFd => format!("held open by {}", pid_list(&ev.holders)),
        Rule::MarkedForRemoval => {
            "marked for removal; the kernel frees it when the last attacher detaches".into()
        }
        Rule::OwnerProgramAlive => format!(
            "{program} owns it and runs as its owner ({}); it reopens such objects by name",
            pid_list(&ev.owner_alive)
        ),
        Rule::CreatorAlive => format!(
            "creator {} is alive and could attach it again",
            ev.creator.as_ref().map(who).unwrap_or_default()
        ),
        Rule::LastUserAlive => format!(
            "last user {} is alive and knows its key",
            ev.last_user.as_ref().map(who).unwrap_or_default()
        ),
        Rule::UnreadableProcesses => format!(
            "nobody seen holds it, but process(es) {} could and cannot be read (root with CAP_SYS_PTRACE sees them, unless the system forbids even that)",
            pid_list(&ev.unreadable)
        ),
        Rule::ProcessesNotVisible => "nobody seen holds it, but this /proc does not show every process (a child pid namespace); judge it from the host".into(),
        Rule::PidNotVisible => {
            let which = pid_named(ev.creator.as_ref(), ev.last_user.as_ref(), PidState::NotVisible);
            format!("its {which} is outside this pid namespace (the kernel reports pid 0)")
        }
        Rule::PidIdentityUncertain => {
            let p = [ev.creator.as_ref(), ev.last_user.as_ref()]
                .into_iter()
                .flatten()
                .find(|p| p.state == PidState::Uncertain);
            format!(
                "pid {} is alive; only the wall clock says it started after the segment was used, and a clock step can make that so",
                p.map(who).unwrap_or_default()
            )
        }
        Rule::NotShmObject => {
            "below a subdirectory of the shm directory: not made by shm_open, never removed by --stale".into()
        }
        Rule::PrivateCreatorGone => {
            let last = match &ev.last_user {
                Some(l) if l.state == PidState::Alive && Some(l.pid) != ev.creator.as_ref().map(|c| c.pid) => {
                    format!(" (last user {} lives but has detached)", who(l))
                }
                _ => String::new(),
            };
            format!(
                "IPC_PRIVATE, nobody attached and creator {} is gone: no one can find it again by key{last}; {}",
                ev.creator.as_ref().map(|c| c.pid).unwrap_or(0),
                since(seg)
            )
        }
        Rule::CreatorAndLastUserGone => {
            let c = ev.creator.as_ref().map(|c| c.pid).unwrap_or(0);
            let who = match &ev.last_user {
                Some(l) if l.pid != c && l.pid != 0 => {
                    format!("creator {c} and last user {} are gone", l.pid)
                }
                _ => format!("creator {c} is gone"),
            };
            format!("{who}; {}", since(seg))
        }
        Rule::OwnerProgramGone => format!(
            "a {program} object, and no {program} process of its owner runs; no process maps it or holds it open"
        ),
        Rule::LastUsersGone => seg
            .stale_reason
            .as_deref()
            .map(String::from)
            .unwrap_or_else(|| "every process that used it is gone".into()),
        Rule::NotProven => format!(
            "not proven leaked{}",
            seg.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
        ),
        Rule::NoHolder => {
            "no process maps it or holds it open, and every process that could was seen".into()
        }
    }
}

fn pid_named(creator: Option<&PidCheck>, last: Option<&PidCheck>, state: PidState) -> String {
    match (
        creator.is_some_and(|c| c.state == state),
        last.is_some_and(|l| l.state == state),
    ) {
        (true, true) => "creator and last user".into(),
        (true, false) => "creator".into(),
        _ => "last user".into(),
    }
}

/// Fill the words every row carries: `stale_reason` for leaked objects. A row with the words
/// of the row before shares them (200,000 files nobody holds need one copy, not 200,000).
pub fn annotate(rows: &mut [Segment]) {
    let mut last: Option<Arc<str>> = None;
    for seg in rows {
        seg.stale = seg.verdict == Verdict::Leaked;
        seg.stale_reason = if seg.stale {
            // Semaphore sets and queues come with their own words.
            seg.stale_reason.take().or_else(|| {
                let words = reason(seg);
                match &last {
                    Some(same) if **same == *words => Some(same.clone()),
                    _ => Some(last.insert(words.into()).clone()),
                }
            })
        } else {
            None
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Evidence, Kind};

    #[test]
    fn mit_shm_reason_names_the_rule() {
        let mut s = Segment::new(Kind::Sysv);
        s.verdict = Verdict::Leaked;
        s.ctime = Some(0);
        *s.evidence = Evidence {
            rule: Rule::PrivateCreatorGone,
            private_key: true,
            creator: Some(PidCheck {
                pid: 4242,
                state: PidState::Gone,
                comm: None,
            }),
            last_user: Some(PidCheck {
                pid: 77,
                state: PidState::Alive,
                comm: Some("Xvfb".into()),
            }),
            ..Evidence::default()
        };
        let r = reason(&s);
        assert!(
            r.contains("IPC_PRIVATE") && r.contains("4242") && r.contains("77 (Xvfb)"),
            "{r}"
        );
        let mut rows = vec![s];
        annotate(&mut rows);
        assert!(rows[0].stale && rows[0].stale_reason.is_some());
    }
}
