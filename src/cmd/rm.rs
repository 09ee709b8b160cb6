//! `shmtool rm`: remove System V segments (by shmid or key) and POSIX objects (by name), or every
//! object `ls --stale` lists, without touching what is in use.
//!
//! Explicit requests are checked as a whole before anything is removed: a missing object or one
//! still attached (without `--force`) removes nothing. Each removal then re-checks the object
//! right before acting (see [`crate::source::remove`]), so an id or name reused in between is
//! skipped and reported.

use super::ls::report_hidden;
use super::scope::Scope;
use super::{Ctx, Run};
use crate::cli::RmArgs;
use crate::error::{Error, Exit};
use crate::model::{key_string, Kind, Segment, Verdict};
use crate::render::rm::{self as render, Outcome, RmResult, RmSummary};
use crate::source::inventory::{self, Inventory, Options};
use crate::source::remove::{self, PosixIdentity, Refusal, SysvIdentity};
use crate::source::remove_ipc::{self, MsgIdentity, SemIdentity};
use crate::source::Sys;
use crate::source::{backup, judge};
use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// Longest file name tmpfs takes (NAME_MAX).
const NAME_MAX: usize = 255;

/// A POSIX shm name as `shm_open` takes it: an optional leading `/`, then a plain file name.
/// Anything that could reach outside the shm directory is refused.
pub fn posix_name(name: &str) -> Result<&str, Error> {
    let plain = name.strip_prefix('/').unwrap_or(name);
    let why = if plain.is_empty() {
        Some("it is empty")
    } else if plain.contains('/') {
        Some("only a plain name inside /dev/shm is accepted ('/' is allowed only as the first character)")
    } else if plain == "." || plain == ".." {
        Some("'.' and '..' are not object names")
    } else if plain.len() > NAME_MAX {
        Some("it is longer than 255 bytes")
    } else if plain.contains('\0') {
        Some("it contains a NUL byte")
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::BadInput(format!(
            "invalid POSIX shm name {name:?}: {why}"
        ))),
        None => Ok(plain),
    }
}

/// A key for `--key`: any key but 0 (IPC_PRIVATE names no segment; each such segment is
/// private to its creator and must be removed by shmid).
pub fn rm_key(text: &str) -> Result<u32, Error> {
    let key = crate::units::parse_key(text).map_err(Error::BadInput)?;
    if key == 0 {
        return Err(Error::BadInput(
            "key 0 is IPC_PRIVATE, which many segments share; remove those by shmid".into(),
        ));
    }
    Ok(key)
}

/// How an object came to be on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Asked for by shmid, key or name: not removing it is an error.
    Asked,
    /// Listed by `--stale`.
    Stale,
}

/// What will be removed, and how to tell it is still the same object.
#[derive(Debug, Clone)]
enum Ident {
    Sysv(SysvIdentity),
    Posix(PosixIdentity),
    Sem(SemIdentity),
    Msg(MsgIdentity),
    /// A POSIX message queue: a file of the mqueue filesystem.
    Mqueue(PosixIdentity),
}

#[derive(Debug, Clone)]
struct Target {
    seg: Segment,
    why: Why,
    ident: Ident,
    /// Processes that map or hold it now.
    holders: Vec<i32>,
}

impl Target {
    /// Bytes removing it gives back now, as far as the listing knows: nothing while anyone
    /// maps or holds it, or while another name of it is left (hard links); for a /dev/shm
    /// object its allocated blocks (a sparse file frees what it holds, not its size).
    fn freeing(&self, result: Outcome) -> u64 {
        if !matches!(result, Outcome::Removed | Outcome::WouldRemove) || !self.holders.is_empty() {
            return 0;
        }
        match self.seg.kind {
            Kind::Posix | Kind::Psem if self.seg.names.len() > 1 => 0,
            Kind::Posix | Kind::Psem => self.seg.rss.unwrap_or(self.seg.size),
            _ => self.seg.size,
        }
    }

    fn result(&self, result: Outcome, reason: Option<String>) -> RmResult {
        RmResult {
            freed: self.freeing(result),
            result,
            kind: self.seg.kind,
            id: self.seg.id,
            key: self.seg.key.map(key_string),
            path: self.seg.path.clone(),
            size: self.seg.size,
            stale_reason: self.seg.stale_reason.as_deref().map(String::from),
            note: reason
                .clone()
                .filter(|r| Some(r.as_str()) != self.seg.stale_reason.as_deref()),
            attachers: self.seg.attachers.clone(),
            fd_holders: self.seg.fd_holders.clone(),
            reason,
            held_by: if result == Outcome::Kept {
                Vec::new()
            } else {
                self.holders.clone()
            },
            backup: None,
        }
    }

    fn label(&self) -> String {
        match (&self.ident, &self.seg.path) {
            (Ident::Sysv(i), _) => format!("shmid {}", i.shmid),
            (Ident::Posix(_), Some(p)) => p.clone(),
            (Ident::Posix(p), None) => p.rel.display().to_string(),
            (Ident::Sem(i), _) => format!("semid {}", i.semid),
            (Ident::Msg(i), _) => format!("msqid {}", i.msqid),
            (Ident::Mqueue(_), Some(p)) => p.clone(),
            (Ident::Mqueue(p), None) => p.rel.display().to_string(),
        }
    }
}

fn sysv_ident(seg: &Segment) -> Option<SysvIdentity> {
    Some(SysvIdentity {
        shmid: i32::try_from(seg.id?).ok()?,
        key: seg.key?,
        cpid: seg.cpid.unwrap_or(0),
        ctime: seg.ctime.unwrap_or(0),
    })
}

/// The name to remove of a /dev/shm object: `name` (one of its names, as listed), else its
/// first name. Removing one name of a hard-linked object leaves the others.
fn posix_ident(seg: &Segment, sys: &Sys, name: Option<&str>) -> Option<PosixIdentity> {
    use std::os::fd::AsFd;
    let dev = inventory::posix_dev(seg)?;
    let ino = seg.inode?;
    let dir = sys.open_shm_dir().ok()?;
    let shown = PathBuf::from(name.or(seg.path.as_deref())?);
    let same = |rel: &Path| {
        crate::source::root::stat_at(dir.as_fd(), rel.as_os_str())
            .is_ok_and(|st| (st.dev, st.ino) == (dev, ino))
            || crate::source::root::open_beneath(dir.as_fd(), rel, nix::fcntl::OFlag::O_PATH)
                .and_then(|fd| crate::source::root::stat_fd(fd.as_fd()))
                .is_ok_and(|st| (st.dev, st.ino) == (dev, ino))
    };
    let rel = match shown.strip_prefix(&sys.shm_dir) {
        Ok(rel) if same(rel) => rel.to_path_buf(),
        // A name that is not UTF-8 is listed with `\xNN` escapes; find the real one by inode.
        // (With hard links, this finds one of its names; the listing sorts them the same way.)
        _ => crate::source::devshm::find_by_inode(dir.as_fd(), dev, ino)?,
    };
    Some(PosixIdentity { rel, dev, ino })
}

/// A stale set as it is now, if it is still the one that was judged (same key, change time and
/// last operation).
fn sem_ident(seg: &Segment) -> Option<SemIdentity> {
    let now = remove_ipc::sem_now(i32::try_from(seg.id?).ok()?).ok()?;
    let key = seg.key?;
    let same =
        now.key == key && Some(now.ctime) == seg.ctime && now.otime == seg.atime.unwrap_or(0);
    same.then_some(now)
}

/// A stale queue as it is now, if it is still the one that was judged.
fn msg_ident(seg: &Segment) -> Option<MsgIdentity> {
    let now = remove_ipc::msg_now(i32::try_from(seg.id?).ok()?).ok()?;
    let key = seg.key?;
    let ipc = seg.ipc.as_ref()?;
    let same = now.key == key
        && Some(now.ctime) == seg.ctime
        && now.stime == seg.atime.unwrap_or(0)
        && now.rtime == seg.dtime.unwrap_or(0)
        && Some(now.lspid) == ipc.last_send_pid
        && Some(now.lrpid) == ipc.last_recv_pid;
    same.then_some(now)
}

/// A POSIX queue's file inside the mqueue filesystem, by name, device and inode.
fn mqueue_ident(seg: &Segment, dir: &Path) -> Option<PosixIdentity> {
    let path = PathBuf::from(seg.path.as_deref()?);
    Some(PosixIdentity {
        rel: path.strip_prefix(dir).ok()?.to_path_buf(),
        dev: inventory::posix_dev(seg)?,
        ino: seg.inode?,
    })
}

/// Semaphore sets and queues asked for by id or name, each with the processes that could
/// still be using it (refused while there are any, unless --force).
fn resolve_messaging(
    args: &RmArgs,
    ctx: &Ctx,
    inv: &Inventory,
    mq_names: &[&str],
) -> (Vec<Target>, Vec<String>) {
    let sys = &ctx.sys;
    let mut found: Vec<(&Segment, String)> = Vec::new();
    let mut problems = Vec::new();
    let find = |kind: Kind, id: i64| {
        inv.segments
            .iter()
            .find(|s| s.kind == kind && s.id == Some(id))
    };
    for &id in &args.sems {
        match find(Kind::Sem, id) {
            Some(s) => found.push((s, format!("semid {id}"))),
            None => problems.push(format!("no System V semaphore set with semid {id}")),
        }
    }
    for &id in &args.msgs {
        match find(Kind::Msg, id) {
            Some(s) => found.push((s, format!("msqid {id}"))),
            None => problems.push(format!("no System V message queue with msqid {id}")),
        }
    }
    for name in mq_names {
        let path = sys.mqueue_dir.join(name);
        let wanted = path.to_string_lossy();
        match inv
            .segments
            .iter()
            .find(|s| s.kind == Kind::Mqueue && s.path.as_deref() == Some(&*wanted))
        {
            Some(s) => found.push((s, format!("/{name}"))),
            None => problems.push(format!("no POSIX message queue /{name}")),
        }
    }
    let mut targets = Vec::new();
    for (seg, label) in found {
        let (ident, users) = match seg.kind {
            Kind::Sem => {
                let id = sem_ident(seg);
                let id64 = seg.id.unwrap_or(-1);
                let mut users: Vec<i32> = id
                    .as_ref()
                    .map(|i| {
                        i.last_pids
                            .iter()
                            .copied()
                            .filter(|&p| p > 0 && sys.alive(p))
                            .collect()
                    })
                    .unwrap_or_default();
                let waiting = (0..seg.ipc.as_ref().and_then(|i| i.nsems).unwrap_or(0))
                    .any(|n| crate::source::ipc::sem_waiters(id64, n).unwrap_or(0) > 0);
                if waiting {
                    users.push(0);
                }
                (id.map(Ident::Sem), users)
            }
            Kind::Msg => {
                let id = msg_ident(seg);
                let users = id
                    .map(|i| {
                        [i.lspid, i.lrpid]
                            .into_iter()
                            .filter(|&p| p > 0 && sys.alive(p))
                            .collect()
                    })
                    .unwrap_or_default();
                (id.map(Ident::Msg), users)
            }
            _ => (
                mqueue_ident(seg, &sys.mqueue_dir).map(Ident::Mqueue),
                seg.holder_pids(),
            ),
        };
        let Some(ident) = ident else {
            problems.push(format!(
                "{label} changed while it was being looked at; not removing it"
            ));
            continue;
        };
        let mut users = users;
        users.sort_unstable();
        users.dedup();
        if !users.is_empty() && !args.force {
            let named: Vec<i32> = users.iter().copied().filter(|&p| p > 0).collect();
            let who = if named.is_empty() {
                "processes waiting on it".to_string()
            } else {
                sys.describe_pids(&named)
            };
            problems.push(format!(
                "{label} may be in use by {who} (--force removes it anyway)"
            ));
            continue;
        }
        users.retain(|&p| p > 0);
        targets.push(Target {
            seg: seg.clone(),
            why: Why::Asked,
            ident,
            holders: users,
        });
    }
    (targets, problems)
}

/// The explicit requests, resolved against the inventory; every problem found, not just the first.
fn resolve_asked(
    args: &RmArgs,
    ctx: &Ctx,
    inv: &Inventory,
    keys: &[u32],
    names: &[&str],
) -> (Vec<Target>, Vec<String>) {
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    let sysv = || inv.segments.iter().filter(|s| s.kind == Kind::Sysv);
    // Each object found, and for a /dev/shm object the name it was asked by.
    let mut found: Vec<(&Segment, Option<String>)> = Vec::new();
    for &id in &args.shmids {
        match sysv().find(|s| s.id == Some(id as i64)) {
            Some(s) => found.push((s, None)),
            None => problems.push(Error::NoSuchShmid(id as i64).to_string()),
        }
    }
    for &key in keys {
        let k = key_string(key);
        match sysv().find(|s| s.key == Some(key)) {
            Some(s) => found.push((s, None)),
            None => match sysv().find(|s| s.former_key == Some(key)) {
                Some(s) => problems.push(format!(
                    "no System V segment has key {k} now; shmid {} was made with it and is already marked for removal",
                    s.id.unwrap_or(-1)
                )),
                None => problems.push(Error::NoSuchKey(k).to_string()),
            },
        }
    }
    for name in names {
        let path = ctx.sys.shm_dir.join(name);
        let wanted = path.to_string_lossy();
        // Any of a hard-linked object's names finds it; that name is the one removed.
        match inv
            .segments
            .iter()
            .find(|s| matches!(s.kind, Kind::Posix | Kind::Psem) && s.has_name(&wanted))
        {
            Some(s) => found.push((s, Some(wanted.into_owned()))),
            None => problems.push(format!("no POSIX shm object {wanted}")),
        }
    }
    for (seg, name) in found {
        let ident = match seg.kind {
            Kind::Sysv => sysv_ident(seg).map(Ident::Sysv),
            _ => posix_ident(seg, &ctx.sys, name.as_deref()).map(Ident::Posix),
        };
        let Some(ident) = ident else {
            problems.push(format!(
                "cannot tell {} apart from a reused one; not removing it",
                seg.path.clone().unwrap_or_default()
            ));
            continue;
        };
        let mut seg = seg.clone();
        if let Some(name) = name {
            // Named (and reported) by the name asked for.
            seg.path = Some(name);
        }
        let t = Target {
            holders: seg.holder_pids(),
            seg,
            why: Why::Asked,
            ident,
        };
        let attached = t.seg.nattch.unwrap_or(0) > 0 || !t.holders.is_empty();
        if attached && !args.force {
            let who = if t.holders.is_empty() {
                format!(
                    "{} attachment(s) by processes that cannot be seen from here",
                    t.seg.nattch.unwrap_or(0)
                )
            } else {
                ctx.sys.describe_pids(&t.holders)
            };
            problems.push(format!(
                "{} is in use by {who} (--force removes it anyway{})",
                t.label(),
                if t.seg.kind == Kind::Sysv {
                    ": it goes when the last one detaches"
                } else {
                    ": the name goes now, the memory when they let go"
                }
            ));
            continue;
        }
        // Issue 13: without privilege, an object that processes we cannot read could hold is
        // not removed on our word alone.
        let ev = &t.seg.evidence;
        let unseen = !ev.unreadable.is_empty() || ev.processes_not_visible;
        if t.seg.kind != Kind::Sysv && unseen && !args.force && !nix::unistd::geteuid().is_root() {
            let who = if ev.unreadable.is_empty() {
                "processes this /proc does not show (another pid namespace)".to_string()
            } else {
                format!(
                    "processes you cannot read ({})",
                    ctx.sys.describe_pids(&ev.unreadable)
                )
            };
            problems.push(format!(
                "{} may be held by {who}; run as root to see them, or --force to remove it anyway",
                t.label()
            ));
            continue;
        }
        targets.push(t);
    }
    (targets, problems)
}

/// The leaked objects within the filters: what `--stale` removes.
fn stale_targets(ctx: &Ctx, inv: &Inventory, scope: &Scope) -> Vec<Target> {
    let now = super::ls::now();
    inv.segments
        .iter()
        .filter(|s| s.verdict == Verdict::Leaked && scope.matches(&ctx.sys, s, now))
        .flat_map(|s| {
            // A leaked object with hard links goes only when every name does: one removal per
            // name directly in the shm directory (names in subdirectories are not shm_open's).
            let names: Vec<Option<String>> = match s.kind {
                Kind::Posix | Kind::Psem if s.names.len() > 1 => s
                    .names
                    .iter()
                    .filter(|n| {
                        crate::source::classify::shm_kind(&name_in_dir(&ctx.sys, n)) != Kind::File
                    })
                    .map(|n| Some(n.clone()))
                    .collect(),
                _ => vec![None],
            };
            names.into_iter().filter_map(move |name| {
                let ident = match s.kind {
                    Kind::Sysv => Ident::Sysv(sysv_ident(s)?),
                    Kind::Posix | Kind::Psem => {
                        Ident::Posix(posix_ident(s, &ctx.sys, name.as_deref())?)
                    }
                    Kind::Sem => Ident::Sem(sem_ident(s)?),
                    Kind::Msg => Ident::Msg(msg_ident(s)?),
                    Kind::Mqueue => Ident::Mqueue(mqueue_ident(s, &ctx.sys.mqueue_dir)?),
                    _ => return None,
                };
                let mut seg = s.clone();
                if name.is_some() {
                    seg.path = name;
                }
                Some(Target {
                    seg,
                    why: Why::Stale,
                    ident,
                    holders: Vec::new(),
                })
            })
        })
        .collect()
}

/// What a dry run of hard-linked objects would free: the object goes with the last of its
/// names, so it counts once if every name is on the list, and not at all otherwise (said so).
fn dry_run_links(targets: &[Target], results: &mut [RmResult]) {
    let linked = |t: &Target| match &t.ident {
        Ident::Posix(p) if t.seg.names.len() > 1 => Some((p.dev, p.ino)),
        _ => None,
    };
    for (i, t) in targets.iter().enumerate() {
        let Some(id) = linked(t) else { continue };
        if results[i].result != Outcome::WouldRemove {
            continue;
        }
        let going: Vec<usize> = (0..targets.len())
            .filter(|&j| {
                linked(&targets[j]) == Some(id) && results[j].result == Outcome::WouldRemove
            })
            .collect();
        if going.len() >= t.seg.names.len() {
            if going.last() == Some(&i) && t.holders.is_empty() {
                results[i].freed = t.seg.rss.unwrap_or(t.seg.size);
            }
        } else if results[i].reason.is_none() {
            results[i].reason = Some(format!(
                "only this name would go; the object lives on under its {} other name(s)",
                t.seg.names.len() - going.len()
            ));
        }
    }
}

/// A listed name relative to the shm directory.
fn name_in_dir(sys: &Sys, name: &str) -> String {
    let mut seg = Segment::new(Kind::Posix);
    seg.path = Some(name.to_string());
    inventory::shm_name(sys, &seg)
}

/// Save one object's bytes and metadata before it goes.
fn backup(
    dir: &Path,
    t: &Target,
    sys: &Sys,
    read_at: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
    size: u64,
) -> Result<PathBuf, Refusal> {
    let name = match t.seg.kind {
        Kind::Sysv => None,
        _ => Some(inventory::shm_name(sys, &t.seg)),
    };
    let meta = backup::Meta {
        kind: t.seg.kind,
        name,
        key: t.seg.key.map(key_string),
        shmid: t.seg.id,
        size,
        uid: t.seg.uid,
        gid: t.seg.gid,
        perms: t.seg.perms.map(|m| format!("{:o}", m.0)),
        saved_at: super::ls::now(),
    };
    backup::write(dir, &meta, read_at).map_err(|e| Refusal::Backup(e.to_string()))
}

/// The last look at a System V segment before IPC_RMID: for a leaked one, nobody may have
/// attached or detached since the listing; then the backup.
fn sysv_last_look(
    t: &Target,
    args: &RmArgs,
    sys: &Sys,
    now: &remove::SysvNow,
    saved: &mut Option<PathBuf>,
) -> Result<(), Refusal> {
    if t.why == Why::Stale {
        let listed = (
            t.seg.lpid.unwrap_or(0),
            t.seg.atime.unwrap_or(0),
            t.seg.dtime.unwrap_or(0),
        );
        if (now.lpid, now.atime, now.dtime) != listed {
            return Err(Refusal::UsedSince { lpid: now.lpid });
        }
    }
    if let Some(dir) = &args.backup {
        let shmid = now.identity.shmid;
        let att = crate::attach::reader::ShmAttachment::attach(shmid)
            .map_err(|e| Refusal::Backup(format!("attaching shmid {shmid}: {e}")))?;
        let size = att.size();
        let file = att.open_file(&sys.proc_root);
        let reader = crate::attach::reader::Reader::Shm {
            att,
            offset: 0,
            file,
        };
        *saved = Some(backup(
            dir,
            t,
            sys,
            |pos, buf| reader.read_at(pos, buf),
            size,
        )?);
        drop(reader);
        // Our attachment is gone again; anyone else's since the check stops the removal.
        let again = remove::sysv_stat(shmid).map_err(|_| Refusal::Gone)?;
        if again.nattch > 0 && !(args.force && t.why == Why::Asked) {
            return Err(Refusal::AttachedSince {
                nattch: again.nattch,
            });
        }
    }
    Ok(())
}

/// Hide the name of every POSIX object about to be removed, then take one look at who holds
/// each (one walk of /proc for them all, made after every name was hidden: nobody can open
/// them by name now, and whoever opened one before shows). Indexed as `targets`; None for
/// targets that are not hidden here (other kinds, or already settled in `settled`).
fn hide_and_look(
    targets: &[Target],
    settled: &[Option<RmResult>],
    sys: &Sys,
) -> Vec<Option<(Result<remove::HiddenPosix, Refusal>, LastLook)>> {
    let hides = |(t, done): (&Target, &Option<RmResult>)| {
        matches!((&t.ident, done), (Ident::Posix(_), None))
    };
    if targets.iter().zip(settled).any(hides) {
        // Once, before the first name is hidden (as `act` does before any other removal).
        crate::hooks::pause_point("rm:before-remove");
    }
    let mut hidden: Vec<Option<Result<remove::HiddenPosix, Refusal>>> = targets
        .iter()
        .zip(settled)
        .map(|(t, done)| match (&t.ident, done) {
            (Ident::Posix(p), None) => {
                Some(open_dir(sys.open_shm_dir()).and_then(|d| remove::hide_posix(d.as_fd(), p)))
            }
            _ => None,
        })
        .collect();
    let looked: Vec<(&Segment, u64, u64)> = targets
        .iter()
        .zip(&hidden)
        .filter_map(|(t, h)| match (&t.ident, h) {
            (Ident::Posix(p), Some(Ok(_))) => Some((&t.seg, p.dev, p.ino)),
            _ => None,
        })
        .collect();
    let mut looks = if looked.is_empty() {
        Vec::new()
    } else {
        judge::holders_now_of(sys, &looked)
    }
    .into_iter();
    hidden
        .iter_mut()
        .map(|h| {
            let h = h.take()?;
            let look = match h {
                Ok(_) => looks.next().unwrap_or((Vec::new(), vec![0])),
                Err(_) => (Vec::new(), Vec::new()),
            };
            Some((h, look))
        })
        .collect()
}

/// Who held a hidden object at the last look: (holders, unreadable possible holders).
type LastLook = (Vec<i32>, Vec<i32>);

/// The last look at a /dev/shm object, made after its name was hidden ([`hide_and_look`]):
/// holders, unreadable possible holders, then the backup.
fn posix_last_look(
    t: &Target,
    args: &RmArgs,
    sys: &Sys,
    dir: &std::os::fd::OwnedFd,
    hidden: &std::ffi::OsStr,
    look: LastLook,
    saved: &mut Option<PathBuf>,
) -> Result<(), Refusal> {
    let (held, unseen) = look;
    let forced = args.force && t.why == Why::Asked;
    if !held.is_empty() && !forced {
        return Err(Refusal::HeldNow { pids: held });
    }
    if t.why == Why::Stale && !unseen.is_empty() {
        return Err(Refusal::Unseen { pids: unseen });
    }
    if let Some(bdir) = &args.backup {
        let f = backup::file_reader(dir, hidden).map_err(|e| Refusal::Backup(e.to_string()))?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        use std::os::unix::fs::FileExt;
        *saved = Some(backup(bdir, t, sys, |pos, buf| f.read_at(buf, pos), size)?);
    }
    Ok(())
}

/// Remove one object, or say why not. A POSIX object comes hidden, with its last look.
fn act(
    t: &Target,
    args: &RmArgs,
    sys: &Sys,
    hidden: Option<(Result<remove::HiddenPosix, Refusal>, LastLook)>,
) -> RmResult {
    let stale_reason = || t.seg.stale_reason.clone().map(|r| r.to_string());
    if args.dry_run {
        return t.result(Outcome::WouldRemove, stale_reason());
    }
    // Stale objects had nobody attached; one that gained an attacher since is no longer a leak.
    let allow_attached = args.force && t.why == Why::Asked;
    let who = || {
        if t.holders.is_empty() {
            "processes that cannot be seen from here".to_string()
        } else {
            sys.describe_pids(&t.holders)
        }
    };
    if hidden.is_none() {
        crate::hooks::pause_point("rm:before-remove");
    }
    let mut saved: Option<PathBuf> = None;
    let done = match &t.ident {
        Ident::Sysv(id) => remove::remove_sysv_with(id, allow_attached, |now| {
            sysv_last_look(t, args, sys, now, &mut saved)
        })
        .map(|now| {
            if now.nattch == 0 {
                // Whoever the listing saw attached has detached since.
                RmResult {
                    held_by: Vec::new(),
                    ..t.result(Outcome::Removed, stale_reason())
                }
            } else {
                t.result(
                    Outcome::Marked,
                    Some(format!(
                        "still attached by {} (nattch {}); freed when the last one detaches",
                        who(),
                        now.nattch
                    )),
                )
            }
        }),
        Ident::Sem(i) => {
            remove_ipc::remove_sem(i).map(|()| t.result(Outcome::Removed, stale_reason()))
        }
        Ident::Msg(i) => {
            remove_ipc::remove_msg(i).map(|()| t.result(Outcome::Removed, stale_reason()))
        }
        Ident::Mqueue(p) => open_dir(sys.open_mqueue_dir())
            .and_then(|dir| remove::remove_posix(dir.as_fd(), p))
            .map(|_| t.result(Outcome::Removed, stale_reason())),
        Ident::Posix(_) => hidden
            .ok_or(Refusal::Gone)
            .and_then(|(h, look)| {
                h?.finish(|d, name| posix_last_look(t, args, sys, d, name, look, &mut saved))
            })
            .map(|before| {
                if before.nlink > 1 {
                    // One name of several: the object lives on under the others.
                    RmResult {
                        freed: 0,
                        ..t.result(
                            Outcome::Removed,
                            Some(format!(
                                "name removed; the object lives on under its {} other name(s), so nothing is freed",
                                before.nlink - 1
                            )),
                        )
                    }
                } else if t.holders.is_empty() {
                    // The last name: what it held, measured right before the unlink.
                    RmResult {
                        freed: before.allocated,
                        ..t.result(Outcome::Removed, stale_reason())
                    }
                } else {
                    t.result(
                        Outcome::Removed,
                        Some(format!(
                        "name removed; still mapped or open in {}, memory freed when they let go",
                        who()
                    )),
                    )
                }
            }),
    };
    let mut result = match done {
        Ok(result) => result,
        Err(Refusal::NotPermitted) => t.result(
            Outcome::Kept,
            Some(format!(
                "permission denied: owned by {}; only its owner, its creator or root may remove it",
                t.seg
                    .uid
                    .map(|u| crate::source::users::Users::default().name(u))
                    .unwrap_or_else(|| "another user".into())
            )),
        ),
        Err(Refusal::HeldNow { pids }) => t.result(
            Outcome::Kept,
            Some(format!(
                "mapped or opened since it was listed, by {}",
                sys.describe_pids(&pids)
            )),
        ),
        Err(Refusal::Unseen { pids }) => t.result(
            Outcome::Kept,
            Some(format!(
                "processes that could hold it cannot be read now: {}",
                sys.describe_pids(&pids)
            )),
        ),
        Err(e) => t.result(Outcome::Kept, Some(e.to_string())),
    };
    if let Some(path) = saved.filter(|_| result.result != Outcome::Kept) {
        result.backup = Some(path.display().to_string());
    }
    result
}

/// Look again after the listing (and the question on the terminal): each leaked object must
/// still be there, the same object, and still leaked; otherwise it is kept and the reason said.
fn recheck_stale(ctx: &Ctx, targets: &[Target]) -> anyhow::Result<Vec<Option<RmResult>>> {
    let again = super::gather(
        &ctx.sys,
        Options {
            messaging: true,
            ..Options::default()
        },
    )?;
    Ok(targets
        .iter()
        .map(|t| {
            if t.why != Why::Stale {
                return None;
            }
            let now = again.segments.iter().find(|s| match (&t.ident, s.kind) {
                (Ident::Sysv(id), Kind::Sysv) => sysv_ident(s).as_ref() == Some(id),
                (Ident::Posix(p), Kind::Posix | Kind::Psem) => {
                    inventory::posix_dev(s) == Some(p.dev) && s.inode == Some(p.ino)
                }
                _ => false,
            });
            // Semaphore sets and queues are re-checked by their own removal (remove_ipc).
            if !matches!(t.ident, Ident::Sysv(_) | Ident::Posix(_)) {
                return None;
            }
            match now {
                None => Some(t.result(Outcome::Kept, Some(Refusal::Gone.to_string()))),
                Some(s) if s.verdict != Verdict::Leaked => Some(t.result(
                    Outcome::Kept,
                    Some(format!(
                        "no longer leaked ({}): {}",
                        s.verdict,
                        crate::render::verdict::reason(s)
                    )),
                )),
                Some(_) => None,
            }
        })
        .collect())
}

/// A directory to remove names from, or why it cannot be reached.
fn open_dir(r: std::io::Result<std::os::fd::OwnedFd>) -> Result<std::os::fd::OwnedFd, Refusal> {
    r.map_err(|e| Refusal::Os(format!("cannot open the directory it is in: {e}")))
}

/// Ask once on the terminal; true for yes.
fn confirm(items: &[RmResult]) -> anyhow::Result<bool> {
    let mut err = std::io::stderr().lock();
    render::write_confirmation(&mut err, items)?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let a = answer.trim().to_ascii_lowercase();
    Ok(a == "y" || a == "yes")
}

/// A usage error found after parsing: one line, exit 2, as clap's are.
fn usage_error(msg: &str) -> anyhow::Error {
    eprintln!("shmtool: error: {msg} (try 'shmtool rm --help')");
    Exit(2).into()
}

impl Run for RmArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        // Everything the user typed is checked before anything is looked up or removed.
        let keys = self
            .keys
            .iter()
            .map(|k| rm_key(k))
            .collect::<Result<Vec<_>, _>>()?;
        let names = self
            .posix
            .iter()
            .map(|n| posix_name(n))
            .collect::<Result<Vec<_>, _>>()?;
        let mq_names = self
            .mqueues
            .iter()
            .map(|n| posix_name(n))
            .collect::<Result<Vec<_>, _>>()?;
        let messaging = !self.sems.is_empty() || !self.msgs.is_empty() || !mq_names.is_empty();
        if self.shmids.is_empty()
            && keys.is_empty()
            && names.is_empty()
            && !messaging
            && !self.stale
        {
            return Err(usage_error(
                "nothing to remove: give SHMIDs, --key KEY, --posix NAME, --sem, --msg, --mqueue or --stale",
            ));
        }
        let interactive = std::io::stdin().is_terminal();
        if self.stale && !self.yes && !self.dry_run && !interactive {
            return Err(usage_error(
                "rm --stale needs --yes or --dry-run when standard input is not a terminal",
            ));
        }

        let scope = Scope::new(self.user.as_deref(), &self.kind, &self.scope, Vec::new())?;
        let inv = super::gather(
            &ctx.sys,
            Options {
                // Leaked semaphore sets and message queues are removed by --stale too.
                messaging: self.stale || messaging,
                ..Options::default()
            },
        )?;
        let (mut targets, mut problems) = resolve_asked(self, ctx, &inv, &keys, &names);
        let (more, more_problems) = resolve_messaging(self, ctx, &inv, &mq_names);
        targets.extend(more);
        problems.extend(more_problems);
        if !problems.is_empty() {
            return Err(
                Error::BadInput(format!("{}; nothing removed", problems.join("; "))).into(),
            );
        }
        report_hidden(&inv);
        if self.stale {
            targets.extend(stale_targets(ctx, &inv, &scope));
        }
        let mut seen = HashSet::new();
        targets.retain(|t| seen.insert((t.seg.kind, t.seg.id, t.seg.path.clone())));

        if self.stale && !self.yes && !self.dry_run && !targets.is_empty() {
            let listed: Vec<RmResult> = targets
                .iter()
                .map(|t| {
                    t.result(
                        Outcome::WouldRemove,
                        t.seg.stale_reason.clone().map(|r| r.to_string()),
                    )
                })
                .collect();
            if !confirm(&listed)? {
                writeln!(out, "nothing removed")?;
                return Ok(());
            }
        }

        crate::hooks::pause_point("rm:after-confirm");
        let rechecked = if self.stale && !self.dry_run {
            recheck_stale(ctx, &targets)?
        } else {
            vec![None; targets.len()]
        };
        let mut hidden = if self.dry_run {
            Vec::new()
        } else {
            hide_and_look(&targets, &rechecked, &ctx.sys)
        }
        .into_iter();
        let mut results: Vec<RmResult> = targets
            .iter()
            .zip(rechecked)
            .map(|(t, kept)| {
                let hidden = hidden.next().flatten();
                kept.unwrap_or_else(|| act(t, self, &ctx.sys, hidden))
            })
            .collect();
        if self.dry_run {
            dry_run_links(&targets, &mut results);
        }
        let not_done: Vec<String> = targets
            .iter()
            .zip(&results)
            .filter(|(t, r)| t.why == Why::Asked && r.result == Outcome::Kept)
            .map(|(t, r)| format!("{}: {}", t.label(), r.reason.as_deref().unwrap_or("")))
            .collect();
        let summary = RmSummary::new(self.dry_run, results);
        if self.json {
            crate::render::write_json(out, &summary)?;
        } else {
            render::write_summary(out, &summary, ctx.color, false)?;
        }
        if !not_done.is_empty() {
            out.flush()?;
            return Err(Error::BadInput(format!("not removed: {}", not_done.join("; "))).into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_names() {
        assert_eq!(posix_name("psm_1").unwrap(), "psm_1");
        assert_eq!(posix_name("/psm_1").unwrap(), "psm_1");
        assert_eq!(posix_name("a..b").unwrap(), "a..b");
        for bad in [
            "",
            "/",
            "../x",
            "..",
            ".",
            "/..",
            "a/b",
            "/dev/shm/x",
            "//x",
        ] {
            assert!(posix_name(bad).is_err(), "{bad:?}");
        }
        assert!(posix_name(&"x".repeat(256)).is_err());
    }

    /// A target for one name of a hard-linked /dev/shm object of `allocated` bytes.
    fn link(names: &[&str], name: &str, allocated: u64) -> Target {
        let mut seg = Segment::new(Kind::Posix);
        seg.names = names.iter().map(|n| format!("/dev/shm/{n}")).collect();
        seg.path = Some(format!("/dev/shm/{name}"));
        seg.size = 1 << 30;
        seg.rss = Some(allocated);
        Target {
            seg,
            why: Why::Stale,
            ident: Ident::Posix(PosixIdentity {
                rel: name.into(),
                dev: 1,
                ino: 2,
            }),
            holders: Vec::new(),
        }
    }

    #[test]
    fn a_dry_run_frees_a_linked_object_once_and_only_with_every_name() {
        let all = [link(&["a", "b"], "a", 4096), link(&["a", "b"], "b", 4096)];
        let mut results: Vec<RmResult> = all
            .iter()
            .map(|t| t.result(Outcome::WouldRemove, None))
            .collect();
        dry_run_links(&all, &mut results);
        let freed: Vec<u64> = results.iter().map(|r| r.freed).collect();
        assert_eq!(freed, [0, 4096]);

        let one = [link(&["a", "b"], "b", 4096)];
        let mut results = vec![one[0].result(Outcome::WouldRemove, None)];
        dry_run_links(&one, &mut results);
        assert_eq!(results[0].freed, 0);
        let why = results[0].reason.as_deref().unwrap_or("");
        assert!(why.contains("lives on under its 1 other name"), "{why}");
    }

    #[test]
    fn keys() {
        assert_eq!(rm_key("0x6f20d677").unwrap(), 0x6f20d677);
        assert!(rm_key("0").is_err());
        assert!(rm_key("0x00000000").is_err());
        assert!(rm_key("zz").is_err());
    }
}
