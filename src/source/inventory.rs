//! The inventory: every shared-memory object on the machine with every process attached to it,
//! gathered from /proc/sysvipc/shm, /dev/shm and every process's maps, and judged stale or not.

use super::classify::{classify, in_dir, same_file, shm_kind, stat_named, MapClass};
use super::devshm::ShmFile;
use super::judge::Judge;
use super::maps::MapLine;
use super::procs::{FileStat, OpenFd, ProcShared, Scan, ScanOptions};
use super::root::Stat;
use super::sysv::ShmRecord;
use super::{bytes_to_string, Sys};
use crate::model::{Attacher, CtimeSource, Dev, FdHolder, Kind, Mode, Segment};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What to gather.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep shared file mappings that no process can write (`r--s`: font caches and the like).
    pub include_readonly_files: bool,
    /// Stat each memfd through `map_files` for its exact size, owner and resident bytes. One
    /// path lookup per memfd; a listing takes the size from the mappings instead.
    pub exact_memfds: bool,
    /// Also gather semaphore sets and message queues (System V and POSIX).
    pub messaging: bool,
}

/// The gathered state.
#[derive(Debug, Default)]
pub struct Inventory {
    pub segments: Vec<Segment>,
    /// Processes whose maps or fd tables we were not allowed to read.
    pub hidden_procs: usize,
    /// The pids of those processes (their maps could not be read: permission denied).
    pub hidden_pids: Vec<i32>,
    /// Processes in another IPC namespace that map System V segments (not joined to ours).
    pub foreign_ns_pids: Vec<i32>,
    /// With all namespaces: namespaces whose segments could not be read (needs root).
    pub unreadable_namespaces: usize,
    /// Lines of user owner-rule files that could not be used.
    pub owner_rule_errors: Vec<String>,
    /// Why the shm directory could not be listed (e.g. a container's `/dev` is a symlink,
    /// which is not followed); None when it was, or when it does not exist.
    pub shm_dir_unlisted: Option<String>,
    /// Objects of a /dev/shm other than the one listed (another mount namespace's, seen in its
    /// processes' maps and fds), left out.
    pub other_mount_objects: usize,
    /// With all namespaces: every other /dev/shm (by device) that was listed.
    pub mounts: Vec<super::mounts::ShmMount>,
}

/// Gather everything.
pub fn gather(sys: &Sys, opts: Options) -> anyhow::Result<Inventory> {
    if sys.all_ipc_namespaces {
        return gather_all_namespaces(sys, opts);
    }
    let records = sys.sysv_segments()?;
    crate::hooks::pause_point("inventory:after-sysv");
    // Rows are made as the files are listed: no list of 200,000 files beside them.
    let mut posix = PosixRows::default();
    let unlisted = unlisted(sys.each_shm_file(|f| posix.add_listed(f)), sys);
    crate::hooks::pause_point("inventory:after-devshm");
    let scan = sys.scan(scan_options(sys, opts))?;
    crate::hooks::pause_point("inventory:after-scan");
    let own = scan.self_ns.unwrap_or(0);
    let mut inv = assemble(sys, opts, &[(own, records)], posix, &scan);
    inv.shm_dir_unlisted = unlisted;
    keep_own_mount(sys, &mut inv);
    if opts.messaging {
        add_messaging(sys, &scan, &mut inv);
    }
    Ok(inv)
}

/// The rows of the objects `target` names, each as [`gather`] makes it (rows of objects that
/// share their inode or printed name may come along): the scan reads every process's maps (and
/// fds, for files), as verdicts need, but keeps only the target's, and reads the name,
/// namespace and cgroup of those holders alone. Our own IPC and mount namespace only.
pub fn gather_only(
    sys: &Sys,
    opts: Options,
    target: &super::procs::Target,
) -> anyhow::Result<Inventory> {
    let mut records = Vec::new();
    if !target.shmids.is_empty() {
        records = sys.sysv_segments()?;
        records.retain(|r| target.shmids.contains(&(r.shmid as u64)));
    }
    crate::hooks::pause_point("inventory:after-sysv");
    let (mut files, unlisted) = if target.inodes.is_empty() {
        (Vec::new(), None)
    } else {
        shm_files(sys)
    };
    files.retain(|f| target.inodes.contains(&(f.dev, f.inode)));
    crate::hooks::pause_point("inventory:after-devshm");
    let scan = sys.scan(ScanOptions {
        only: Some(target),
        ..scan_options(sys, opts)
    })?;
    crate::hooks::pause_point("inventory:after-scan");
    let own = scan.self_ns.unwrap_or(0);
    let mut inv = assemble(sys, opts, &[(own, records)], files, &scan);
    inv.shm_dir_unlisted = unlisted;
    keep_own_mount(sys, &mut inv);
    Ok(inv)
}

/// Every IPC namespace's segments, each read from a thread that joined it.
fn gather_all_namespaces(sys: &Sys, opts: Options) -> anyhow::Result<Inventory> {
    let (mut files, unlisted) = shm_files(sys);
    // Every other mount namespace's own /dev/shm, once per device.
    let (mounts, unreadable_mounts) = sys.other_dev_shms();
    for m in &mounts {
        files.extend(m.files.iter().cloned());
    }
    let scan = sys.scan(ScanOptions {
        all_namespaces: true,
        ..scan_options(sys, opts)
    })?;
    let mut sets = Vec::new();
    let mut unreadable = 0;
    let mut namespaces = scan.ipc_namespaces.clone();
    // Ours, even when no other process is in it (the scan skips this process).
    if let Some(own) = scan.self_ns {
        namespaces.entry(own).or_insert(std::process::id() as i32);
    }
    for (ns, pid) in namespaces {
        let records = if Some(ns) == scan.self_ns {
            sys.sysv_segments()
        } else {
            sys.sysv_segments_of_ns(pid)
        };
        match records {
            Ok(r) => sets.push((ns, r)),
            Err(_) => unreadable += 1,
        }
    }
    let mut inv = assemble(sys, opts, &sets, files, &scan);
    inv.unreadable_namespaces = unreadable + unreadable_mounts;
    inv.shm_dir_unlisted = unlisted;
    inv.mounts = mounts;
    keep_own_mount(sys, &mut inv);
    if opts.messaging {
        // Semaphores and queues of our own IPC namespace only.
        add_messaging(sys, &scan, &mut inv);
    }
    Ok(inv)
}

/// Semaphore sets and message queues, with verdicts.
fn add_messaging(sys: &Sys, scan: &Scan, inv: &mut Inventory) {
    let judge = Judge::new(sys, &scan.denied_pids);
    for mut seg in super::ipc::rows(sys, scan) {
        judge.messaging(&mut seg);
        inv.segments.push(seg);
    }
}

/// The files of the shm directory, listed through its fd ([`Sys::open_shm_dir`]); a missing
/// directory is empty, any other failure is said.
fn shm_files(sys: &Sys) -> (Vec<ShmFile>, Option<String>) {
    match sys.shm_files() {
        Ok(files) => (files, None),
        Err(e) => (Vec::new(), unlisted(Err(e), sys)),
    }
}

/// Why the shm directory could not be listed, if it could not (missing is empty, not a failure).
fn unlisted(listing: std::io::Result<()>, sys: &Sys) -> Option<String> {
    match listing {
        Ok(()) => None,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
        Err(e) => Some(super::root::describe(&sys.shm_dir, &e)),
    }
}

/// Every inventory reads fd tables: verdicts need to know who holds a file open, and objects
/// only an fd holds are rows.
fn scan_options(sys: &Sys, opts: Options) -> ScanOptions<'static> {
    ScanOptions {
        fds: true,
        mqueue_dev: opts.messaging.then(|| sys.mqueue_dev()).flatten(),
        ..ScanOptions::default()
    }
}

fn dev_t(m: &MapLine) -> u64 {
    libc::makedev(m.dev_major, m.dev_minor)
}

fn attacher(scan: &Scan, p: &ProcShared, m: &MapLine) -> Attacher {
    Attacher {
        other_ipc_ns: !scan.same_ipc_ns(p),
        pid: p.pid,
        comm: p.comm.clone(),
        start: m.start,
        end: m.end,
        perms: m.perms_str(),
        offset: m.offset,
        container: p.container.as_ref().map(|c| c.to_string()),
    }
}

/// Join the three sources into rows; pure but for the stat calls that settle sizes and names.
pub fn assemble(
    sys: &Sys,
    opts: Options,
    records: &[(u64, Vec<ShmRecord>)],
    posix: impl Into<PosixRows>,
    scan: &Scan,
) -> Inventory {
    let mut posix: PosixRows = posix.into();
    posix.index();
    let mut inv = Inventory {
        hidden_procs: scan.denied,
        hidden_pids: scan.denied_pids.clone(),
        ..Inventory::default()
    };

    // System V: keyed by (IPC namespace, shmid), since ids are per namespace.
    let own_ns = scan.self_ns.unwrap_or(0);
    let mut sysv: BTreeMap<(u64, i64), (Segment, &ShmRecord)> = records
        .iter()
        .flat_map(|(ns, recs)| recs.iter().map(move |r| (*ns, r)))
        .map(|(ns, r)| {
            let mut seg = sysv_segment(r);
            seg.ipc_ns = (ns != 0).then_some(ns);
            ((ns, r.shmid), (seg, r))
        })
        .collect();

    // Everything else met in maps, keyed by (dev, inode).
    let mut others: HashMap<(u64, u64), Segment> = HashMap::new();
    let mut foreign: HashSet<i32> = HashSet::new();
    let shm_prefix = sys.shm_maps_dir.as_os_str().as_bytes();

    for p in &scan.procs {
        let proc_ns = p.ipc_ns.unwrap_or(own_ns);
        for m in &p.maps {
            // " (deleted)" may be part of a real name: the classifier checks the full name.
            let class = classify(m, shm_prefix, |m| same_file(sys, &m.path, m));
            // Whatever the name now says (renamed, or unlinked since we listed /dev/shm), a
            // mapping of a listed POSIX object's inode is that object.
            if !matches!(class, MapClass::Sysv { .. }) {
                if let Some(seg) = posix.get_mut(&(dev_t(m), m.inode)) {
                    seg.attachers.push(attacher(scan, p, m));
                    continue;
                }
            }
            match class {
                MapClass::Sysv { key } => {
                    // The /SYSV name and the inode together: memfds and shared anonymous memory
                    // live on the same device and their inodes can equal a shmid.
                    let Some((seg, rec)) = sysv.get_mut(&(proc_ns, m.inode as i64)) else {
                        // With --ns one namespace was chosen: the others are not news.
                        if proc_ns != own_ns && !sys.only_own_ns {
                            foreign.insert(p.pid);
                        }
                        continue;
                    };
                    if rec.key != key && rec.key == 0 && key != 0 {
                        seg.former_key = Some(key);
                    } else if rec.key != key {
                        // Same inode, other key: a different object (e.g. a reused id).
                        continue;
                    }
                    // Joined within its own namespace, whichever namespace is listed.
                    let mut a = attacher(scan, p, m);
                    a.other_ipc_ns = false;
                    seg.attachers.push(a);
                }
                MapClass::Shm { kind, path } => {
                    let id = (dev_t(m), m.inode);
                    let seg = posix.get_or_insert_with(id, || {
                        // Made after we listed /dev/shm, or listed under another name.
                        match stat_named(sys, &path, m) {
                            Some(st) => posix_segment(ShmFile::from_stat(
                                OsStr::from_bytes(&path).into(),
                                &st,
                            )),
                            None => mapped_segment(kind, m, &path),
                        }
                    });
                    seg.attachers.push(attacher(scan, p, m));
                }
                MapClass::SharedSpecial | MapClass::Private(_) => {}
                class => {
                    let id = (dev_t(m), m.inode);
                    let seg = others
                        .entry(id)
                        .or_insert_with(|| other_segment(sys, opts, p, m, &class));
                    // Only some of its mappings may carry a name (one given after a fork).
                    if seg.path.is_none() {
                        seg.path = class.object_path();
                    }
                    seg.attachers.push(attacher(scan, p, m));
                }
            }
        }
    }

    // Open fds, after every mapping is known: an object nobody maps is a row of its own.
    for p in &scan.procs {
        if sys.only_own_ns && !scan.same_ipc_ns(p) {
            continue;
        }
        for f in p.fds.iter().filter(|f| !f.mqueue) {
            let st = &f.stat;
            let id = (st.dev, st.inode);
            let holder = FdHolder {
                pid: p.pid,
                comm: p.comm.clone(),
                fd: f.fd,
                container: p.container.as_ref().map(|c| c.to_string()),
            };
            let seg = if let Some(seg) = posix.get_mut(&id) {
                seg
            } else {
                others.entry(id).or_insert_with(|| fd_segment(f))
            };
            // What stat of the fd says is exact: a mapped memfd not stat'ed yet takes it.
            if seg.rss.is_none() && seg.kind != Kind::Sysv {
                apply_stat(seg, st);
            }
            seg.fd_holders.push(holder);
        }
    }

    let mut segments: Vec<Segment> = Vec::new();
    let judge = Judge::new(sys, &scan.denied_pids);
    inv.owner_rule_errors = judge.owner_rule_errors().to_vec();
    // With --ns, what only processes of other namespaces map is not part of that view; POSIX
    // objects listed from its /dev/shm are, mapped or not.
    let in_view = |seg: &Segment| {
        !sys.only_own_ns
            || !seg.fd_holders.is_empty()
            || seg.attachers.iter().any(|a| !a.other_ipc_ns)
    };
    let mut posix = posix.into_rows(in_view);
    others.retain(|_, seg| in_view(seg));
    for (_, (mut seg, rec)) in sysv {
        judge.sysv(&mut seg, rec);
        if rec.is_dest() {
            seg.note = Some(dest_note(sys, &seg, rec));
        }
        segments.push(seg);
    }
    for seg in &mut posix {
        let name = shm_name(sys, seg);
        seg.kind = shm_kind(&name);
        judge.shm_file(seg, &name);
    }
    // The POSIX rows are most of a large inventory: they stay where they are, the few System V
    // rows go in front of them (one move, no second copy of every row).
    posix.reserve_exact(segments.len() + others.len());
    posix.splice(0..0, segments);
    let mut segments = posix;
    for (_, mut seg) in others {
        if seg.rss.is_none() && matches!(seg.kind, Kind::Memfd | Kind::Anon) {
            stat_through_mapping(sys, &mut seg);
        }
        fill_sizes(&mut seg);
        seg.fd_holders.sort_by_key(|h| (h.pid, h.fd));
        let writable = seg.attachers.iter().any(|a| a.perms.as_bytes()[1] == b'w');
        if seg.kind == Kind::File && !writable && !opts.include_readonly_files {
            continue;
        }
        if seg.rss.is_none() && matches!(seg.kind, Kind::File | Kind::Deleted) {
            super::residency::of_mapped_file(sys, &mut seg);
        }
        judge.held(&mut seg);
        segments.push(seg);
    }
    // With swap configured, blocks are resident and swapped pages together: split them.
    if tmpfs_swap().is_none() {
        for seg in &mut segments {
            super::residency::split_swapped(sys, seg);
        }
    }
    let in_container: HashSet<i32> = scan
        .procs
        .iter()
        .filter(|p| p.container.as_ref().is_some_and(|c| c.is_container()))
        .map(|p| p.pid)
        .collect();
    if !in_container.is_empty() {
        for seg in &mut segments {
            let names = container_names(seg, &in_container);
            if !names.is_empty() {
                seg.containers = names;
            }
        }
    }
    let mut foreign: Vec<i32> = foreign.into_iter().collect();
    foreign.sort_unstable();
    inv.foreign_ns_pids = foreign;
    inv.segments = segments;
    inv
}

/// Who keeps a segment marked for removal alive.
fn dest_note(sys: &Sys, seg: &Segment, rec: &ShmRecord) -> String {
    let holders = seg.attacher_pids();
    if holders.is_empty() {
        format!(
            "marked for removal; freed when its {} attacher(s) detach",
            rec.nattch
        )
    } else {
        format!(
            "marked for removal but still held, freed when these detach: {}",
            sys.describe_pids(&holders)
        )
    }
}

/// An object's name relative to the shm directory (as listed, or as its holders' maps name it).
pub fn shm_name(sys: &Sys, seg: &Segment) -> String {
    let path = seg.path.as_deref().unwrap_or("");
    for dir in [&sys.shm_dir, &sys.shm_maps_dir] {
        let dir = dir.to_string_lossy();
        let dir = dir.trim_end_matches('/');
        if let Some(rest) = path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
            return rest.to_string();
        }
    }
    path.rsplit('/').next().unwrap_or(path).to_string()
}

/// Whether a row is an object of a /dev/shm (a file there, or one deleted from there).
fn on_a_dev_shm(sys: &Sys, seg: &Segment) -> bool {
    let shm = sys.shm_maps_dir.as_os_str().as_bytes();
    match seg.kind {
        Kind::Posix | Kind::Psem => true,
        Kind::Deleted | Kind::File => seg
            .path
            .as_deref()
            .is_some_and(|p| in_dir(p.as_bytes(), shm)),
        _ => false,
    }
}

/// Rows on a /dev/shm other than the listed one (its device) belong to another mount
/// namespace: with `--all-namespaces` they are kept when that /dev/shm was listed, named by the
/// container that has it; otherwise they are left out (with `--ns`, that is the host's) and
/// counted.
pub(crate) fn keep_own_mount(sys: &Sys, inv: &mut Inventory) {
    let Some(listed) = sys.listed_shm_dev() else {
        return;
    };
    let names: HashMap<u64, String> = inv.mounts.iter().map(|m| (m.dev, m.name.clone())).collect();
    let mut dropped = 0;
    inv.segments.retain_mut(|seg| {
        if !on_a_dev_shm(sys, seg) {
            return true;
        }
        let Some(dev) = seg.dev.map(|d| d.0) else {
            return true;
        };
        if dev == listed {
            return true;
        }
        if let Some(name) = names.get(&dev) {
            seg.shm_mount = Some(name.clone());
            if seg.containers.is_empty() {
                seg.containers = vec![name.clone()];
            }
            return true;
        }
        dropped += 1;
        false
    });
    inv.other_mount_objects = dropped;
}

/// The distinct containers of a row's holders, in order.
fn container_names(seg: &Segment, in_container: &HashSet<i32>) -> Vec<String> {
    let mut names: Vec<String> = seg
        .attachers
        .iter()
        .filter(|a| in_container.contains(&a.pid))
        .filter_map(|a| a.container.clone())
        .chain(
            seg.fd_holders
                .iter()
                .filter(|h| in_container.contains(&h.pid))
                .filter_map(|h| h.container.clone()),
        )
        .collect();
    names.sort();
    names.dedup();
    names
}

fn nonzero(t: i64) -> Option<i64> {
    (t != 0).then_some(t)
}

fn sysv_segment(r: &ShmRecord) -> Segment {
    let mut s = Segment::new(Kind::Sysv);
    s.id = Some(r.shmid);
    s.key = Some(r.key);
    s.size = r.size;
    s.uid = Some(r.uid);
    s.gid = Some(r.gid);
    s.perms = Some(r.perms());
    s.nattch = Some(r.nattch);
    s.status = r.status();
    s.cpid = Some(r.cpid);
    s.lpid = Some(r.lpid);
    s.atime = nonzero(r.atime);
    s.dtime = nonzero(r.dtime);
    s.ctime = nonzero(r.ctime);
    s.ctime_source = s.ctime.map(|_| CtimeSource::IpcCtime);
    s.rss = r.rss;
    s.swap = r.swap;
    s.inode = Some(r.shmid as u64);
    s
}

/// The rows of the shm directory's files, in order, then of objects met later in maps and fds,
/// each found by (device, inode). The listed rows are found through their indices sorted by
/// (device, inode): 4 bytes a row, where a hash map from (device, inode) to a row took 32 (6 MiB
/// of the peak at 200,000 rows). The few rows met later are in a map.
#[derive(Default)]
pub struct PosixRows {
    rows: Vec<Segment>,
    /// The first `listed` rows are the files listed.
    listed: usize,
    /// Indices of the listed rows, by (device, inode); made by [`PosixRows::index`].
    sorted: Vec<u32>,
    /// Rows met after the listing, by (device, inode).
    later: HashMap<(u64, u64), usize>,
}

/// A row's (device, inode).
fn row_id(seg: &Segment) -> (u64, u64) {
    (seg.dev.map_or(0, |d| d.0), seg.inode.unwrap_or(0))
}

impl From<Vec<ShmFile>> for PosixRows {
    fn from(files: Vec<ShmFile>) -> PosixRows {
        let mut rows = PosixRows::default();
        files.into_iter().for_each(|f| rows.add_listed(f));
        rows
    }
}

impl PosixRows {
    /// A file of the listing; all of them come before any object met later.
    fn add_listed(&mut self, f: ShmFile) {
        self.rows.push(posix_segment(f));
        self.listed = self.rows.len();
    }

    /// Sort the listed rows' indices, once the listing is done. Several names of one inode
    /// become one row (the last listed) holding every name.
    fn index(&mut self) {
        let rows = &self.rows;
        let by_id = |i: u32| row_id(&rows[i as usize]);
        let mut sorted: Vec<u32> = (0..self.listed as u32).collect();
        // Stable: names of one inode stay in listing order.
        sorted.sort_by_key(|&i| by_id(i));
        // Hard links: one object, several names. Each pair is (an earlier name, the next of the
        // same inode); the last listed row is kept and takes every name; a row with a single
        // name keeps `names` empty (its `path` says it), which spares a second copy of every
        // name at 200,000 rows.
        let pairs: Vec<(usize, usize)> = sorted
            .windows(2)
            .filter(|w| by_id(w[0]) == by_id(w[1]))
            .map(|w| (w[0] as usize, w[1] as usize))
            .collect();
        if !pairs.is_empty() {
            for &(a, b) in &pairs {
                let mut names = std::mem::take(&mut self.rows[a].names);
                if names.is_empty() {
                    names.extend(self.rows[a].path.clone());
                }
                let kept = &mut self.rows[b];
                if kept.names.is_empty() {
                    let path = kept.path.clone();
                    kept.names.extend(path);
                }
                kept.names.append(&mut names);
                first_name_first(kept);
            }
            let mut drop = vec![false; self.listed];
            pairs.iter().for_each(|&(a, _)| drop[a] = true);
            let mut i = 0;
            self.rows.retain(|_| {
                i += 1;
                !drop[i - 1]
            });
            self.listed = self.rows.len();
            return self.index();
        }
        self.sorted = sorted;
    }

    fn find(&self, id: &(u64, u64)) -> Option<usize> {
        match self
            .sorted
            .binary_search_by_key(id, |&i| row_id(&self.rows[i as usize]))
        {
            Ok(at) => Some(self.sorted[at] as usize),
            Err(_) => self.later.get(id).copied(),
        }
    }

    fn get_mut(&mut self, id: &(u64, u64)) -> Option<&mut Segment> {
        self.find(id).map(|i| &mut self.rows[i])
    }

    fn get_or_insert_with(
        &mut self,
        id: (u64, u64),
        make: impl FnOnce() -> Segment,
    ) -> &mut Segment {
        let i = match self.find(&id) {
            Some(i) => i,
            None => {
                self.rows.push(make());
                self.later.insert(id, self.rows.len() - 1);
                self.rows.len() - 1
            }
        };
        &mut self.rows[i]
    }

    /// The rows: every listed one, and those met later that `keep` keeps.
    fn into_rows(self, keep: impl Fn(&Segment) -> bool) -> Vec<Segment> {
        let PosixRows {
            mut rows, listed, ..
        } = self;
        let mut i = 0;
        rows.retain(|seg| {
            i += 1;
            i <= listed || keep(seg)
        });
        rows
    }
}

fn posix_segment(f: ShmFile) -> Segment {
    let mut s = Segment::new(Kind::Posix);
    // The listed name's own buffer becomes the row's path when it is UTF-8 (no second copy).
    s.path = Some(
        f.path
            .into_os_string()
            .into_string()
            .unwrap_or_else(|p| bytes_to_string(p.as_bytes())),
    );
    s.size = f.size;
    s.uid = Some(f.uid);
    s.gid = Some(f.gid);
    s.perms = Some(Mode(f.mode & 0o777));
    s.ctime = Some(f.born);
    s.ctime_source = Some(CtimeSource::of_file(f.born_is_btime));
    // tmpfs: allocated blocks are resident or swapped pages.
    s.rss = Some(f.allocated);
    s.swap = tmpfs_swap();
    s.dev = Some(Dev(f.dev));
    s.inode = Some(f.inode);
    s
}

/// Put a hard-linked object's names in a stable order, names directly in the shm directory
/// (what `shm_open` makes) before names in subdirectories, and name the row by the first.
fn first_name_first(seg: &mut Segment) {
    seg.names
        .sort_by(|a, b| (a.matches('/').count(), a).cmp(&(b.matches('/').count(), b)));
    seg.names.dedup();
    seg.path = seg.names.first().cloned();
}

/// Swapped bytes of a tmpfs or memfd object, where they are known without reading its pages:
/// with no swap configured, none. (Otherwise its blocks count resident and swapped pages
/// together and `rss` holds both; splitting them costs a read of the object's page state.)
pub fn tmpfs_swap() -> Option<u64> {
    static NO_SWAP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let none = *NO_SWAP.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("SwapTotal:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            })
            .is_some_and(|kb| kb == 0)
    });
    none.then_some(0)
}

/// Fill a row's size, owner, time and resident bytes from a stat of the object itself.
fn apply_stat(seg: &mut Segment, st: &FileStat) {
    seg.size = st.size;
    if seg.kind != Kind::Anon {
        seg.uid = Some(st.uid);
        seg.gid = Some(st.gid);
        seg.perms = Some(Mode(st.mode & 0o777));
    }
    seg.ctime = Some(st.btime.unwrap_or(st.mtime));
    seg.ctime_source = Some(CtimeSource::of_file(st.btime.is_some()));
    if matches!(seg.kind, Kind::Memfd | Kind::Anon | Kind::Posix) || seg_on_shm(seg) {
        seg.rss = Some(st.allocated);
        seg.swap = tmpfs_swap();
    }
}

/// Whether a file row lives on the same device as the shm objects (tmpfs /dev/shm).
fn seg_on_shm(seg: &Segment) -> bool {
    seg.kind == Kind::Deleted && seg.note.as_deref() == Some(SHM_NOTE)
}

const SHM_NOTE: &str = "deleted from /dev/shm but still held";

/// A row for an object only an open fd holds.
fn fd_segment(f: &OpenFd) -> Segment {
    let (kind, path) = if f.memfd {
        let name = f.path.strip_prefix(b"/memfd:").unwrap_or(&f.path);
        (Kind::Memfd, format!("memfd:{}", bytes_to_string(name)))
    } else if f.deleted {
        (Kind::Deleted, bytes_to_string(&f.path))
    } else {
        // A /dev/shm file made after the directory was listed.
        (Kind::Posix, bytes_to_string(&f.path))
    };
    let mut s = Segment::new(kind);
    s.path = Some(path);
    s.dev = Some(Dev(f.stat.dev));
    s.inode = Some(f.stat.inode);
    if kind == Kind::Deleted {
        s.note = Some(SHM_NOTE.to_string());
    }
    apply_stat(&mut s, &f.stat);
    s
}

/// Stat a memfd or shared anonymous object through one of its mappings (`map_files`, which
/// needs CAP_SYS_ADMIN): its blocks are its resident (and swapped) pages, counted once however
/// many processes map it. Left unknown where we may not look.
fn stat_through_mapping(sys: &Sys, seg: &mut Segment) {
    for a in &seg.attachers {
        let link = sys.map_files_path(a.pid, a.start, a.end);
        if let Ok(md) = std::fs::metadata(&link) {
            if Some(md.ino()) == seg.inode {
                let st = FileStat::from_metadata(&md);
                let (size, uid, gid, perms) = (seg.size, seg.uid, seg.gid, seg.perms);
                apply_stat(seg, &st);
                if seg.kind == Kind::Anon {
                    // The mappings give an anonymous object's size; its inode is kernel-made.
                    seg.size = size;
                    (seg.uid, seg.gid, seg.perms) = (uid, gid, perms);
                }
                return;
            }
        }
    }
}

/// A row known only from a mapping line.
fn mapped_segment(kind: Kind, m: &MapLine, path: &[u8]) -> Segment {
    let mut s = Segment::new(kind);
    if !path.is_empty() {
        s.path = Some(bytes_to_string(path));
    }
    s.dev = Some(m.dev());
    s.inode = Some(m.inode);
    s
}

fn other_segment(
    sys: &Sys,
    opts: Options,
    p: &ProcShared,
    m: &MapLine,
    class: &MapClass,
) -> Segment {
    let mut seg = mapped_segment(class.kind().unwrap_or(Kind::Anon), m, &[]);
    seg.path = class.object_path();
    // The object itself, through the mapping: exact size and owner where we may look.
    let link = sys.map_files_path(p.pid, m.start, m.end);
    let through_link = || {
        std::fs::metadata(&link)
            .ok()
            .map(|md| FileStat::from_metadata(&md))
    };
    let st = match seg.kind {
        Kind::File => seg
            .path
            .as_ref()
            .and_then(|_| stat_named(sys, &m.path, m))
            .map(|st| file_stat(&st))
            .or_else(through_link),
        Kind::Anon => None,
        Kind::Memfd if !opts.exact_memfds => None,
        _ => through_link(),
    };
    if let Some(st) = st.filter(|st| st.inode == m.inode) {
        if seg.kind == Kind::Deleted && in_dir(&m.path, sys.shm_maps_dir.as_os_str().as_bytes()) {
            seg.note = Some(SHM_NOTE.to_string());
        }
        apply_stat(&mut seg, &st);
    } else {
        // Not stat'ed (shared anonymous memory has no owner of its own; a listed memfd is not
        // looked up): the process holding it owns it.
        seg.uid = p.uid.or_else(|| sys.proc_uid(p.pid));
    }
    seg
}

fn file_stat(st: &Stat) -> FileStat {
    FileStat {
        dev: st.dev,
        inode: st.ino,
        size: st.size,
        allocated: st.allocated,
        uid: st.uid,
        gid: st.gid,
        mode: st.mode,
        mtime: st.mtime,
        btime: st.btime,
    }
}

/// Where the object's size is not known from stat, the furthest byte any attacher maps.
fn fill_sizes(seg: &mut Segment) {
    if seg.size != 0 {
        return;
    }
    seg.size = seg
        .attachers
        .iter()
        .map(|a| a.offset + a.end.saturating_sub(a.start))
        .max()
        .unwrap_or(0);
}

/// Whether `pid` no longer names a process: no process has it, or it is a zombie. A live pid
/// is never counted as gone, whatever its start time says: start times go through the wall
/// clock, which a clock step moves (see `source::judge`). Pid 0 (a process outside our pid
/// namespace) is not gone either. `_since` is kept for the callers' sake.
pub(crate) fn gone_since(lives: &Lives, pid: i32, _since: i64) -> bool {
    pid > 0
        && *lives
            .seen
            .borrow_mut()
            .entry(pid)
            .or_insert_with(|| lives.sys.exited(pid))
}

/// Which pids have exited, each looked up once: thousands of objects made by one process would
/// otherwise read its stat thousands of times.
pub(crate) struct Lives<'a> {
    pub(crate) sys: &'a Sys,
    seen: std::cell::RefCell<HashMap<i32, bool>>,
}

impl<'a> Lives<'a> {
    pub(crate) fn new(sys: &'a Sys) -> Lives<'a> {
        Lives {
            sys,
            seen: Default::default(),
        }
    }
}

/// The device number of a row.
pub fn posix_dev(s: &Segment) -> Option<u64> {
    s.dev.map(|d| d.0)
}

/// Look up one object by what a user types for `show`.
pub fn path_matches(seg: &Segment, wanted: &Path) -> bool {
    seg.path.as_deref().is_some_and(|p| Path::new(p) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, inode: u64) -> ShmFile {
        ShmFile {
            path: format!("/dev/shm/{name}").into(),
            size: 0,
            allocated: 0,
            uid: 0,
            gid: 0,
            mode: 0o600,
            born: 0,
            born_is_btime: true,
            dev: 7,
            inode,
        }
    }

    #[test]
    fn listed_rows_are_found_by_device_and_inode_and_one_inode_is_one_row() {
        let files = vec![file("c", 30), file("a", 10), file("b", 20), file("a2", 10)];
        let mut rows = PosixRows::from(files);
        rows.index();
        let path = |rows: &mut PosixRows, id| rows.get_mut(&id).and_then(|s| s.path.clone());
        assert_eq!(path(&mut rows, (7, 30)).as_deref(), Some("/dev/shm/c"));
        // Two names of one inode: one row with both names, named by the first in order.
        assert_eq!(path(&mut rows, (7, 10)).as_deref(), Some("/dev/shm/a"));
        let names = rows.get_mut(&(7, 10)).map(|s| s.names.clone());
        assert_eq!(
            names,
            Some(vec!["/dev/shm/a".to_string(), "/dev/shm/a2".to_string()])
        );
        // A single name is the path alone.
        assert!(rows.get_mut(&(7, 30)).is_some_and(|s| s.names.is_empty()));
        assert!(rows.get_mut(&(8, 10)).is_none());
        rows.get_or_insert_with((7, 40), || Segment::new(Kind::Posix))
            .size = 5;
        assert_eq!(rows.get_mut(&(7, 40)).map(|s| s.size), Some(5));
        let all = rows.into_rows(|_| false);
        assert_eq!(all.len(), 3);
    }
}
