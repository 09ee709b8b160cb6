//! The tables of `limits`: each limit with its use, the notes below it, and with
//! `--all-namespaces` every container's /dev/shm.

use super::color::Palette;
use super::table::TableWriter;
use crate::model::{nearly_full, DevShm, IpcRisk, Limits, OtherDevShm};
use crate::units::size_cell;
use std::io::Write;

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
    // A limit on how many of something, with how many there are.
    let count = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    let counted = |name: &str, limit: Option<u64>, used: u64, meaning: String| {
        [
            name.to_string(),
            count(limit),
            used.to_string(),
            pct(used, limit),
            meaning,
        ]
    };
    let opt_size = |v: Option<u64>| v.map(|v| size_cell(v, b)).unwrap_or_else(|| "-".into());
    t.row(&counted(
        "shmmni",
        l.shmmni,
        l.segments,
        "number of System V segments".into(),
    ));
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
    t.row(&counted(
        "semmni",
        i.semmni,
        i.sem_sets,
        "number of System V semaphore sets".into(),
    ));
    t.row(&counted(
        "semmns",
        i.semmns,
        i.semaphores,
        format!(
            "semaphores in all sets together (at most {} per set)",
            count(i.semmsl)
        ),
    ));
    t.row(&counted(
        "msgmni",
        i.msgmni,
        i.msg_queues,
        format!(
            "number of System V message queues (each up to {})",
            opt_size(i.msgmnb)
        ),
    ));
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
            opt_size(i.mqueue_msgsize_max)
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
pub fn write_containers(
    out: &mut dyn Write,
    own: Option<&DevShm>,
    mounts: &[OtherDevShm],
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
        if nearly_full(m.used, m.size) {
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

/// The RemoveIPC warning, when logind would remove objects here at their owners' logout: the
/// owners by name (`user_name`), each with how many of their objects are at risk.
pub fn write_remove_ipc(
    out: &mut dyn Write,
    risk: &IpcRisk,
    user_name: &dyn Fn(u32) -> String,
    palette: &Palette,
) -> std::io::Result<()> {
    if risk.at_risk.is_empty() {
        return Ok(());
    }
    let mut owners: Vec<(u32, usize)> = Vec::new();
    for a in &risk.at_risk {
        match owners.iter_mut().find(|(u, _)| *u == a.uid) {
            Some((_, n)) => *n += 1,
            None => owners.push((a.uid, 1)),
        }
    }
    let owners: Vec<String> = owners
        .iter()
        .map(|(u, n)| format!("{} (uid {u}): {n}", user_name(*u)))
        .collect();
    let line = super::risk::remove_ipc_warning(&risk.setting, &owners.join(", "));
    writeln!(out, "\n{}", palette.warn(&line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DevShm, IpcLimits, OtherDevShm, RemoveIpc};

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
            OtherDevShm {
                name: "web\u{1b}[31m".into(),
                pid: 4242,
                size: 64 << 20,
                used: 63 << 20,
                available: 1 << 20,
            },
            OtherDevShm {
                name: "db".into(),
                pid: 4343,
                size: 1 << 30,
                used: 1 << 20,
                available: (1 << 30) - (1 << 20),
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

    #[test]
    fn remove_ipc_names_each_owner_once_with_a_count() {
        let risk = IpcRisk {
            setting: RemoveIpc {
                enabled: true,
                sys_uid_max: 999,
                source: None,
            },
            at_risk: [(1000, 1), (1001, 2), (1000, 3)]
                .into_iter()
                .map(|(uid, id)| crate::model::AtRisk {
                    kind: crate::model::Kind::Sysv,
                    id: Some(id),
                    path: None,
                    uid,
                    user: None,
                })
                .collect(),
        };
        let name = |uid: u32| format!("user{uid}");
        let mut out = Vec::new();
        write_remove_ipc(&mut out, &risk, &name, &Palette { on: false }).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("\nwarning: systemd-logind removes"),
            "{text}"
        );
        assert!(
            text.contains("objects of user1000 (uid 1000): 2, user1001 (uid 1001): 1 (uid > 999)"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 2, "{text}");

        let none = IpcRisk {
            at_risk: Vec::new(),
            ..risk
        };
        let mut out = Vec::new();
        write_remove_ipc(&mut out, &none, &name, &Palette { on: false }).unwrap();
        assert!(out.is_empty());
    }
}
