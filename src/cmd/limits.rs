//! `shmtool limits`: the kernel's System V limits, /dev/shm's size, and current use of each.

use super::{Ctx, Run};
use crate::cli::LimitsArgs;
use crate::render::table::TableWriter;
use crate::units::size_cell;
use serde::Serialize;
use std::io::Write;

/// The limits and their use; the JSON of `limits --json`.
#[derive(Debug, Serialize)]
pub struct Limits {
    /// Largest segment allowed, bytes (kernel.shmmax).
    pub shmmax: Option<u64>,
    /// Largest segment that exists, bytes.
    pub largest_segment: u64,
    /// Total System V memory allowed, in pages (kernel.shmall).
    pub shmall_pages: Option<u64>,
    /// The same in bytes.
    pub shmall_bytes: Option<u64>,
    /// Pages used by all segments (each rounded up to whole pages, as the kernel counts).
    pub used_pages: u64,
    pub page_size: u64,
    /// Most segments allowed (kernel.shmmni).
    pub shmmni: Option<u64>,
    /// Segments that exist.
    pub segments: u64,
    /// Whether segments nobody attaches are removed when their creator exits.
    pub shm_rmid_forced: Option<bool>,
    pub dev_shm: Option<DevShm>,
    /// Semaphore sets and message queues, System V and POSIX.
    pub ipc: IpcLimits,
    /// shmmax, shmall_pages and shmall_bytes again as decimal strings: the kernel's defaults
    /// (near 2^64) are exact in the numbers above, but a reader that parses JSON numbers as
    /// doubles (JavaScript, jq) rounds anything past 2^53. Null when the number is null.
    pub shmmax_str: Option<String>,
    pub shmall_pages_str: Option<String>,
    pub shmall_bytes_str: Option<String>,
    /// systemd-logind's RemoveIPC and what it would remove here; null without logind.
    pub remove_ipc: Option<IpcRisk>,
    /// With `--all-namespaces`: every container's own /dev/shm (null without).
    pub dev_shm_containers: Option<Vec<crate::source::mounts::ShmMount>>,
}

/// logind's RemoveIPC setting and the objects here it would remove at their owner's logout.
#[derive(Debug, Serialize)]
pub struct IpcRisk {
    #[serde(flatten)]
    pub setting: crate::source::logind::RemoveIpc,
    /// System V segments and /dev/shm objects of regular users (uid > sys_uid_max), when on.
    pub at_risk: Vec<AtRisk>,
}

/// One object logind would remove when its owner's last session ends.
#[derive(Debug, Serialize)]
pub struct AtRisk {
    pub kind: String,
    pub id: Option<i64>,
    pub path: Option<String>,
    pub uid: u32,
}

/// What RemoveIPC would take from this machine now.
pub fn ipc_risk(ctx: &Ctx, recs: &[crate::source::sysv::ShmRecord]) -> Option<IpcRisk> {
    let setting = crate::source::logind::read(&crate::source::logind::root())?;
    let mut at_risk = Vec::new();
    if setting.enabled {
        for r in recs.iter().filter(|r| setting.at_risk(r.uid)) {
            at_risk.push(AtRisk {
                kind: "sysv".into(),
                id: Some(r.shmid),
                path: None,
                uid: r.uid,
            });
        }
        for f in ctx.sys.shm_files().unwrap_or_default() {
            if setting.at_risk(f.uid) {
                at_risk.push(AtRisk {
                    kind: "posix".into(),
                    id: None,
                    path: Some(f.path.to_string_lossy().into_owned()),
                    uid: f.uid,
                });
            }
        }
    }
    Some(IpcRisk { setting, at_risk })
}

/// The limits of the other IPC objects and their use in this IPC namespace.
#[derive(Debug, Default, Serialize)]
pub struct IpcLimits {
    /// Most semaphore sets (kernel.sem, 4th field).
    pub semmni: Option<u64>,
    /// Most semaphores in all sets together (kernel.sem, 2nd field).
    pub semmns: Option<u64>,
    /// Most semaphores in one set (kernel.sem, 1st field).
    pub semmsl: Option<u64>,
    pub sem_sets: u64,
    pub semaphores: u64,
    /// Most System V message queues (kernel.msgmni).
    pub msgmni: Option<u64>,
    pub msg_queues: u64,
    /// Most bytes in one queue (kernel.msgmnb).
    pub msgmnb: Option<u64>,
    /// Most POSIX message queues (fs.mqueue.queues_max; root is exempt).
    pub mqueue_queues_max: Option<u64>,
    /// POSIX queues that exist (null when no mqueue filesystem is mounted to count them).
    pub mqueues: Option<u64>,
    /// Most messages in one POSIX queue, and largest message (fs.mqueue.msg_max, msgsize_max).
    pub mqueue_msg_max: Option<u64>,
    pub mqueue_msgsize_max: Option<u64>,
}

/// The four numbers of kernel.sem: SEMMSL SEMMNS SEMOPM SEMMNI.
pub fn parse_kernel_sem(text: &str) -> Option<[u64; 4]> {
    let v: Vec<u64> = text
        .split_ascii_whitespace()
        .map(|w| w.parse().ok())
        .collect::<Option<_>>()?;
    v.try_into().ok()
}

fn ipc_limits(ctx: &Ctx) -> IpcLimits {
    let sys = &ctx.sys;
    let read = |rel: &str| -> Option<u64> {
        std::fs::read_to_string(sys.proc_root.join("sys").join(rel))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let sem = std::fs::read_to_string(sys.proc_root.join("sys/kernel/sem"))
        .ok()
        .and_then(|t| parse_kernel_sem(&t));
    let sets = sys.sem_records();
    IpcLimits {
        semmsl: sem.map(|s| s[0]),
        semmns: sem.map(|s| s[1]),
        semmni: sem.map(|s| s[3]),
        sem_sets: sets.len() as u64,
        semaphores: sets.iter().map(|s| s.nsems).sum(),
        msgmni: read("kernel/msgmni"),
        msg_queues: sys.msg_records().len() as u64,
        msgmnb: read("kernel/msgmnb"),
        mqueue_queues_max: read("fs/mqueue/queues_max"),
        mqueues: sys.mqueues().map(|q| q.len() as u64),
        mqueue_msg_max: read("fs/mqueue/msg_max"),
        mqueue_msgsize_max: read("fs/mqueue/msgsize_max"),
    }
}

/// Size and use of the /dev/shm filesystem.
#[derive(Debug, Serialize)]
pub struct DevShm {
    pub path: String,
    pub size: u64,
    pub used: u64,
    pub available: u64,
    pub inodes: u64,
    pub inodes_used: u64,
    /// Objects on this filesystem that `ls` lists (files, deleted files still held open).
    pub objects: Option<u64>,
    /// Bytes those objects hold (their allocated blocks).
    pub explained: Option<u64>,
    /// Use no listed object explains: files held by processes we could not read, or kept by
    /// the filesystem itself. 0 (within a page per object) where every holder can be read.
    pub unexplained: Option<u64>,
    /// Processes whose fds could not be read (they may hold what is unexplained).
    pub hidden_procs: Option<u64>,
}

/// Above this share of its size, /dev/shm is called nearly full.
pub const FULL_SHARE: f64 = 0.9;

impl DevShm {
    pub fn nearly_full(&self) -> bool {
        self.size > 0 && self.used as f64 > self.size as f64 * FULL_SHARE
    }
}

fn read_u64(ctx: &Ctx, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(ctx.sys.proc_root.join("sys/kernel").join(name)).ok()?;
    text.trim().parse().ok()
}

/// Gather the limits.
pub fn gather(ctx: &Ctx) -> anyhow::Result<Limits> {
    gather_with(ctx, true)
}

/// Gather the limits; `account` also works out what of /dev/shm's use the listed objects
/// explain (a scan of every process: callers that already scanned pass false).
pub fn gather_with(ctx: &Ctx, account_use: bool) -> anyhow::Result<Limits> {
    let recs = ctx.sys.sysv_segments()?;
    let page_size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map(|p| p as u64)
        .unwrap_or(4096);
    let shmall_pages = read_u64(ctx, "shmall");
    // Through the directory's fd: with --ns, opened beneath the target's root, no symlinks.
    let dev_shm = ctx
        .sys
        .open_shm_dir()
        .ok()
        .and_then(|fd| nix::sys::statvfs::fstatvfs(&fd).ok())
        // fsblkcnt_t and friends are not u64 on every target.
        .map(|s| {
            #[allow(clippy::unnecessary_cast)]
            let frag = s.fragment_size() as u64;
            #[allow(clippy::unnecessary_cast)]
            DevShm {
                path: ctx.sys.shm_dir.to_string_lossy().into_owned(),
                size: s.blocks() as u64 * frag,
                used: (s.blocks() as u64).saturating_sub(s.blocks_free() as u64) * frag,
                available: s.blocks_available() as u64 * frag,
                inodes: s.files() as u64,
                inodes_used: (s.files() as u64).saturating_sub(s.files_free() as u64),
                objects: None,
                explained: None,
                unexplained: None,
                hidden_procs: None,
            }
        })
        .map(|mut d| {
            if account_use {
                account(ctx, &mut d);
            }
            d
        });
    let shmmax = read_u64(ctx, "shmmax");
    let shmall_bytes = shmall_pages.map(|p| p.saturating_mul(page_size));
    Ok(Limits {
        shmmax_str: shmmax.map(|v| v.to_string()),
        shmall_pages_str: shmall_pages.map(|v| v.to_string()),
        shmall_bytes_str: shmall_bytes.map(|v| v.to_string()),
        shmmax,
        largest_segment: recs.iter().map(|r| r.size).max().unwrap_or(0),
        shmall_bytes,
        shmall_pages,
        used_pages: recs.iter().map(|r| r.size.div_ceil(page_size)).sum(),
        page_size,
        shmmni: read_u64(ctx, "shmmni"),
        segments: recs.len() as u64,
        shm_rmid_forced: read_u64(ctx, "shm_rmid_forced").map(|v| v != 0),
        dev_shm,
        ipc: ipc_limits(ctx),
        remove_ipc: ipc_risk(ctx, &recs),
        dev_shm_containers: None,
    })
}

/// What of /dev/shm's use the listed objects explain: every file in it and every deleted one
/// still held open, each counted once by (device, inode), by its allocated blocks.
fn account(ctx: &Ctx, d: &mut DevShm) {
    use std::os::fd::AsFd;
    let dev = ctx
        .sys
        .open_shm_dir()
        .and_then(|fd| crate::source::root::stat_fd(fd.as_fd()));
    let Ok(dev) = dev.map(|st| st.dev) else {
        return;
    };
    let Ok(inv) = crate::source::inventory::gather(&ctx.sys, Default::default()) else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    let mut explained = 0u64;
    for s in &inv.segments {
        if s.kind == crate::model::Kind::Sysv {
            continue;
        }
        let on_shm = crate::source::inventory::posix_dev(s) == Some(dev);
        if on_shm && seen.insert(s.inode) {
            explained += s.rss.unwrap_or(0);
        }
    }
    d.objects = Some(seen.len() as u64);
    d.explained = Some(explained);
    d.unexplained = Some(d.used.saturating_sub(explained));
    d.hidden_procs = Some(inv.hidden_procs as u64);
}

/// The kernel's defaults for shmmax and shmall are "as good as infinite" (ULONG_MAX less 16 MiB
/// worth): show them as what they mean.
fn unlimited(bytes: u64) -> bool {
    bytes >= 1 << 60
}

fn pct(used: u64, limit: Option<u64>) -> String {
    match limit {
        Some(l) if l > 0 => format!("{:.1}%", used as f64 * 100.0 / l as f64),
        _ => "-".into(),
    }
}

/// The table of `limits`: one row per limit, with its use, and a note on shm_rmid_forced.
pub fn write_table(
    out: &mut dyn Write,
    l: &Limits,
    exact_bytes: bool,
    color: bool,
) -> std::io::Result<()> {
    let b = exact_bytes;
    let size = |v: Option<u64>| match v {
        Some(v) if unlimited(v) => "unlimited".to_string(),
        Some(v) => size_cell(v, b),
        None => "-".into(),
    };
    let mut t = TableWriter::new(
        &[
            ("LIMIT", false),
            ("VALUE", true),
            ("IN USE", true),
            ("USE", true),
            ("MEANING", false),
        ],
        color,
    );
    t.row(&[
        "shmmax".to_string(),
        size(l.shmmax),
        size_cell(l.largest_segment, b),
        // A share of "unlimited" is always 0.0%, which says nothing.
        pct(l.largest_segment, l.shmmax.filter(|&v| !unlimited(v))),
        "largest System V segment (in use: the largest that exists)".into(),
    ]);
    t.row(&[
        "shmall".to_string(),
        size(l.shmall_bytes),
        size_cell(l.used_pages * l.page_size, b),
        pct(
            l.used_pages,
            l.shmall_pages
                .filter(|&p| !unlimited(p.saturating_mul(l.page_size))),
        ),
        match l.shmall_pages {
            Some(p) if !unlimited(p.saturating_mul(l.page_size)) => format!(
                "all System V segments together ({p} pages of {} bytes)",
                l.page_size
            ),
            _ => "all System V segments together".to_string(),
        },
    ]);
    t.row(&[
        "shmmni".to_string(),
        l.shmmni.map(|v| v.to_string()).unwrap_or("-".into()),
        l.segments.to_string(),
        pct(l.segments, l.shmmni),
        "number of System V segments".into(),
    ]);
    if let Some(d) = &l.dev_shm {
        t.row(&[
            d.path.clone(),
            size_cell(d.size, b),
            size_cell(d.used, b),
            pct(d.used, Some(d.size)),
            "POSIX shared memory filesystem (tmpfs)".into(),
        ]);
        if let Some(u) = d.unexplained {
            t.row(&[
                format!("{} unexplained", d.path),
                "-".into(),
                size_cell(u, b),
                pct(u, Some(d.size)),
                format!(
                    "use no listed object explains ({} objects explain {})",
                    d.objects.unwrap_or(0),
                    size_cell(d.explained.unwrap_or(0), b)
                ),
            ]);
        }
        t.row(&[
            format!("{} inodes", d.path),
            d.inodes.to_string(),
            d.inodes_used.to_string(),
            pct(d.inodes_used, Some(d.inodes)),
            "files in it".into(),
        ]);
    }
    let i = &l.ipc;
    let count = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    t.row(&[
        "semmni".to_string(),
        count(i.semmni),
        i.sem_sets.to_string(),
        pct(i.sem_sets, i.semmni),
        "number of System V semaphore sets".into(),
    ]);
    t.row(&[
        "semmns".to_string(),
        count(i.semmns),
        i.semaphores.to_string(),
        pct(i.semaphores, i.semmns),
        format!(
            "semaphores in all sets together (at most {} per set)",
            count(i.semmsl)
        ),
    ]);
    t.row(&[
        "msgmni".to_string(),
        count(i.msgmni),
        i.msg_queues.to_string(),
        pct(i.msg_queues, i.msgmni),
        format!(
            "number of System V message queues (each up to {})",
            i.msgmnb
                .map(|b| size_cell(b, exact_bytes))
                .unwrap_or_else(|| "-".into())
        ),
    ]);
    t.row(&[
        "mqueue queues_max".to_string(),
        count(i.mqueue_queues_max),
        count(i.mqueues),
        i.mqueues
            .map(|q| pct(q, i.mqueue_queues_max))
            .unwrap_or_else(|| "-".into()),
        format!(
            "POSIX message queues (root is exempt; each up to {} messages of {})",
            count(i.mqueue_msg_max),
            i.mqueue_msgsize_max
                .map(|b| size_cell(b, exact_bytes))
                .unwrap_or_else(|| "-".into())
        ),
    ]);
    t.write(out)?;
    if let Some(d) = l.dev_shm.as_ref().filter(|d| d.nearly_full()) {
        writeln!(
            out,
            "\n{} is {} full. The largest holders: `shmtool ls --sort rss`.\n\
             In a container, give it more: Docker `--shm-size=1g` (the default is 64 MiB); \
             Kubernetes: mount an emptyDir with `medium: Memory` and a `sizeLimit` at /dev/shm.",
            d.path,
            pct(d.used, Some(d.size))
        )?;
    }
    if let Some(d) = l.dev_shm.as_ref() {
        if d.unexplained.unwrap_or(0) > 0 && d.hidden_procs.unwrap_or(0) > 0 {
            writeln!(
                out,
                "\n{} process(es) could not be read: the unexplained use may be files they hold open (run as root).",
                d.hidden_procs.unwrap_or(0)
            )?;
        }
    }
    if let Some(f) = l.shm_rmid_forced {
        writeln!(
            out,
            "\nkernel.shm_rmid_forced = {} ({})",
            f as u8,
            if f {
                "segments nobody attaches are removed when their creator exits"
            } else {
                "segments outlive their creator until removed"
            }
        )?;
    }
    Ok(())
}

/// Each /dev/shm side by side: the host's (or the one listed), then every container's own.
fn write_containers(
    out: &mut dyn Write,
    own: Option<&DevShm>,
    mounts: &[crate::source::mounts::ShmMount],
    exact: bool,
    color: bool,
) -> std::io::Result<()> {
    let mut t = TableWriter::new(
        &[
            ("/dev/shm OF", false),
            ("PID", true),
            ("SIZE", true),
            ("USED", true),
            ("USE", true),
        ],
        color,
    );
    if let Some(d) = own {
        t.row(&[
            "(this namespace)".into(),
            "-".into(),
            size_cell(d.size, exact),
            size_cell(d.used, exact),
            pct(d.used, Some(d.size)),
        ]);
    }
    let mut full = Vec::new();
    for m in mounts {
        t.row(&[
            crate::text::escape(&m.name),
            m.pid.to_string(),
            size_cell(m.size, exact),
            size_cell(m.used, exact),
            pct(m.used, Some(m.size)),
        ]);
        if m.size > 0 && m.used as f64 > m.size as f64 * FULL_SHARE {
            full.push(crate::text::escape(&m.name));
        }
    }
    writeln!(out)?;
    t.write(out)?;
    if !full.is_empty() {
        writeln!(
            out,
            "\nOver 90% full: {}. Docker: `--shm-size`; Kubernetes: an emptyDir with `medium: Memory` and a `sizeLimit` at /dev/shm.",
            full.join(", ")
        )?;
    }
    Ok(())
}

impl Run for LimitsArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let mut l = gather(ctx)?;
        if self.all_namespaces {
            let (mounts, unreadable) = ctx.sys.other_dev_shms();
            if unreadable > 0 {
                super::note(&format!(
                    "{unreadable} mount namespace(s) could not be looked into (run as root)"
                ));
            }
            l.dev_shm_containers = Some(mounts);
        }
        if self.out.json {
            return crate::render::write_json(out, &l);
        }
        write_table(out, &l, self.out.bytes, ctx.color)?;
        if let Some(mounts) = &l.dev_shm_containers {
            write_containers(out, l.dev_shm.as_ref(), mounts, self.out.bytes, ctx.color)?;
        }
        if let Some(risk) = l.remove_ipc.as_ref().filter(|r| !r.at_risk.is_empty()) {
            let users = crate::source::users::Users::default();
            let mut owners: Vec<(u32, usize)> = Vec::new();
            for a in &risk.at_risk {
                match owners.iter_mut().find(|(u, _)| *u == a.uid) {
                    Some((_, n)) => *n += 1,
                    None => owners.push((a.uid, 1)),
                }
            }
            let owners: Vec<String> = owners
                .iter()
                .map(|(u, n)| format!("{} (uid {u}): {n}", users.name(*u)))
                .collect();
            let line = crate::render::risk::remove_ipc_warning(&risk.setting, &owners.join(", "));
            writeln!(out, "\n{}", ctx.palette().warn(&line))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Sys;

    fn sample() -> Limits {
        Limits {
            shmmax_str: None,
            shmall_pages_str: None,
            shmall_bytes_str: None,
            shmmax: Some(32 << 20),
            largest_segment: 8 << 20,
            shmall_pages: Some(2048),
            shmall_bytes: Some(2048 * 4096),
            used_pages: 512,
            page_size: 4096,
            shmmni: Some(4096),
            segments: 3,
            shm_rmid_forced: Some(true),
            ipc: IpcLimits::default(),
            dev_shm_containers: None,
            remove_ipc: None,
            dev_shm: Some(DevShm {
                path: "/dev/shm".into(),
                size: 1 << 30,
                used: 256 << 20,
                available: 768 << 20,
                inodes: 1000,
                inodes_used: 10,
                objects: Some(3),
                explained: Some(255 << 20),
                unexplained: Some(1 << 20),
                hidden_procs: Some(0),
            }),
        }
    }

    fn table(l: &Limits, exact: bool) -> String {
        let mut out = Vec::new();
        write_table(&mut out, l, exact, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn row<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} row in {text}"));
        line.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect()
    }

    #[test]
    fn kernel_sem_fields() {
        assert_eq!(
            parse_kernel_sem("32000\t1024000000\t500\t32000\n"),
            Some([32000, 1024000000, 500, 32000])
        );
        assert_eq!(parse_kernel_sem("1 2 3"), None);
        assert_eq!(parse_kernel_sem("a b c d"), None);
    }

    #[test]
    fn percentages() {
        assert_eq!(pct(1, Some(4)), "25.0%");
        assert_eq!(pct(0, Some(4)), "0.0%");
        assert_eq!(pct(5, Some(0)), "-");
        assert_eq!(pct(5, None), "-");
        assert_eq!(pct(u64::MAX, Some(u64::MAX)), "100.0%");
    }

    #[test]
    fn each_limit_with_its_use() {
        let text = table(&sample(), false);
        assert!(text.starts_with("LIMIT"), "{text}");
        assert!(!text.contains('\u{1b}'));
        assert!(text.lines().all(|l| !l.ends_with(' ')));
        assert_eq!(
            &row(&text, "shmmax")[..4],
            ["shmmax", "32 MiB", "8 MiB", "25.0%"]
        );
        assert_eq!(
            &row(&text, "shmall")[..4],
            ["shmall", "8 MiB", "2 MiB", "25.0%"]
        );
        assert!(row(&text, "shmall")[4].contains("2048 pages of 4096 bytes"));
        assert_eq!(&row(&text, "shmmni")[..4], ["shmmni", "4096", "3", "0.1%"]);
        assert_eq!(
            &row(&text, "/dev/shm")[..4],
            ["/dev/shm", "1 GiB", "256 MiB", "25.0%"]
        );
        assert_eq!(
            &row(&text, "/dev/shm inodes")[..4],
            ["/dev/shm inodes", "1000", "10", "1.0%"]
        );
        assert!(text.ends_with(
            "\nkernel.shm_rmid_forced = 1 (segments nobody attaches are removed when their creator exits)\n"
        ));
    }

    #[test]
    fn exact_bytes() {
        let text = table(&sample(), true);
        assert_eq!(&row(&text, "shmmax")[1..3], ["33554432", "8388608"]);
        assert_eq!(&row(&text, "shmall")[1..3], ["8388608", "2097152"]);
        assert_eq!(&row(&text, "/dev/shm")[1..3], ["1073741824", "268435456"]);
    }

    #[test]
    fn unknown_limits_show_a_dash() {
        let l = Limits {
            shmmax: None,
            shmall_pages: None,
            shmall_bytes: None,
            shmmni: None,
            shm_rmid_forced: None,
            dev_shm: None,
            ..sample()
        };
        let text = table(&l, false);
        assert_eq!(&row(&text, "shmmax")[..4], ["shmmax", "-", "8 MiB", "-"]);
        assert_eq!(&row(&text, "shmall")[..4], ["shmall", "-", "2 MiB", "-"]);
        assert_eq!(
            row(&text, "shmall")[4..].join(" "),
            "all System V segments together"
        );
        assert_eq!(&row(&text, "shmmni")[..4], ["shmmni", "-", "3", "-"]);
        assert!(!text.contains("/dev/shm"));
        assert!(!text.contains("shm_rmid_forced"));
        // Header, three System V shm rows, four rows for semaphores and queues.
        assert_eq!(text.lines().count(), 8);
        assert_eq!(&row(&text, "semmni")[..4], ["semmni", "-", "0", "-"]);
        assert_eq!(
            &row(&text, "mqueue queues_max")[..4],
            ["mqueue queues_max", "-", "-", "-"]
        );
    }

    #[test]
    fn gathers_from_a_captured_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sys/kernel")).unwrap();
        std::fs::create_dir_all(root.join("sysvipc")).unwrap();
        std::fs::create_dir_all(root.join("shm")).unwrap();
        for (name, v) in [
            ("shmmax", "18446744073692774399\n"),
            ("shmall", "1000\n"),
            ("shmmni", "4096\n"),
            ("shm_rmid_forced", "0\n"),
        ] {
            std::fs::write(root.join("sys/kernel").join(name), v).unwrap();
        }
        // Two segments: 5000 bytes (2 pages) and 64 KiB (16 pages).
        std::fs::write(
            root.join("sysvipc/shm"),
            "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
1864423031      32822   644                  5000  4242  4250      2     0     0     0     0 1763800000 1763800100 1763799000                  8192                     0
         0      32823  1600                 65536   100   101      1 165536 165536 165536 165536          0          0 1763799001                     0                  4096
",
        )
        .unwrap();
        let ctx = Ctx {
            sys: Sys::new(root, &root.join("shm")),
            color: false,
            stdout_tty: false,
        };
        let l = gather(&ctx).unwrap();
        assert_eq!(l.shmmax, Some(18446744073692774399));
        assert_eq!(l.shmall_pages, Some(1000));
        assert_eq!(l.shmall_bytes, Some(1000 * l.page_size));
        assert_eq!(l.shmmni, Some(4096));
        assert_eq!(l.shm_rmid_forced, Some(false));
        assert_eq!(l.segments, 2);
        assert_eq!(l.largest_segment, 65536);
        assert_eq!(
            l.used_pages,
            5000u64.div_ceil(l.page_size) + 65536 / l.page_size
        );
        assert_eq!(
            l.dev_shm.as_ref().unwrap().path,
            root.join("shm").to_str().unwrap()
        );

        // No System V at all (no sysvipc, no sysctls): nothing in use, limits unknown.
        let empty = tempfile::tempdir().unwrap();
        let ctx = Ctx {
            sys: Sys::new(empty.path(), empty.path()),
            ..ctx
        };
        let l = gather(&ctx).unwrap();
        assert_eq!((l.segments, l.largest_segment, l.used_pages), (0, 0, 0));
        assert_eq!((l.shmmax, l.shmall_pages, l.shmmni), (None, None, None));
    }

    /// A machine at its limits: the kernel's default (unlimited) shmmax and shmall, a nearly
    /// full /dev/shm with use nobody explains and unreadable processes, every IPC limit known.
    fn busy() -> Limits {
        let mut l = sample();
        l.shmmax = Some(18446744073692774399);
        l.shmall_pages = Some(18446744073692774399);
        l.shmall_bytes = Some(u64::MAX);
        l.shm_rmid_forced = Some(false);
        let d = l.dev_shm.as_mut().unwrap();
        d.used = 1000 << 20;
        d.unexplained = Some(300 << 20);
        d.hidden_procs = Some(4);
        l.ipc = IpcLimits {
            semmni: Some(32000),
            semmns: Some(1024000000),
            semmsl: Some(32000),
            sem_sets: 3,
            semaphores: 7,
            msgmni: Some(32000),
            msg_queues: 2,
            msgmnb: Some(16384),
            mqueue_queues_max: Some(256),
            mqueues: Some(5),
            mqueue_msg_max: Some(10),
            mqueue_msgsize_max: Some(8192),
        };
        l
    }

    fn containers(l: &Limits) -> String {
        let mounts = [
            crate::source::mounts::ShmMount {
                name: "web\u{1b}[31m".into(),
                pid: 4242,
                dev: 0,
                size: 64 << 20,
                used: 63 << 20,
                available: 1 << 20,
                files: Vec::new(),
            },
            crate::source::mounts::ShmMount {
                name: "db".into(),
                pid: 4343,
                dev: 0,
                size: 1 << 30,
                used: 1 << 20,
                available: (1 << 30) - (1 << 20),
                files: Vec::new(),
            },
        ];
        let mut out = Vec::new();
        write_containers(&mut out, l.dev_shm.as_ref(), &mounts, false, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The tables byte for byte, kept through the split into source, model and render.
    #[test]
    fn tables_as_they_were() {
        insta::assert_snapshot!("limits_table", table(&sample(), false));
        insta::assert_snapshot!("limits_table_bytes", table(&sample(), true));
        let unknown = Limits {
            shmmax: None,
            shmall_pages: None,
            shmall_bytes: None,
            shmmni: None,
            shm_rmid_forced: None,
            dev_shm: None,
            ..sample()
        };
        insta::assert_snapshot!("limits_table_unknown", table(&unknown, false));
        insta::assert_snapshot!("limits_table_busy", table(&busy(), false));
        insta::assert_snapshot!("limits_containers", containers(&busy()));
    }
}
