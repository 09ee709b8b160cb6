//! `shmtool show <ID>`: one object in full.

use super::ls::report_hidden;
use super::{Ctx, Run};
use crate::cli::ShowArgs;
use crate::error::Error;
use crate::model::{Kind, Segment};
use crate::render::segments;
use crate::source::inventory::{self, Options};
use crate::source::procs::Target;
use crate::source::sysv::ShmRecord;
use crate::source::Sys;
use crate::units::{parse_hex_addr, parse_key};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// What the user typed for ID, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Shmid(i64),
    Key(u32),
    /// A POSIX name, a path or a memfd name; also tried for a number no segment has.
    Name(String),
    At {
        pid: i32,
        addr: u64,
    },
    /// `sem:ID` or `msg:ID`: a System V semaphore set or message queue (their ids are counted
    /// apart from shmids, so a bare number stays a shmid).
    Ipc {
        kind: Kind,
        id: i64,
    },
    /// `mqueue:NAME`: a POSIX message queue (`/NAME` or `NAME`).
    Mqueue(String),
}

impl Wanted {
    /// Whether finding it needs the messaging kinds gathered.
    pub fn is_messaging(&self) -> bool {
        matches!(self, Wanted::Ipc { .. } | Wanted::Mqueue(_))
    }
}

/// Parse an ID for `show`.
pub fn parse_id(id: &str) -> Result<Wanted, Error> {
    let t = id.trim();
    if t.is_empty() {
        return Err(Error::BadInput("empty ID".into()));
    }
    if let Some((pid, addr)) = t.split_once(':') {
        if let (Ok(pid), Some(addr)) = (pid.parse::<i32>(), parse_hex_addr(addr)) {
            return Ok(Wanted::At { pid, addr });
        }
        let kind = match pid {
            "sem" => Some(Kind::Sem),
            "msg" => Some(Kind::Msg),
            "mqueue" => {
                let name = addr.trim_start_matches('/');
                if name.is_empty() || name.contains('/') {
                    return Err(Error::BadInput(format!(
                        "{t:?}: a POSIX message queue is mqueue:NAME (one name, no '/' inside)"
                    )));
                }
                return Ok(Wanted::Mqueue(name.to_string()));
            }
            _ => None,
        };
        if let Some(kind) = kind {
            let id = addr
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    let name = if kind == Kind::Sem { "semid" } else { "msqid" };
                    Error::BadInput(format!("{t:?}: {pid}:ID takes a {name}, a number"))
                })?;
            return Ok(Wanted::Ipc { kind, id });
        }
    }
    if t.starts_with("0x") || t.starts_with("0X") {
        return parse_key(t).map(Wanted::Key).map_err(Error::BadInput);
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(Wanted::Shmid(n));
    }
    Ok(Wanted::Name(t.to_string()))
}

fn addr_in(seg: &Segment, pid: i32, addr: u64) -> bool {
    seg.attachers
        .iter()
        .any(|a| a.pid == pid && a.start <= addr && addr < a.end)
}

/// `rel` against `cwd`, with `.` and `..` taken lexically (a path ls prints is absolute and
/// normal; symlinks in the user's path are not followed, as the shell's `cd` does not).
pub fn absolute(cwd: &Path, rel: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in cwd.join(rel).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// Every object `wanted` could name, most literal reading first: exactly one is an answer,
/// several an ambiguity the user must settle.
pub fn candidates<'a>(
    rows: &'a [Segment],
    wanted: &Wanted,
    shm_dir: &str,
    cwd: Option<&Path>,
) -> Vec<&'a Segment> {
    let sysv = || rows.iter().filter(|s| s.kind == Kind::Sysv);
    let found: Vec<&Segment> = match wanted {
        Wanted::Shmid(n) => {
            let by_id: Vec<&Segment> = sysv().filter(|s| s.id == Some(*n)).collect();
            if by_id.is_empty() {
                return candidates(rows, &Wanted::Name(n.to_string()), shm_dir, cwd);
            }
            by_id
        }
        Wanted::Key(k) => {
            let now: Vec<&Segment> = sysv().filter(|s| s.key == Some(*k)).collect();
            if now.is_empty() {
                sysv().filter(|s| s.former_key == Some(*k)).collect()
            } else {
                now
            }
        }
        Wanted::At { pid, addr } => rows.iter().filter(|s| addr_in(s, *pid, *addr)).collect(),
        Wanted::Ipc { kind, id } => rows
            .iter()
            .filter(|s| s.kind == *kind && s.id == Some(*id))
            .collect(),
        Wanted::Mqueue(name) => rows
            .iter()
            .filter(|s| {
                s.kind == Kind::Mqueue
                    && s.path
                        .as_deref()
                        .and_then(|p| p.rsplit_once('/'))
                        .is_some_and(|(_, n)| n == name)
            })
            .collect(),
        Wanted::Name(name) => {
            let exact: Vec<&Segment> = rows.iter().filter(|s| s.has_name(name)).collect();
            if !exact.is_empty() {
                return exact;
            }
            let mut readings = vec![
                format!("{}/{}", shm_dir.trim_end_matches('/'), name),
                format!("memfd:{name}"),
            ];
            if let Some(cwd) = cwd.filter(|_| !name.starts_with('/')) {
                readings.push(absolute(cwd, name).to_string_lossy().into_owned());
            }
            rows.iter()
                .filter(|s| readings.iter().any(|r| s.has_name(r)))
                .collect()
        }
    };
    found
}

/// What a scan must look for so that every row [`candidates`] could pick for `wanted` comes out
/// as a full inventory makes it; None where only a full inventory can say (a key that only
/// former attachers still name, `PID:ADDR`, other namespaces).
fn target_of(sys: &Sys, wanted: &Wanted, shm_dir: &str, cwd: Option<&Path>) -> Option<Target> {
    if sys.all_ipc_namespaces || sys.ns_root.is_some() {
        return None;
    }
    let shmids = |pick: &dyn Fn(&ShmRecord) -> bool| -> Vec<u64> {
        let records = sys.sysv_segments().unwrap_or_default();
        records
            .iter()
            .filter(|r| pick(r))
            .map(|r| r.shmid as u64)
            .collect()
    };
    match wanted {
        Wanted::Shmid(n) => {
            let ids = shmids(&|r| r.shmid == *n);
            if ids.is_empty() {
                // A number no segment has is read as a name, as `candidates` does.
                return target_of(sys, &Wanted::Name(n.to_string()), shm_dir, cwd);
            }
            Some(Target {
                shmids: ids,
                ..Target::default()
            })
        }
        Wanted::Key(k) => {
            let ids = shmids(&|r| r.key == *k);
            (!ids.is_empty()).then(|| Target {
                shmids: ids,
                ..Target::default()
            })
        }
        Wanted::Name(name) => {
            let mut names = vec![
                name.clone(),
                format!("{}/{}", shm_dir.trim_end_matches('/'), name),
                format!("memfd:{name}"),
            ];
            if let Some(cwd) = cwd.filter(|_| !name.starts_with('/')) {
                names.push(absolute(cwd, name).to_string_lossy().into_owned());
            }
            // Files by inode (a row is keyed so, whatever name its holders see); memfds and
            // deleted files by the name they print.
            let inodes = names
                .iter()
                .filter(|n| n.starts_with('/'))
                .filter_map(|n| std::fs::metadata(n).ok())
                .map(|md| (md.dev(), md.ino()))
                .collect();
            Some(Target {
                shmids: Vec::new(),
                inodes,
                names,
            })
        }
        Wanted::At { .. } | Wanted::Ipc { .. } | Wanted::Mqueue(_) => None,
    }
}

/// How to tell apart the candidates of an ambiguous ID, one short phrase each.
fn candidate_label(s: &Segment) -> String {
    match (s.kind, s.id) {
        (Kind::Sysv, Some(id)) => format!("shmid {id}"),
        _ => {
            let at = s
                .attachers
                .first()
                .map(|a| format!("{}:{}", a.pid, crate::model::hex_addr(a.start)))
                .or_else(|| {
                    s.fd_holders
                        .first()
                        .map(|h| format!("pid {} fd {}", h.pid, h.fd))
                });
            format!(
                "{} {}{}",
                s.kind,
                s.path.as_deref().unwrap_or("-"),
                at.map(|a| format!(" ({a})")).unwrap_or_default()
            )
        }
    }
}

/// The one object `wanted` names; several are an error that lists them.
pub fn find<'a>(
    rows: &'a [Segment],
    wanted: &Wanted,
    shm_dir: &str,
    cwd: Option<&Path>,
) -> Result<Option<&'a Segment>, Error> {
    let found = candidates(rows, wanted, shm_dir, cwd);
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        n => {
            let how = match wanted {
                Wanted::Key(_) | Wanted::Shmid(_) => "show one by its shmid",
                _ => "show one by PID:ADDR",
            };
            let list: Vec<String> = found.iter().map(|s| candidate_label(s)).collect();
            Err(Error::BadInput(format!(
                "{} names {n} objects: {}; {how}",
                match wanted {
                    Wanted::Key(k) => crate::model::key_string(*k),
                    Wanted::Name(n) => n.clone(),
                    Wanted::Shmid(n) => n.to_string(),
                    Wanted::At { pid, addr } => format!("{pid}:{addr:#x}"),
                    Wanted::Ipc { kind, id } => format!("{kind}:{id}"),
                    Wanted::Mqueue(n) => format!("mqueue:{n}"),
                },
                list.join(", ")
            )))
        }
    }
}

impl Run for ShowArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let wanted = parse_id(&self.id)?;
        let opts = Options {
            include_readonly_files: true,
            exact_memfds: true,
            messaging: wanted.is_messaging(),
        };
        let shm_dir = ctx.sys.shm_dir.to_string_lossy();
        let cwd = std::env::current_dir().ok();
        let inv = match target_of(&ctx.sys, &wanted, &shm_dir, cwd.as_deref()) {
            Some(target) => {
                let mut inv = inventory::gather_only(&ctx.sys, opts, &target)?;
                crate::render::verdict::annotate(&mut inv.segments);
                inv
            }
            None => super::gather(&ctx.sys, opts)?,
        };
        let Some(seg) = find(&inv.segments, &wanted, &shm_dir, cwd.as_deref())? else {
            if let Wanted::At { pid, .. } = wanted {
                if !ctx.sys.alive(pid) {
                    return Err(Error::NoSuchProcess(pid).into());
                }
            }
            if let Some(how) = super::history::removal(&self.log, &wanted, &shm_dir) {
                let what = match wanted {
                    Wanted::Shmid(n) => Error::NoSuchShmid(n).to_string(),
                    Wanted::Key(k) => Error::NoSuchKey(crate::model::key_string(k)).to_string(),
                    _ => Error::NoSuchObject(self.id.clone()).to_string(),
                };
                return Err(Error::Gone(format!("{what}: {how}")).into());
            }
            if let (Wanted::Shmid(n), Some(hint)) = (&wanted, other_ipc_with_id(ctx, &wanted)) {
                let what = Error::NoSuchShmid(*n);
                return Err(Error::BadInput(format!("{what}; {hint}")).into());
            }
            return Err(match wanted {
                Wanted::Shmid(n) => Error::NoSuchShmid(n),
                Wanted::Ipc { kind, id } => Error::NoSuchObject(format!("{kind}:{id}")),
                Wanted::Key(k) => Error::NoSuchKey(crate::model::key_string(k)),
                _ => Error::NoSuchObject(self.id.clone()),
            }
            .into());
        };
        report_hidden(&inv);
        let waiters = super::locks::waiters_on(&ctx.sys, &inv, seg);
        let live = IpcState::read(seg);
        if self.out.json {
            // An `ls` row, plus the threads blocked on locks in it (and a semaphore set's
            // semaphores, a queue's counts).
            let users = crate::source::users::Users::default();
            let named = |u: u32| users.known_name(u);
            let mut row = serde_json::to_value(crate::render::json::SegmentJson::new(seg, &named))?;
            if let Some(fields) = row.as_object_mut() {
                fields.insert("waiters".into(), serde_json::to_value(&waiters)?);
                if seg.kind == Kind::Sem {
                    fields.insert("semaphores".into(), serde_json::to_value(&live.sems)?);
                }
                if seg.kind == Kind::Msg {
                    let queue = live
                        .queue
                        .as_ref()
                        .map(crate::render::json::MsgQueueJson::from);
                    fields.insert("queue".into(), serde_json::to_value(&queue)?);
                }
            }
            return crate::render::write_json(out, &row);
        }
        super::with_view(ctx, self.out.bytes, |view| {
            segments::write_detail(out, seg, view)
        })?;
        live.write(out)?;
        crate::render::locks::write_waiters(out, &waiters, ctx.color)?;
        self.write_history(out, seg, &shm_dir)?;
        write_remove_ipc_risk(out, seg, ctx)?;
        Ok(())
    }
}

/// What `show` reads live from a semaphore set or message queue (read-only; see
/// [`crate::source::ipcstate`]).
#[derive(Default)]
struct IpcState {
    sems: Option<Vec<crate::model::Semaphore>>,
    queue: Option<crate::model::MsgQueue>,
}

impl IpcState {
    fn read(seg: &Segment) -> IpcState {
        use crate::source::ipcstate::{self, StateError};
        let mut st = IpcState::default();
        let Some(id) = seg.id else { return st };
        let said = |e: StateError| {
            let why = match e {
                StateError::Gone => "it was removed while being read".to_string(),
                StateError::Denied => "permission denied".to_string(),
                StateError::Other(e) => e.to_string(),
                StateError::NoCopy | StateError::TooBig(_) => "cannot be read".to_string(),
            };
            super::note(&format!(
                "{}:{id}: its state could not be read: {why}",
                seg.kind
            ));
        };
        match seg.kind {
            Kind::Sem => {
                let n = seg.ipc.as_ref().and_then(|i| i.nsems).unwrap_or(0);
                st.sems = ipcstate::semaphores(id, n).map_err(said).ok();
            }
            Kind::Msg => {
                st.queue = ipcstate::queue(id).map_err(said).ok();
            }
            _ => {}
        }
        st
    }

    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if let Some(s) = &self.sems {
            crate::render::ipc::write_semaphores(out, s)?;
        }
        if let Some(q) = &self.queue {
            crate::render::ipc::write_queue(out, q)?;
        }
        Ok(())
    }
}

/// For `show N` that names no segment: a semaphore set or queue with that id, said as the
/// form that shows it.
fn other_ipc_with_id(ctx: &Ctx, wanted: &Wanted) -> Option<String> {
    let Wanted::Shmid(n) = *wanted else {
        return None;
    };
    let sem = ctx.sys.sem_records().iter().any(|r| r.semid == n);
    let msg = ctx.sys.msg_records().iter().any(|r| r.msqid == n);
    match (sem, msg) {
        (true, true) => Some(format!(
            "a semaphore set and a message queue have that id: show sem:{n} or msg:{n}"
        )),
        (true, false) => Some(format!("a semaphore set has that id: show sem:{n}")),
        (false, true) => Some(format!("a message queue has that id: show msg:{n}")),
        (false, false) => None,
    }
}

/// Warn when logind will remove this object at its owner's logout.
fn write_remove_ipc_risk(out: &mut dyn Write, seg: &Segment, ctx: &Ctx) -> anyhow::Result<()> {
    if !matches!(seg.kind, Kind::Sysv | Kind::Posix) {
        return Ok(());
    }
    let Some(uid) = seg.uid else { return Ok(()) };
    let Some(setting) = crate::source::logind::read(&crate::source::logind::root()) else {
        return Ok(());
    };
    if setting.at_risk(uid) {
        let owner = format!(
            "{} (uid {uid})",
            crate::source::users::Users::default().name(uid)
        );
        let line = crate::render::risk::remove_ipc_warning(&setting, &owner);
        writeln!(out, "\n{}", ctx.palette().warn(&line))?;
    }
    Ok(())
}

impl ShowArgs {
    /// The object's past from the trace log, when there is one.
    fn write_history(
        &self,
        out: &mut dyn Write,
        seg: &Segment,
        shm_dir: &str,
    ) -> anyhow::Result<()> {
        let wanted = match (seg.kind, seg.id, &seg.path) {
            (Kind::Sysv, Some(id), _) => Wanted::Shmid(id),
            (_, _, Some(path)) => Wanted::Name(path.clone()),
            _ => return Ok(()),
        };
        let lines = super::history::story(&self.log, &wanted, shm_dir);
        if lines.is_empty() {
            return Ok(());
        }
        writeln!(out, "\nHistory (trace log {}):", self.log.display())?;
        for l in lines {
            writeln!(out, "  {}", crate::render::sanitize::escape(&l))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Segment> {
        let mut out = Vec::new();
        for id in [5, 7] {
            let mut s = Segment::new(Kind::Sysv);
            s.id = Some(id);
            s.key = Some(0);
            out.push(s);
        }
        let mut keyed = Segment::new(Kind::Sysv);
        keyed.id = Some(9);
        keyed.key = Some(0x1234);
        out.push(keyed);
        for ino in [1, 2] {
            let mut m = Segment::new(Kind::Memfd);
            m.path = Some("memfd:pool".into());
            m.inode = Some(ino);
            out.push(m);
        }
        let mut f = Segment::new(Kind::File);
        f.path = Some("/srv/app/data.bin".into());
        out.push(f);
        let mut p = Segment::new(Kind::Posix);
        p.path = Some("/dev/shm/x".into());
        out.push(p);
        out
    }

    #[test]
    fn ambiguous_ids_list_their_candidates() {
        let rows = rows();
        let err = find(&rows, &Wanted::Key(0), "/dev/shm", None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("0x00000000 names 2 objects"), "{msg}");
        assert!(msg.contains("shmid 5") && msg.contains("shmid 7"), "{msg}");
        let err = find(&rows, &Wanted::Name("pool".into()), "/dev/shm", None).unwrap_err();
        assert!(err.to_string().contains("names 2 objects"), "{err}");
        let err = find(&rows, &Wanted::Name("memfd:pool".into()), "/dev/shm", None);
        assert!(err.is_err());
        // One answer is an answer.
        let one = find(&rows, &Wanted::Key(0x1234), "/dev/shm", None).unwrap();
        assert_eq!(one.unwrap().id, Some(9));
        assert!(
            find(&rows, &Wanted::Name("nothing".into()), "/dev/shm", None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_cwd() {
        let rows = rows();
        let cwd = Path::new("/srv/app/logs");
        for rel in ["../data.bin", "./../data.bin"] {
            let found = find(&rows, &Wanted::Name(rel.into()), "/dev/shm", Some(cwd)).unwrap();
            assert_eq!(found.unwrap().path.as_deref(), Some("/srv/app/data.bin"));
        }
        let found = find(
            &rows,
            &Wanted::Name("data.bin".into()),
            "/dev/shm",
            Some(Path::new("/srv/app")),
        )
        .unwrap();
        assert!(found.is_some());
        // In /dev/shm, "x" is the same object by both readings: not ambiguous.
        let found = find(
            &rows,
            &Wanted::Name("x".into()),
            "/dev/shm",
            Some(Path::new("/dev/shm")),
        )
        .unwrap();
        assert!(found.is_some());
        assert_eq!(
            absolute(Path::new("/a/b"), "../../../c"),
            PathBuf::from("/c")
        );
    }

    #[test]
    fn ids() {
        assert_eq!(parse_id("123").unwrap(), Wanted::Shmid(123));
        assert_eq!(parse_id("0x6f20d677").unwrap(), Wanted::Key(0x6f20d677));
        assert_eq!(
            parse_id("4242:7f00").unwrap(),
            Wanted::At {
                pid: 4242,
                addr: 0x7f00
            }
        );
        assert_eq!(
            parse_id("/dev/shm/x").unwrap(),
            Wanted::Name("/dev/shm/x".into())
        );
        assert!(parse_id("0xnothex").is_err());
        assert_eq!(
            parse_id("sem:3").unwrap(),
            Wanted::Ipc {
                kind: Kind::Sem,
                id: 3
            }
        );
        assert_eq!(
            parse_id("msg:0").unwrap(),
            Wanted::Ipc {
                kind: Kind::Msg,
                id: 0
            }
        );
        assert_eq!(parse_id("mqueue:/q1").unwrap(), Wanted::Mqueue("q1".into()));
        assert_eq!(parse_id("mqueue:q1").unwrap(), Wanted::Mqueue("q1".into()));
        assert!(parse_id("sem:x").is_err());
        assert!(parse_id("msg:-1").is_err());
        assert!(parse_id("mqueue:/").is_err());
        // A bare number is still a shmid.
        assert_eq!(parse_id("3").unwrap(), Wanted::Shmid(3));
        assert!(parse_id("").is_err());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ids_never_panic(s in "\\PC{0,30}") {
            let _ = parse_id(&s);
        }

        #[test]
        fn printed_ids_round_trip(shmid in 0i64..i32::MAX as i64, key in any::<u32>(),
                                  pid in 1i32..i32::MAX, addr in any::<u64>()) {
            prop_assert_eq!(parse_id(&shmid.to_string()).unwrap(), Wanted::Shmid(shmid));
            prop_assert_eq!(parse_id(&crate::model::key_string(key)).unwrap(), Wanted::Key(key));
            prop_assert_eq!(
                parse_id(&format!("{pid}:{}", crate::model::hex_addr(addr))).unwrap(),
                Wanted::At { pid, addr }
            );
        }
    }
}
