//! From system calls to lifecycle events: which object each call touched, whether a `shmget` or
//! `shm_open` created or found it, which segment a `shmdt` address was, what a process still held
//! when it exited. Pure bookkeeping over [`RawEvent`]s, testable without a kernel.

use crate::model::{hex_addr, key_string, TraceEvent};
use crate::source::trace::{Call, RawEvent};
use std::collections::{HashMap, HashSet};

/// An object as events name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Obj {
    pub kind: &'static str,
    pub id: Option<i64>,
    pub key: Option<u32>,
    pub path: Option<String>,
}

/// What is known so far about the machine's objects and who holds them.
#[derive(Debug, Default)]
pub struct Interp {
    /// Keys of the segments that exist (or are removed but still attached), by shmid. A
    /// removed segment's id is forgotten once nothing traced is attached to it: the kernel
    /// hands the same id out again after enough creations, and that one is a new segment.
    shm_keys: HashMap<i64, u32>,
    /// Segments removed while still attached: their keys are kept until the last detach.
    removed: HashSet<i64>,
    posix: HashSet<String>,
    attached: HashMap<(i32, u64), i64>,
    fds: HashMap<(i32, i32), Obj>,
    /// What each process has mapped or attached, by address: an exit names what is left.
    holdings: HashMap<i32, HashMap<u64, Held>>,
    /// Counts mappings, so that an exit names what is left in the order it was mapped.
    mapped: u64,
    /// Where POSIX objects live, as processes name it.
    pub shm_dir: String,
    /// Bytes in a page: the kernel unmaps whole pages.
    page: u64,
}

/// One mapping or attachment a process holds.
#[derive(Debug, Clone)]
struct Held {
    obj: Obj,
    /// Bytes mapped (0 for System V attachments, which end by address alone).
    size: u64,
    seq: u64,
}

const IPC_CREAT: u64 = 0o1000;
const IPC_EXCL: u64 = 0o2000;
const SHM_RDONLY: u64 = 0o10000;
const O_ACCMODE: u64 = 3;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_TRUNC: u64 = 0o1000;
const AT_REMOVEDIR: u64 = 0x200;
const PROT_WRITE: u64 = 2;

impl Interp {
    pub fn new(shm_dir: &str) -> Interp {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Interp {
            shm_dir: shm_dir.trim_end_matches('/').to_string(),
            page: if page > 0 { page as u64 } else { 4096 },
            ..Interp::default()
        }
    }

    /// A segment that exists now (before tracing started).
    pub fn know_segment(&mut self, shmid: i64, key: u32) {
        self.shm_keys.insert(shmid, key);
    }

    /// A /dev/shm file that exists now.
    pub fn know_path(&mut self, path: &str) {
        self.posix.insert(path.to_string());
    }

    /// `pid` holds `obj` mapped at `addr` (`size` bytes) now (also an attacher found when
    /// tracing started).
    pub fn know_holder(&mut self, pid: i32, addr: u64, size: u64, obj: Obj) {
        self.mapped += 1;
        let held = Held {
            obj,
            size,
            seq: self.mapped,
        };
        self.holdings.entry(pid).or_default().insert(addr, held);
    }

    /// `pid` no longer holds what it had at `addr`.
    fn drop_holding(&mut self, pid: i32, addr: u64) -> Option<Held> {
        let held = self.holdings.get_mut(&pid)?;
        let gone = held.remove(&addr);
        if held.is_empty() {
            self.holdings.remove(&pid);
        }
        gone
    }

    /// What the kernel's programs remember of `pid`: the fds its recorded opens returned and
    /// the addresses of its mappings ([`crate::source::trace::Tracer::forget_process`]).
    pub fn kernel_keys(&self, pid: i32) -> (Vec<i32>, Vec<u64>) {
        let fds = self.fds_of(pid, |_| true);
        let addrs = self
            .holdings
            .get(&pid)
            .map(|h| {
                h.iter()
                    .filter(|(_, h)| h.size > 0)
                    .map(|(&a, _)| a)
                    .collect()
            })
            .unwrap_or_default();
        (fds, addrs)
    }

    /// The remembered fds of `e`'s process that its `close_range` closed, for
    /// [`crate::source::trace::Tracer::forget_process`] (read before `feed` forgets them here).
    pub fn fds_closed_by(&self, e: &RawEvent) -> Vec<i32> {
        self.fds_of(e.pid, closes(&e.args))
    }

    /// The remembered fds of `pid` that `keep` accepts.
    fn fds_of(&self, pid: i32, keep: impl Fn(i32) -> bool) -> Vec<i32> {
        self.fds
            .keys()
            .filter(|&&(p, fd)| p == pid && keep(fd))
            .map(|&(_, fd)| fd)
            .collect()
    }

    /// `pid` exited or ran a new program: forget its fds and attachments (a removed segment
    /// it was the last to hold is gone), and return what it still held.
    fn end_program(&mut self, pid: i32) -> Vec<Obj> {
        // Only segments this process was attached to can have lost their last user.
        let detached: Vec<i64> = self
            .attached
            .iter()
            .filter(|((p, _), _)| *p == pid)
            .map(|(_, &shmid)| shmid)
            .collect();
        self.attached.retain(|(p, _), _| *p != pid);
        for shmid in detached {
            self.forget_if_gone(shmid);
        }
        self.fds.retain(|(p, _), _| *p != pid);
        self.held_at_exit(pid)
    }

    /// The objects `pid` still holds, each once, in the order it first mapped them.
    fn held_at_exit(&mut self, pid: i32) -> Vec<Obj> {
        let mut held: Vec<Held> = self
            .holdings
            .remove(&pid)
            .unwrap_or_default()
            .into_values()
            .collect();
        held.sort_by_key(|h| h.seq);
        let mut out: Vec<Obj> = Vec::new();
        let mut seen = HashSet::new();
        for h in held {
            if seen.insert(h.obj.clone()) {
                out.push(h.obj);
            }
        }
        out
    }

    fn pages(&self, bytes: u64) -> u64 {
        bytes.div_ceil(self.page)
    }

    pub fn sysv(&self, shmid: i64) -> Obj {
        Obj {
            kind: "sysv",
            id: Some(shmid),
            key: self.shm_keys.get(&shmid).copied(),
            path: None,
        }
    }

    /// The object a path under /dev/shm names: `psem` for `sem.*`, `file` in a subdirectory.
    pub fn path_obj(&self, path: &str) -> Obj {
        let name = path
            .strip_prefix(&self.shm_dir)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(path);
        let kind = if name.contains('/') {
            "file"
        } else if name.starts_with("sem.") {
            "psem"
        } else {
            "posix"
        };
        Obj {
            kind,
            id: None,
            key: None,
            path: Some(path.to_string()),
        }
    }

    /// The events one call makes (none for calls that touched nothing we follow).
    pub fn feed(&mut self, e: &RawEvent) -> Vec<(String, Obj, Extra)> {
        let a = &e.args;
        let text = || crate::source::bytes_to_string(e.text.as_deref().unwrap_or_default());
        let mut out = Vec::new();
        match e.call {
            Call::Shmget => {
                let (key, shmid) = (a[0] as u32, e.ret);
                let found = self.shm_keys.contains_key(&shmid);
                self.shm_keys.insert(shmid, key);
                let event = if found { "open" } else { "create" };
                let extra = Extra {
                    size: Some(a[1]),
                    detail: Some(ipc_flags(a[2])),
                    ..Extra::default()
                };
                out.push((event.into(), self.sysv(shmid), extra));
            }
            Call::Shmat => {
                let shmid = a[0] as i32 as i64;
                self.attached.insert((e.pid, e.ret as u64), shmid);
                let obj = self.sysv(shmid);
                self.know_holder(e.pid, e.ret as u64, 0, obj.clone());
                let ro = a[2] & SHM_RDONLY != 0;
                let extra = Extra {
                    addr: Some(e.ret as u64),
                    detail: Some(if ro { "read-only" } else { "read-write" }.into()),
                    ..Extra::default()
                };
                out.push(("attach".into(), obj, extra));
            }
            Call::Shmdt => {
                let addr = a[0];
                let obj = match self.attached.remove(&(e.pid, addr)) {
                    Some(shmid) => {
                        let obj = self.sysv(shmid);
                        self.drop_holding(e.pid, addr);
                        self.forget_if_gone(shmid);
                        obj
                    }
                    // Attached before tracing started: named as the holders found then name
                    // it, or by the address alone.
                    None => self
                        .drop_holding(e.pid, addr)
                        .map(|h| h.obj)
                        .filter(|o| o.kind == "sysv")
                        .unwrap_or(Obj {
                            kind: "sysv",
                            id: None,
                            key: None,
                            path: None,
                        }),
                };
                let extra = Extra {
                    addr: Some(addr),
                    ..Extra::default()
                };
                out.push(("detach".into(), obj, extra));
            }
            Call::Shmctl => {
                let shmid = a[0] as i32 as i64;
                let obj = self.sysv(shmid);
                let removing = a[1] & 0xff == 0;
                if removing {
                    self.removed.insert(shmid);
                    self.forget_if_gone(shmid);
                }
                let event = if removing { "remove" } else { "set" };
                out.push((event.into(), obj, Extra::default()));
            }
            Call::Openat | Call::Open => {
                let flags = if e.call == Call::Openat { a[2] } else { a[1] };
                let path = text();
                let obj = self.path_obj(&path);
                let created = flags & O_CREAT != 0 && !self.posix.contains(&path);
                self.posix.insert(path);
                self.fds.insert((e.pid, e.ret as i32), obj.clone());
                let event = if created { "create" } else { "open" };
                let extra = Extra {
                    detail: Some(open_flags(flags)),
                    ..Extra::default()
                };
                out.push((event.into(), obj, extra));
            }
            Call::Unlink | Call::Unlinkat => {
                if e.call == Call::Unlinkat && a[2] & AT_REMOVEDIR != 0 {
                    return out;
                }
                let path = text();
                self.posix.remove(&path);
                out.push(("unlink".into(), self.path_obj(&path), Extra::default()));
            }
            Call::MemfdCreate => {
                let obj = Obj {
                    kind: "memfd",
                    id: None,
                    key: None,
                    path: Some(format!("memfd:{}", text())),
                };
                self.fds.insert((e.pid, e.ret as i32), obj.clone());
                out.push(("memfd".into(), obj, Extra::default()));
            }
            Call::Mmap => {
                let fd = a[4] as i32;
                let obj = self.fd_obj(e.pid, fd);
                self.know_holder(e.pid, e.ret as u64, a[1], obj.clone());
                let extra = Extra {
                    size: Some(a[1]),
                    addr: Some(e.ret as u64),
                    detail: Some(
                        if a[2] & PROT_WRITE != 0 {
                            "read-write"
                        } else {
                            "read-only"
                        }
                        .into(),
                    ),
                };
                out.push(("mmap".into(), obj, extra));
            }
            Call::Ftruncate => {
                let obj = self.fd_obj(e.pid, a[0] as i32);
                let extra = Extra {
                    size: Some(a[1]),
                    ..Extra::default()
                };
                out.push(("resize".into(), obj, extra));
            }
            Call::Exit => {
                for obj in self.end_program(e.pid) {
                    out.push(("exit".into(), obj, Extra::default()));
                }
            }
            // The old program's mappings and attachments are gone with it (execve(2)), and so
            // are the fds it closed on exec (shm_open's always): nothing to show, but an exit
            // must not name them. An fd kept open across exec is forgotten too: its later
            // mmap is not attributed, as for an fd inherited across fork.
            Call::Exec => {
                self.end_program(e.pid);
            }
            // The fds it closed leave with it; the caller has the kernel forget them too
            // (`fds_closed_by`).
            Call::CloseRange => {
                let pid = e.pid;
                let closed = closes(a);
                self.fds.retain(|&(p, fd), _| p != pid || !closed(fd));
            }
            Call::Munmap => {
                // The kernel records only a munmap that starts where a recorded mmap's
                // mapping does, once.
                let (addr, len) = (a[0], a[1]);
                let held = self
                    .holdings
                    .get(&e.pid)
                    .and_then(|h| h.get(&addr))
                    .cloned();
                // A shorter one leaves the rest mapped: still held at exit.
                let whole = held
                    .as_ref()
                    .is_none_or(|h| self.pages(len) >= self.pages(h.size));
                if whole {
                    self.drop_holding(e.pid, addr);
                }
                // Mapped before tracing started and not seen then: the address is all there is.
                let obj = held.map_or_else(unknown_file, |h| h.obj);
                let extra = Extra {
                    size: Some(len),
                    addr: Some(addr),
                    detail: (!whole).then(|| "partial".to_string()),
                };
                out.push(("munmap".into(), obj, extra));
            }
        }
        out
    }

    /// A removed segment nothing traced is attached to any more is gone: forget its key.
    fn forget_if_gone(&mut self, shmid: i64) {
        if self.removed.contains(&shmid) && !self.attached.values().any(|&s| s == shmid) {
            self.removed.remove(&shmid);
            self.shm_keys.remove(&shmid);
        }
    }

    fn fd_obj(&self, pid: i32, fd: i32) -> Obj {
        self.fds
            .get(&(pid, fd))
            .cloned()
            .unwrap_or_else(unknown_file)
    }
}

/// Whether an fd is in a `close_range(first, last, flags)` range (its arguments are `unsigned
/// int`s: the register's upper half is not the caller's).
fn closes(args: &[u64; 6]) -> impl Fn(i32) -> bool {
    let (first, last) = (args[0] as u32, args[1] as u32);
    move |fd: i32| (first..=last).contains(&(fd as u32))
}

/// A mapped object trace cannot name.
fn unknown_file() -> Obj {
    Obj {
        kind: "file",
        id: None,
        key: None,
        path: None,
    }
}

/// The parts of an event besides who and what.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    pub size: Option<u64>,
    pub addr: Option<u64>,
    pub detail: Option<String>,
}

/// Build the event a user sees.
pub fn event(
    e: &RawEvent,
    name: String,
    obj: Obj,
    extra: Extra,
    user: String,
    time: String,
) -> TraceEvent {
    TraceEvent {
        time,
        mono_ns: e.mono_ns,
        event: name,
        pid: e.pid,
        tid: e.tid,
        comm: crate::source::bytes_to_string(&e.comm),
        uid: e.uid,
        user,
        container: None,
        kind: obj.kind.to_string(),
        id: obj.id,
        key: obj.key.map(key_string),
        path: obj.path,
        size: extra.size,
        addr: extra.addr.map(hex_addr),
        detail: extra.detail,
    }
}

/// RFC 3339 times for a stream of events, as `units::rfc3339` writes them: the date and time
/// of day are formatted once a second, only the nanoseconds for each event (formatting the
/// whole time was an eighth of the tracer's CPU at 80,000 events/s).
#[derive(Debug, Default)]
pub struct Stamps {
    sec: Option<i128>,
    /// `2026-11-23T09:41:56.`
    prefix: String,
}

impl Stamps {
    pub fn rfc3339(&mut self, ns: i128) -> String {
        let sec = ns.div_euclid(1_000_000_000);
        if self.sec != Some(sec) {
            let full = crate::units::rfc3339(ns);
            self.prefix = full[..full.len() - 10].to_string();
            self.sec = Some(sec);
        }
        let mut digits = [b'0'; 9];
        let mut n = ns.rem_euclid(1_000_000_000) as u32;
        for d in digits.iter_mut().rev() {
            *d += (n % 10) as u8;
            n /= 10;
        }
        let mut s = String::with_capacity(self.prefix.len() + 10);
        s.push_str(&self.prefix);
        s.extend(digits.iter().map(|&d| d as char));
        s.push('Z');
        s
    }
}

fn ipc_flags(f: u64) -> String {
    let mut parts = Vec::new();
    if f & IPC_CREAT != 0 {
        parts.push("IPC_CREAT".to_string());
    }
    if f & IPC_EXCL != 0 {
        parts.push("IPC_EXCL".to_string());
    }
    parts.push(format!("{:04o}", f & 0o777));
    parts.join("|")
}

fn open_flags(f: u64) -> String {
    let mut parts = vec![match f & O_ACCMODE {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        _ => "O_RDWR",
    }];
    for (bit, name) in [
        (O_CREAT, "O_CREAT"),
        (O_EXCL, "O_EXCL"),
        (O_TRUNC, "O_TRUNC"),
    ] {
        if f & bit != 0 {
            parts.push(name);
        }
    }
    parts.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(call: Call, pid: i32, args: [u64; 6], ret: i64, text: Option<&str>) -> RawEvent {
        RawEvent {
            call,
            pid,
            tid: pid,
            uid: 0,
            mono_ns: 1,
            comm: b"t".to_vec(),
            args,
            ret,
            cgroup: 0,
            text: text.map(|t| t.as_bytes().to_vec()),
        }
    }

    #[test]
    fn stamps_match_the_full_formatter() {
        let mut st = Stamps::default();
        for ns in [
            0i128,
            1_764_755_000_123_456_789,
            1_764_755_000_999_999_999,
            1_764_755_001_000_000_001,
            1_764_755_000_000_000_007,
            -1,
        ] {
            assert_eq!(st.rfc3339(ns), crate::units::rfc3339(ns), "{ns}");
        }
    }

    #[test]
    fn a_segment_life() {
        let mut i = Interp::new("/dev/shm");
        let names = |v: Vec<(String, Obj, Extra)>| {
            v.into_iter()
                .map(|(n, o, _)| (n, o.id, o.key))
                .collect::<Vec<_>>()
        };
        let get = raw(Call::Shmget, 5, [0x1234, 4096, 0o1600, 0, 0, 0], 7, None);
        assert_eq!(
            names(i.feed(&get)),
            [("create".into(), Some(7), Some(0x1234))]
        );
        assert_eq!(
            names(i.feed(&get)),
            [("open".into(), Some(7), Some(0x1234))]
        );
        let at = raw(Call::Shmat, 5, [7, 0, 0, 0, 0, 0], 0x7000, None);
        assert_eq!(
            names(i.feed(&at)),
            [("attach".into(), Some(7), Some(0x1234))]
        );
        let dt = raw(Call::Shmdt, 5, [0x7000, 0, 0, 0, 0, 0], 0, None);
        assert_eq!(
            names(i.feed(&dt)),
            [("detach".into(), Some(7), Some(0x1234))]
        );
        // Detached: exiting holds nothing.
        assert!(i.feed(&raw(Call::Exit, 5, [0; 6], 0, None)).is_empty());
        let rm = raw(Call::Shmctl, 6, [7, 0, 0, 0, 0, 0], 0, None);
        assert_eq!(
            names(i.feed(&rm)),
            [("remove".into(), Some(7), Some(0x1234))]
        );
    }

    #[test]
    fn posix_objects_by_fd() {
        let mut i = Interp::new("/dev/shm");
        let open = raw(
            Call::Openat,
            9,
            [0, 0, 0o102, 0, 0, 0],
            3,
            Some("/dev/shm/x"),
        );
        let v = i.feed(&open);
        assert_eq!((v[0].0.as_str(), v[0].1.kind), ("create", "posix"));
        assert_eq!(v[0].2.detail.as_deref(), Some("O_RDWR|O_CREAT"));
        let map = raw(Call::Mmap, 9, [0, 8192, 3, 1, 3, 0], 0x5000, None);
        let v = i.feed(&map);
        assert_eq!(v[0].1.path.as_deref(), Some("/dev/shm/x"));
        assert_eq!(v[0].2.size, Some(8192));
        let v = i.feed(&raw(Call::Exit, 9, [0; 6], 0, None));
        assert_eq!(
            (v[0].0.as_str(), v[0].1.path.as_deref()),
            ("exit", Some("/dev/shm/x"))
        );
        assert_eq!(i.path_obj("/dev/shm/sem.q").kind, "psem");
        assert_eq!(i.path_obj("/dev/shm/d/f").kind, "file");
    }

    fn mapped_by(i: &mut Interp, pid: i32, path: &str, fd: i32) {
        let open = raw(Call::Openat, pid, [0, 0, 2, 0, 0, 0], fd as i64, Some(path));
        i.feed(&open);
    }

    fn mmap(pid: i32, fd: i32, len: u64, addr: u64) -> RawEvent {
        raw(
            Call::Mmap,
            pid,
            [0, len, 3, 1, fd as u64, 0],
            addr as i64,
            None,
        )
    }

    fn munmap(pid: i32, addr: u64, len: u64) -> RawEvent {
        raw(Call::Munmap, pid, [addr, len, 0, 0, 0, 0], 0, None)
    }

    fn exits(i: &mut Interp, pid: i32) -> Vec<String> {
        i.feed(&raw(Call::Exit, pid, [0; 6], 0, None))
            .into_iter()
            .map(|(n, o, _)| format!("{n} {}", o.path.unwrap_or_default()))
            .collect()
    }

    /// execve(2) ends the old program's mappings and attachments: no exit names them, a
    /// segment removed while the old program held it is forgotten, and what the kernel keeps
    /// for the process (its fds, its mappings' addresses) is handed over to be forgotten first.
    #[test]
    fn exec_ends_what_the_old_program_held() {
        let mut i = Interp::new("/dev/shm");
        mapped_by(&mut i, 4, "/dev/shm/a", 3);
        i.feed(&mmap(4, 3, 8192, 0x10000));
        i.feed(&raw(Call::Shmat, 4, [7, 0, 0, 0, 0, 0], 0x7000, None));
        i.feed(&raw(Call::Shmctl, 4, [7, 0, 0, 0, 0, 0], 0, None));
        assert_eq!(i.kernel_keys(4), (vec![3], vec![0x10000]));
        assert!(i.feed(&raw(Call::Exec, 4, [0; 6], 0, None)).is_empty());
        assert_eq!(i.kernel_keys(4), (vec![], vec![]));
        assert!(exits(&mut i, 4).is_empty());
        assert!(i.shm_keys.is_empty() && i.attached.is_empty() && i.holdings.is_empty());
        // What the new program maps is held as usual.
        mapped_by(&mut i, 4, "/dev/shm/b", 3);
        i.feed(&mmap(4, 3, 4096, 0x10000));
        assert_eq!(exits(&mut i, 4), ["exit /dev/shm/b"]);
    }

    /// Holdings are per address: a munmap of the whole mapping ends it (named as mmap named
    /// it), one of its first pages only does not, and an object mapped twice is held until
    /// both are unmapped, named once at exit.
    #[test]
    fn munmap_ends_what_it_unmaps_whole() {
        let mut i = Interp::new("/dev/shm");
        // The sizes below are in 4 KiB pages, whatever this machine's are.
        i.page = 4096;
        mapped_by(&mut i, 4, "/dev/shm/a", 3);
        mapped_by(&mut i, 4, "/dev/shm/b", 5);
        i.feed(&mmap(4, 3, 8192, 0x10000));
        i.feed(&mmap(4, 3, 100, 0x20000));
        i.feed(&mmap(4, 5, 8192, 0x30000));
        let v = i.feed(&munmap(4, 0x10000, 8192));
        let (name, obj, extra) = &v[0];
        assert_eq!(
            (name.as_str(), obj.path.as_deref(), extra.addr, extra.size),
            ("munmap", Some("/dev/shm/a"), Some(0x10000), Some(8192))
        );
        assert_eq!(extra.detail, None);
        // Rounded to pages, as the kernel unmaps: 100 bytes mapped, 4096 unmapped is all.
        i.feed(&munmap(4, 0x20000, 4096));
        // The first page of b only: the rest is still mapped.
        let v = i.feed(&munmap(4, 0x30000, 4096));
        assert_eq!(v[0].2.detail.as_deref(), Some("partial"));
        assert_eq!(exits(&mut i, 4), ["exit /dev/shm/b"]);

        // Mapped twice: one munmap leaves it held, and the exit names it once.
        mapped_by(&mut i, 6, "/dev/shm/a", 3);
        mapped_by(&mut i, 6, "/dev/shm/c", 4);
        i.feed(&mmap(6, 3, 4096, 0x10000));
        i.feed(&mmap(6, 4, 4096, 0x18000));
        i.feed(&mmap(6, 3, 4096, 0x20000));
        i.feed(&mmap(6, 3, 4096, 0x28000));
        i.feed(&munmap(6, 0x20000, 4096));
        assert_eq!(exits(&mut i, 6), ["exit /dev/shm/a", "exit /dev/shm/c"]);
        mapped_by(&mut i, 7, "/dev/shm/a", 3);
        i.feed(&mmap(7, 3, 4096, 0x10000));
        i.feed(&mmap(7, 3, 4096, 0x20000));
        i.feed(&munmap(7, 0x20000, 4096));
        i.feed(&munmap(7, 0x10000, 4096));
        assert!(exits(&mut i, 7).is_empty());

        // Attached before tracing started (found among the holders then): its shmdt names it
        // and ends the holding.
        i.know_holder(8, 0x50000, 4096, i.sysv(12));
        let v = i.feed(&raw(Call::Shmdt, 8, [0x50000, 0, 0, 0, 0, 0], 0, None));
        assert_eq!((v[0].0.as_str(), v[0].1.id), ("detach", Some(12)));
        // A munmap of a mapping made before tracing started, never seen: its address.
        let v = i.feed(&munmap(8, 0x40000, 4096));
        assert_eq!((v[0].1.kind, v[0].1.path.as_deref()), ("file", None));
        assert!(i.holdings.is_empty());
    }

    /// A long-lived process that maps and unmaps many differently named objects (a Python
    /// pool worker's psm_* names) holds none of them afterwards: nothing accumulates, and its
    /// exit names nothing.
    #[test]
    fn many_names_mapped_and_unmapped_leave_nothing_held() {
        let mut i = Interp::new("/dev/shm");
        for n in 0..10_000u64 {
            mapped_by(&mut i, 9, &format!("/dev/shm/psm_{n}"), 3);
            i.feed(&mmap(9, 3, 4096, 0x7f00_0000 + n * 4096));
            i.feed(&munmap(9, 0x7f00_0000 + n * 4096, 4096));
        }
        assert!(i.holdings.is_empty());
        assert!(exits(&mut i, 9).is_empty());
    }

    /// A removed segment's id is forgotten after its last detach, so the same id handed out
    /// again is a new segment ("create", with its own key), and a long trace keeps no key of a
    /// segment long gone.
    #[test]
    fn a_removed_id_given_out_again_is_a_new_segment() {
        let mut i = Interp::new("/dev/shm");
        let first = |v: Vec<(String, Obj, Extra)>| {
            let (n, o, _) = v.into_iter().next().unwrap();
            (n, o.id, o.key)
        };
        let get = |key: u64| raw(Call::Shmget, 5, [key, 4096, 0o1600, 0, 0, 0], 7, None);
        i.feed(&get(0x1111));
        i.feed(&raw(Call::Shmat, 5, [7, 0, 0, 0, 0, 0], 0x7000, None));
        // Removed while attached: the detach still names its key.
        let rm = raw(Call::Shmctl, 6, [7, 0, 0, 0, 0, 0], 0, None);
        assert_eq!(first(i.feed(&rm)), ("remove".into(), Some(7), Some(0x1111)));
        let dt = raw(Call::Shmdt, 5, [0x7000, 0, 0, 0, 0, 0], 0, None);
        assert_eq!(first(i.feed(&dt)), ("detach".into(), Some(7), Some(0x1111)));
        assert!(i.shm_keys.is_empty() && i.removed.is_empty());
        assert_eq!(
            first(i.feed(&get(0x2222))),
            ("create".into(), Some(7), Some(0x2222))
        );
        // Removed unattached: forgotten at once. Attached when its process exits: at the exit.
        i.feed(&rm);
        assert!(i.shm_keys.is_empty());
        i.feed(&get(0x3333));
        i.feed(&raw(Call::Shmat, 5, [7, 0, 0, 0, 0, 0], 0x7000, None));
        i.feed(&rm);
        assert_eq!(i.shm_keys.get(&7), Some(&0x3333));
        i.feed(&raw(Call::Exit, 5, [0; 6], 0, None));
        assert!(i.shm_keys.is_empty() && i.removed.is_empty());
    }

    #[test]
    fn close_range_forgets_the_fds_in_its_range_only() {
        let mut i = Interp::new("/dev/shm");
        for fd in [5, 7, 9] {
            mapped_by(&mut i, 4, &format!("/dev/shm/o{fd}"), fd);
        }
        mapped_by(&mut i, 8, "/dev/shm/other", 7);
        // close_range(6, 8, 0), its unsigned arguments in registers whose upper half is junk.
        let cr = raw(
            Call::CloseRange,
            4,
            [0xdead_0000_0000_0006, 8, 0, 0, 0, 0],
            0,
            None,
        );
        assert_eq!(i.fds_closed_by(&cr), [7]);
        assert!(i.feed(&cr).is_empty());
        let path = |i: &mut Interp, pid, fd| i.feed(&mmap(pid, fd, 4096, 0x9000))[0].1.path.clone();
        assert_eq!(path(&mut i, 4, 7), None);
        assert_eq!(path(&mut i, 4, 5).as_deref(), Some("/dev/shm/o5"));
        assert_eq!(path(&mut i, 4, 9).as_deref(), Some("/dev/shm/o9"));
        assert_eq!(path(&mut i, 8, 7).as_deref(), Some("/dev/shm/other"));
        // To the last fd (~0U): everything from 6 up.
        let all = raw(Call::CloseRange, 4, [6, 0xffff_ffff, 0, 0, 0, 0], 0, None);
        assert_eq!(i.fds_closed_by(&all), [9]);
    }
}
