//! `shmtool locks`: every thread blocked on a lock in shared memory, what the lock is, who holds
//! it, and whether that holder can ever let go.
//!
//! A blocked thread's `syscall` file names the futex address (or semaphore set) it sleeps on;
//! the address is placed in a shared object through the waiter's mappings; the bytes there are
//! read with `process_vm_readv` (never written) and judged by [`lockword`]; the owner tid a mutex
//! records is looked up in /proc; and the owners' own waits make a wait-for graph, in which a
//! waiter that reaches itself again is a deadlock.

use super::{note, Ctx, Run};
use crate::attach::Reader;
use crate::cli::LocksArgs;
use crate::model::{LockObject, LockOwner, LockWait, Segment};
use crate::source::debuginfo;
use crate::source::dwarf::{Dwarf, TypeName};
use crate::source::inventory::{self, Inventory, Options};
use crate::source::lockmember;
use crate::source::lockword::{self, Word};
use crate::source::waits::{self, Blocked, SemSet, ThreadWait};
use crate::source::Sys;
use std::collections::HashMap;
use std::io::Write;

/// The verdicts, word for word (scripts match on them).
pub const OWNER_DEAD_NOT_ROBUST: &str = "owner dead (not robust: waits forever)";
pub const OWNER_DEAD_ROBUST: &str = "owner dead (robust: next lock gets EOWNERDEAD)";
pub const OWNER_DEAD_ROBUST_UNMARKED: &str =
    "owner dead (robust, but the kernel did not mark it: waits forever)";
pub const OWNER_ALIVE: &str = "owner alive";
pub const NO_OWNER: &str = "no owner (semaphore: waits for a post)";
pub const NO_OWNER_CONDVAR: &str = "no owner (condition variable: waits for a signal)";

impl Run for LocksArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        // As with `ls --pid`: a pid that names no process is a mistake, not an empty answer.
        for &pid in &self.pid {
            if pid <= 0 || !ctx.sys.pid_path(pid, "").exists() {
                return Err(crate::error::Error::NoSuchProcess(pid).into());
            }
        }
        // Bad --type or --debug-file before any scanning.
        let want = match &self.type_name {
            Some(t) => Some(TypeName::parse(t).map_err(crate::error::Error::BadInput)?),
            None => None,
        };
        let types = Types::new(want, self.debug_file.as_deref())?;
        let (waits, hidden) = ctx.sys.thread_waits(None);
        // Nobody in futex: no need to learn where every shared object is mapped.
        let inv = if waits
            .iter()
            .any(|w| matches!(w.blocked, Blocked::Futex { .. }))
        {
            inventory::gather(
                &ctx.sys,
                Options {
                    include_readonly_files: true,
                    exact_memfds: false,
                    messaging: false,
                },
            )?
        } else {
            Inventory::default()
        };
        let found = judge_waits(&ctx.sys, &inv, &waits, hidden);
        if found.hidden > 0 {
            let hint = super::unless_root(" (run as root to see every process)");
            note(&format!(
                "{} process(es) could not be read; their threads are not shown{hint}",
                found.hidden
            ));
        }
        let mut rows: Vec<LockWait> = found
            .rows
            .into_iter()
            .filter(|w| {
                self.pid.is_empty()
                    || self.pid.contains(&w.pid)
                    || w.owner
                        .as_ref()
                        .and_then(|o| o.pid)
                        .is_some_and(|p| self.pid.contains(&p))
            })
            .filter(|w| {
                self.kind.is_empty()
                    || w.object
                        .as_ref()
                        .is_some_and(|o| self.kind.iter().any(|k| k == &o.kind))
            })
            .collect();
        // Debuginfo only for the rows shown: parsing DWARF is the slow part.
        name_members(&ctx.sys, &mut rows, &types);
        if let Some(n) = types.missing_note(&rows) {
            note(&n);
        }
        if self.json {
            return crate::render::write_json(out, &rows);
        }
        if rows.is_empty() {
            writeln!(out, "no thread is blocked on a lock in shared memory")?;
            return Ok(());
        }
        crate::render::locks::write_table(out, &rows, ctx.color)?;
        Ok(())
    }
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Found {
    pub rows: Vec<LockWait>,
    /// Processes whose threads could not be read.
    pub hidden: usize,
}

/// The waiters on locks in `seg` (for `show`): only its attachers' threads are read.
pub fn waiters_on(sys: &Sys, inv: &Inventory, seg: &Segment) -> Vec<LockWait> {
    let pids = seg.attacher_pids();
    if pids.is_empty() {
        return Vec::new();
    }
    let object = object_of(seg);
    let mut rows: Vec<LockWait> = gather(sys, inv, Some(&pids))
        .rows
        .into_iter()
        .filter(|w| w.object.as_ref() == Some(&object))
        .collect();
    if let Ok(types) = Types::new(None, None) {
        name_members(sys, &mut rows, &types);
    }
    rows
}

/// Where member names come from: `--type` and `--debug-file`, and each waiter's program's DWARF
/// (read once per executable).
pub struct Types {
    want: Option<TypeName>,
    given: Option<Dwarf>,
    /// Per executable path: its DWARF, if it has any.
    programs: std::cell::RefCell<HashMap<String, Option<std::rc::Rc<Dwarf>>>>,
}

impl Types {
    pub fn new(
        want: Option<TypeName>,
        debug_file: Option<&std::path::Path>,
    ) -> anyhow::Result<Types> {
        let given = match debug_file {
            Some(p) => Some(debuginfo::from_debug_file(p, None)?.0.dwarf),
            None => None,
        };
        Ok(Types {
            want,
            given,
            programs: Default::default(),
        })
    }

    /// The DWARF of process `pid`'s executable (or the --debug-file's).
    fn of(&self, sys: &Sys, pid: i32) -> Option<std::rc::Rc<Dwarf>> {
        if self.given.is_some() {
            return None;
        }
        let exe = std::fs::read_link(sys.pid_path(pid, "exe")).ok()?;
        let key = exe.to_string_lossy().into_owned();
        if let Some(d) = self.programs.borrow().get(&key) {
            return d.clone();
        }
        // The executable only (a program's shared structs are its own, not its libraries'),
        // opened through /proc/PID/exe: the very file it runs, even if replaced on disk since.
        let dwarf = debuginfo::open_file(&sys.pid_path(pid, "exe"))
            .ok()
            .map(|mut f| {
                f.label = key.clone();
                // Where a .gnu_debuglink is looked for: beside the executable, in its root.
                // A string under /proc/PID/root (a lookup hint, not a read): what it leads to
                // is opened only if it is a regular ELF file (debuginfo::read_elf).
                f.dir = exe.parent().map(|d| {
                    sys.pid_path(pid, "root")
                        .join(d.strip_prefix("/").unwrap_or(d))
                });
                f
            })
            .and_then(|exe| debuginfo::locate(&exe).ok())
            .map(|found| std::rc::Rc::new(found.dwarf));
        self.programs.borrow_mut().insert(key, dwarf.clone());
        dwarf
    }

    /// With --type: a note when no waiter's debuginfo had the type.
    fn missing_note(&self, rows: &[LockWait]) -> Option<String> {
        let want = self.want.as_ref()?;
        let futex_rows = rows.iter().filter(|r| r.offset.is_some()).count();
        (futex_rows > 0 && rows.iter().all(|r| r.member.is_none())).then(|| {
            format!(
                "no waiter's debug information names a member of {:?} at its lock's offset \
                 (build with -g, or give --debug-file)",
                want.name
            )
        })
    }
}

/// Name the member holding each row's lock, from debuginfo: the `--type` laid at the object's
/// start, or the one struct of the waiter's program that puts a lock type there.
pub fn name_members(sys: &Sys, rows: &mut [LockWait], types: &Types) {
    for r in rows.iter_mut().filter(|r| r.call == "futex") {
        let Some(offset) = r.offset else {
            continue;
        };
        let own;
        let dwarf: &Dwarf = match &types.given {
            Some(d) => d,
            None => match types.of(sys, r.pid) {
                Some(d) => {
                    own = d;
                    &own
                }
                None => continue,
            },
        };
        match &types.want {
            Some(want) => r.member = lockmember::named(dwarf, want, offset),
            None => {
                let guesses = lockmember::guesses(dwarf, offset);
                match guesses.as_slice() {
                    [one] => r.member = Some(one.clone()),
                    [] => {}
                    many => add_note(
                        r,
                        &format!(
                            "debuginfo: it could be {} (say which with --type)",
                            many.iter()
                                .take(3)
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    ),
                }
            }
        }
    }
}

/// Find and judge every wait of these processes (all when None).
pub fn gather(sys: &Sys, inv: &Inventory, pids: Option<&[i32]>) -> Found {
    let (waits, hidden) = sys.thread_waits(pids);
    judge_waits(sys, inv, &waits, hidden)
}

/// Place, read and judge these waits.
fn judge_waits(sys: &Sys, inv: &Inventory, waits: &[ThreadWait], hidden: usize) -> Found {
    let mut sem_sets: Option<Vec<SemSet>> = None;
    let own_ipc = sys.ns_inode(None, "ipc");
    let mut rows = Vec::new();
    for w in waits {
        let row = match w.blocked {
            Blocked::Futex { addr, op, val } => futex_row(sys, inv, w, addr, op, val),
            Blocked::Semop {
                timed,
                semid,
                sops,
                nsops,
            } => {
                let sets = sem_sets.get_or_insert_with(|| sys.sem_sets());
                let same_ns = sys.ns_inode(Some(w.pid), "ipc") == own_ipc;
                Some(semop_row(sys, w, timed, semid, sops, nsops, sets, same_ns))
            }
        };
        rows.extend(row);
    }
    judge(&mut rows);
    Found { rows, hidden }
}

/// How `ls` names an object, for a lock row.
pub fn object_of(seg: &Segment) -> LockObject {
    LockObject {
        kind: seg.kind.to_string(),
        id: seg.id,
        key: seg.known_key(),
        path: seg.path.clone(),
    }
}

/// The object and offset that `addr` in process `pid` falls in, if it is shared memory, and
/// where that mapping starts.
fn place(inv: &Inventory, pid: i32, addr: u64) -> Option<(&Segment, u64, u64)> {
    inv.segments.iter().find_map(|seg| {
        seg.attachers.iter().find_map(|a| {
            (a.pid == pid && a.start <= addr && addr < a.end)
                .then(|| (seg, a.offset + (addr - a.start), a.start))
        })
    })
}

/// A POSIX named semaphore: `sem.NAME` directly in /dev/shm (kind `psem`, or `posix` where
/// that kind is not told apart).
fn is_named_semaphore(seg: &Segment) -> bool {
    seg.kind.as_str() == "psem"
        || seg.path.as_deref().is_some_and(|p| {
            std::path::Path::new(p)
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("sem."))
        })
}

fn blank_row(sys: &Sys, w: &ThreadWait, call: &str) -> LockWait {
    LockWait {
        pid: w.pid,
        tid: w.tid,
        comm: sys.comm(w.pid),
        call: call.into(),
        op: None,
        address: None,
        object: None,
        offset: None,
        lock: "futex".into(),
        word: None,
        expected: None,
        mutex_type: None,
        robust: None,
        pshared: None,
        pi: None,
        owner_died: None,
        owner: None,
        sem_num: None,
        sem_op: None,
        sem_value: None,
        sem_last_pid: None,
        member: None,
        verdict: String::new(),
        cycle: None,
        note: None,
    }
}

fn futex_row(
    sys: &Sys,
    inv: &Inventory,
    w: &ThreadWait,
    addr: u64,
    op: u32,
    val: u32,
) -> Option<LockWait> {
    let (seg, offset, map_start) = place(inv, w.pid, addr)?;
    let mut row = blank_row(sys, w, "futex");
    // The thread's name, not the process's: the one gdb would show.
    row.comm = thread_comm(sys, w);
    row.op = Some(lockword::op_name(op));
    row.address = Some(addr);
    row.object = Some(object_of(seg));
    row.offset = Some(offset);
    row.expected = Some(format!("0x{val:08x}"));
    let mut bytes = [0u8; lockword::WINDOW];
    let n = Reader::Process { pid: w.pid, addr }
        .read_at(0, &mut bytes)
        .unwrap_or(0);
    // The bytes before the word, within the same mapping: a condvar's word is 40 bytes in.
    let mut before = [0u8; 48];
    let back = (addr - map_start).min(before.len() as u64) as usize;
    let got = Reader::Process {
        pid: w.pid,
        addr: addr - back as u64,
    }
    .read_at(0, &mut before[..back])
    .unwrap_or(0);
    let before = if got == back {
        &before[..back]
    } else {
        &[][..]
    };
    if n < 4 {
        row.note = Some("the lock word could not be read (the waiter's memory is gone)".into());
        row.verdict = "unknown".into();
        return Some(row);
    }
    row.word = Some(format!(
        "0x{:08x}",
        u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    ));
    let named = is_named_semaphore(seg) && offset == 0;
    match lockword::judge(before, &bytes[..n], op, val, named) {
        Word::Mutex(m) => {
            row.lock = "mutex".into();
            row.mutex_type = Some(m.type_name().into());
            row.robust = Some(m.robust());
            row.pshared = Some(m.pshared());
            row.pi = Some(m.pi());
            if m.robust() || m.pi() {
                row.owner_died = Some(m.owner_died_marked());
            }
            row.owner = m.owner.map(|tid| owner_of(sys, seg, tid));
            if row
                .owner
                .as_ref()
                .and_then(|o| o.state.as_deref())
                .is_some_and(|s| s.starts_with('T') || s.starts_with('t'))
            {
                add_note(
                    &mut row,
                    "the owner is stopped (SIGSTOP or a debugger): nothing moves until it continues",
                );
            }
            if !m.pshared() {
                add_note(
                    &mut row,
                    "not process-shared: an unlock in another process never wakes this waiter",
                );
            }
            if sys.in_nested_pid_ns(w.pid) == Some(true) {
                row.note = Some(
                    "the waiter is in another pid namespace: the owner tid is not ours to look up"
                        .into(),
                );
                row.owner = None;
                row.verdict = "unknown".into();
            }
        }
        Word::Semaphore { .. } => row.lock = "semaphore".into(),
        Word::Condvar { pshared, .. } => {
            row.lock = "condvar".into();
            row.pshared = Some(pshared);
        }
        Word::Futex { .. } => row.lock = "futex".into(),
    }
    Some(row)
}

fn add_note(row: &mut LockWait, text: &str) {
    row.note = Some(match row.note.take() {
        Some(n) => format!("{n}; {text}"),
        None => text.to_string(),
    });
}

fn thread_comm(sys: &Sys, w: &ThreadWait) -> String {
    if w.tid == w.pid {
        return sys.comm(w.pid);
    }
    std::fs::read_to_string(sys.pid_path(w.pid, &format!("task/{}/comm", w.tid)))
        .map(|s| s.trim_end_matches('\n').to_string())
        .unwrap_or_else(|_| sys.comm(w.pid))
}

fn owner_of(sys: &Sys, seg: &Segment, tid: i32) -> LockOwner {
    match sys.thread_info(tid).filter(|t| !t.exited) {
        Some(t) => LockOwner {
            tid,
            pid: Some(t.tgid),
            comm: Some(sys.comm(t.tgid)),
            alive: true,
            maps_object: Some(seg.attachers.iter().any(|a| a.pid == t.tgid)),
            state: Some(t.state.clone()),
        },
        None => LockOwner {
            tid,
            pid: None,
            comm: None,
            alive: false,
            maps_object: None,
            state: None,
        },
    }
}

/// `struct sembuf`: sem_num (u16), sem_op (i16), sem_flg (i16).
const SEMBUF: usize = 6;

#[allow(clippy::too_many_arguments)]
fn semop_row(
    sys: &Sys,
    w: &ThreadWait,
    timed: bool,
    semid: i32,
    sops: u64,
    nsops: u64,
    sets: &[SemSet],
    same_ns: bool,
) -> LockWait {
    let mut row = blank_row(sys, w, if timed { "semtimedop" } else { "semop" });
    row.comm = thread_comm(sys, w);
    row.lock = "sysv-sem".into();
    row.verdict = NO_OWNER.into();
    row.object = Some(LockObject {
        kind: "sem".into(),
        id: Some(semid as i64),
        key: sets
            .iter()
            .find(|s| s.semid == semid && same_ns)
            .map(|s| s.key),
        path: None,
    });
    if !same_ns {
        row.note = Some("the waiter is in another IPC namespace: the set was not read".into());
        return row;
    }
    // The operations the waiter asked for; the first that cannot go ahead is the one it waits
    // on (semop applies all or none).
    let n = nsops.min(16) as usize;
    let mut buf = vec![0u8; n * SEMBUF];
    let got = Reader::Process {
        pid: w.pid,
        addr: sops,
    }
    .read_at(0, &mut buf)
    .unwrap_or(0);
    let ops: Vec<(u16, i16)> = buf[..got - got % SEMBUF]
        .chunks(SEMBUF)
        .map(|c| {
            (
                u16::from_le_bytes([c[0], c[1]]),
                i16::from_le_bytes([c[2], c[3]]),
            )
        })
        .collect();
    let blocking = ops
        .iter()
        .map(|&(num, op)| (num, op, waits::sem_state(semid, num)))
        .find(|(_, op, st)| match st {
            Some(st) => (*op < 0 && st.value < -(*op as i32)) || (*op == 0 && st.value != 0),
            None => false,
        })
        .or_else(|| {
            ops.first()
                .map(|&(num, op)| (num, op, waits::sem_state(semid, num)))
        });
    if let Some((num, op, st)) = blocking {
        row.sem_num = Some(num);
        row.sem_op = Some(op);
        if let Some(st) = st {
            row.sem_value = Some(st.value);
            row.sem_last_pid = (st.last_pid > 0).then_some(st.last_pid);
            let last = match row.sem_last_pid {
                Some(p) if sys.alive(p) => format!("last changed by {p} ({})", sys.comm(p)),
                Some(p) => format!("last changed by {p}, now gone"),
                None => "never changed".into(),
            };
            row.note = Some(format!(
                "semaphore {num} is {}, the waiter wants {op:+}; {last}",
                st.value
            ));
        }
    }
    row
}

/// Set each row's verdict, following waiters to owners to what those owners wait on.
pub fn judge(rows: &mut [LockWait]) {
    let by_tid: HashMap<i32, usize> = rows.iter().enumerate().map(|(i, r)| (r.tid, i)).collect();
    // The thread a row waits for, when it is known and alive.
    let next = |r: &LockWait| -> Option<usize> {
        let o = r.owner.as_ref().filter(|o| o.alive)?;
        by_tid.get(&o.tid).copied()
    };
    // Failing that, some other blocked thread of the owner's process (which the owner thread
    // may be waiting for: a join, a condition variable).
    let next_in_process = |r: &LockWait| -> Option<usize> {
        next(r).or_else(|| {
            let o = r.owner.as_ref().filter(|o| o.alive)?;
            // Not the waiter's own process: a thread waiting on a sibling that runs is no cycle.
            rows.iter()
                .position(|w| Some(w.pid) == o.pid && w.pid != r.pid)
        })
    };
    let verdicts: Vec<(String, Option<Vec<i32>>, Option<String>)> = (0..rows.len())
        .map(|i| {
            let r = &rows[i];
            if !r.verdict.is_empty() {
                return (r.verdict.clone(), None, None);
            }
            // Walk the chain: a cycle back to this row, or where the chain ends.
            let mut path = vec![i];
            let mut cur = i;
            let mut cycle = None;
            let mut into_cycle = false;
            while let Some(j) = next(&rows[cur]) {
                if j == i {
                    cycle = Some(path.clone());
                    break;
                }
                if path.contains(&j) {
                    into_cycle = true;
                    break;
                }
                path.push(j);
                cur = j;
            }
            if let Some(c) = cycle {
                let mut names: Vec<String> = c.iter().map(|&k| who(&rows[k])).collect();
                names.push(who(r));
                let tids = c.iter().map(|&k| rows[k].tid).collect();
                return (
                    format!("cycle: {}", names.join(" waits on ")),
                    Some(tids),
                    None,
                );
            }
            let end = &rows[*path.last().unwrap_or(&i)];
            let behind = (path.len() > 1).then(|| {
                let chain: Vec<String> = path.iter().map(|&k| who(&rows[k])).collect();
                let end_verdict = if into_cycle {
                    "a deadlock cycle".to_string()
                } else {
                    own_verdict(end)
                };
                format!(
                    "{} waits on {}: {end_verdict}",
                    chain.join(" waits on "),
                    owner_text(end),
                )
            });
            let behind = behind.or_else(|| possible_cycle(rows, i, &next_in_process));
            (own_verdict(r), None, behind)
        })
        .collect();
    for (r, (verdict, cycle, behind)) in rows.iter_mut().zip(verdicts) {
        r.verdict = verdict;
        r.cycle = cycle;
        if let Some(b) = behind {
            add_note(r, &b);
        }
    }
}

/// A cycle back to row `i` when an owner's process counts for its thread: not proof (the owner
/// thread itself is not blocked on a lock we see), so a note, not the verdict.
fn possible_cycle(
    rows: &[LockWait],
    i: usize,
    next: &dyn Fn(&LockWait) -> Option<usize>,
) -> Option<String> {
    let mut path = vec![i];
    let mut cur = i;
    while let Some(j) = next(&rows[cur]) {
        if j == i {
            let mut names: Vec<String> = path.iter().map(|&k| rows[k].pid.to_string()).collect();
            names.push(rows[i].pid.to_string());
            return Some(format!(
                "possibly a cycle through other threads: {} (an owner thread is not itself \
                 blocked on a lock here, but another thread of its process is)",
                names.join(" waits on ")
            ));
        }
        if path.contains(&j) {
            return None;
        }
        path.push(j);
        cur = j;
    }
    None
}

/// A waiter as the cycle text names it: its pid, and its tid when that differs.
fn who(r: &LockWait) -> String {
    if r.tid == r.pid {
        r.pid.to_string()
    } else {
        format!("{}/{}", r.pid, r.tid)
    }
}

fn owner_text(r: &LockWait) -> String {
    match &r.owner {
        Some(o) => match o.pid {
            Some(p) if p != o.tid => format!("{p}/{}", o.tid),
            _ => o.tid.to_string(),
        },
        None => "a lock".into(),
    }
}

/// The verdict on one row by itself.
fn own_verdict(r: &LockWait) -> String {
    if !r.verdict.is_empty() {
        return r.verdict.clone();
    }
    match r.lock.as_str() {
        "mutex" => {}
        "semaphore" | "sysv-sem" => return NO_OWNER.into(),
        "condvar" => return NO_OWNER_CONDVAR.into(),
        _ => return "unknown (not a glibc mutex: no owner to check)".into(),
    }
    let robust = r.robust == Some(true);
    if r.owner_died == Some(true) {
        return OWNER_DEAD_ROBUST.into();
    }
    match &r.owner {
        None => "no owner recorded (the lock is being handed over)".into(),
        Some(o) if !o.alive && robust => OWNER_DEAD_ROBUST_UNMARKED.into(),
        Some(o) if !o.alive => OWNER_DEAD_NOT_ROBUST.into(),
        Some(o) if o.maps_object == Some(false) => format!(
            "owner unclear (tid {} is alive but its process does not map the object)",
            o.tid
        ),
        Some(_) => OWNER_ALIVE.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pid: i32, owner: Option<(i32, bool)>, robust: bool) -> LockWait {
        let sys = Sys::new(
            std::path::Path::new("/nonexistent"),
            std::path::Path::new("/"),
        );
        let w = ThreadWait {
            pid,
            tid: pid,
            blocked: Blocked::Futex {
                addr: 0,
                op: 0,
                val: 2,
            },
        };
        let mut r = blank_row(&sys, &w, "futex");
        r.lock = "mutex".into();
        r.robust = Some(robust);
        r.owner = owner.map(|(tid, alive)| LockOwner {
            tid,
            pid: alive.then_some(tid),
            comm: None,
            alive,
            maps_object: alive.then_some(true),
            state: None,
        });
        r
    }

    #[test]
    fn dead_owners() {
        let mut rows = vec![
            row(10, Some((11, false)), false),
            row(12, Some((13, false)), true),
        ];
        judge(&mut rows);
        assert_eq!(rows[0].verdict, OWNER_DEAD_NOT_ROBUST);
        assert_eq!(rows[1].verdict, OWNER_DEAD_ROBUST_UNMARKED);
        let mut marked = vec![row(14, None, true)];
        marked[0].owner_died = Some(true);
        judge(&mut marked);
        assert_eq!(marked[0].verdict, OWNER_DEAD_ROBUST);
    }

    #[test]
    fn a_two_process_cycle() {
        let mut rows = vec![
            row(10, Some((20, true)), false),
            row(20, Some((10, true)), false),
            row(30, Some((10, true)), false),
        ];
        judge(&mut rows);
        assert_eq!(rows[0].verdict, "cycle: 10 waits on 20 waits on 10");
        assert_eq!(rows[0].cycle, Some(vec![10, 20]));
        assert_eq!(rows[1].verdict, "cycle: 20 waits on 10 waits on 20");
        // Behind the cycle but not in it.
        assert_eq!(rows[2].verdict, OWNER_ALIVE);
        assert!(rows[2].note.as_deref().unwrap().contains("30 waits on 10"));
    }

    #[test]
    fn a_cycle_through_another_thread_is_only_a_note() {
        // 10 waits on thread 21 of process 20, which is not blocked here; thread 22 of process
        // 20 waits on 10.
        let mut rows = vec![
            row(10, Some((21, true)), false),
            row(20, Some((10, true)), false),
        ];
        rows[0].owner.as_mut().unwrap().pid = Some(20);
        rows[1].tid = 22;
        judge(&mut rows);
        assert_eq!(rows[0].verdict, OWNER_ALIVE);
        assert!(rows[0]
            .note
            .as_deref()
            .unwrap()
            .starts_with("possibly a cycle through other threads: 10 waits on 20 waits on 10"));
    }

    #[test]
    fn a_thread_waiting_on_a_running_sibling_is_no_cycle() {
        let mut rows = vec![row(10, Some((11, true)), false)];
        rows[0].owner.as_mut().unwrap().pid = Some(10);
        judge(&mut rows);
        assert_eq!(rows[0].verdict, OWNER_ALIVE);
        assert_eq!(rows[0].note, None);
    }

    #[test]
    fn a_chain_to_a_dead_owner_is_told() {
        let mut rows = vec![
            row(10, Some((20, true)), false),
            row(20, Some((99, false)), false),
        ];
        judge(&mut rows);
        assert_eq!(rows[0].verdict, OWNER_ALIVE);
        assert_eq!(
            rows[0].note.as_deref(),
            Some("10 waits on 20 waits on 99: owner dead (not robust: waits forever)")
        );
    }

    #[test]
    fn non_mutexes() {
        let mut rows = vec![row(10, None, false), row(11, None, false)];
        rows[0].lock = "semaphore".into();
        rows[1].lock = "futex".into();
        judge(&mut rows);
        assert_eq!(rows[0].verdict, NO_OWNER);
        assert!(rows[1].verdict.starts_with("unknown"));
    }
}
