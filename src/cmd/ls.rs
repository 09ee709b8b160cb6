//! `shmtool ls`: every shared-memory object with the processes attached to it.

use super::scope::Scope;
use super::{note, Ctx, Run};
use crate::cli::{IpcArg, KindArg, LsArgs, LsFormat, SortKey};
use crate::error::Error;
use crate::model::{Kind, Segment, Verdict};
use crate::render::segments::{self, View};
use crate::render::table::Style;
use crate::source::inventory::{Inventory, Options};
use crate::source::users::Users;
use std::io::Write;

impl From<KindArg> for Kind {
    fn from(k: KindArg) -> Kind {
        match k {
            KindArg::Sysv => Kind::Sysv,
            KindArg::Posix => Kind::Posix,
            KindArg::Memfd => Kind::Memfd,
            KindArg::Anon => Kind::Anon,
            KindArg::File => Kind::File,
            KindArg::Deleted => Kind::Deleted,
            KindArg::Psem => Kind::Psem,
            KindArg::Sem => Kind::Sem,
            KindArg::Msg => Kind::Msg,
            KindArg::Mqueue => Kind::Mqueue,
        }
    }
}

/// Say once what the listing could not see.
pub fn report_hidden(inv: &Inventory) {
    if inv.hidden_procs > 0 {
        let hint = super::unless_root(" (run as root to see every process)");
        // Name the first few, with their command names (comm is readable when maps is not).
        const NAMED: usize = 3;
        let mut who: Vec<String> = inv
            .hidden_pids
            .iter()
            .take(NAMED)
            .map(|pid| {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                match comm.trim_end() {
                    "" => pid.to_string(),
                    c => format!("{pid} ({c})"),
                }
            })
            .collect();
        if inv.hidden_procs > NAMED {
            who.push(format!("and {} more", inv.hidden_procs - NAMED));
        }
        let who = if who.is_empty() {
            String::new()
        } else {
            format!(": {}", who.join(", "))
        };
        note(&format!(
            "{} process(es) could not be read (permission denied on /proc/PID/maps or fd){who}; their attachments are not shown{hint}",
            inv.hidden_procs
        ));
    }
    if inv.unreadable_namespaces > 0 {
        note(&format!(
            "{} namespace(s) could not be joined or looked into{}",
            inv.unreadable_namespaces,
            super::unless_root(" (run as root)")
        ));
    }
    if let Some(why) = &inv.shm_dir_unlisted {
        note(&format!("POSIX objects not listed: {why}"));
    }
    if inv.other_mount_objects > 0 {
        note(&format!(
            "{} object(s) in other mount namespaces' /dev/shm not listed here (see --all-namespaces, --ns PID)",
            inv.other_mount_objects
        ));
    }
    if !inv.foreign_ns_pids.is_empty() {
        note(&format!(
            "{} process(es) in other IPC namespaces map System V segments not listed here (see --all-namespaces, --ns PID)",
            inv.foreign_ns_pids.len()
        ));
    }
}

/// Seconds since the epoch now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Sort rows in place by `key`. The order is found on indices and then applied by swapping, so
/// no copy of the rows is made (a stable sort of the rows themselves would borrow a buffer of
/// half of them: tens of MiB at 200,000 rows).
fn sort_rows(rows: &mut [Segment], key: SortKey, users: &Users) {
    // Ties fall back to kind, then id, then path, so the order is stable run to run.
    let base = |a: &Segment, b: &Segment| {
        (a.kind, a.id, &a.path, a.inode).cmp(&(b.kind, b.id, &b.path, b.inode))
    };
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&rows[a as usize], &rows[b as usize]);
        let primary = match key {
            SortKey::Kind | SortKey::Id => std::cmp::Ordering::Equal,
            SortKey::Key => a.known_key().cmp(&b.known_key()),
            SortKey::Size => b.size.cmp(&a.size),
            SortKey::Rss => b.rss.cmp(&a.rss),
            SortKey::Owner => a
                .uid
                .map(|u| users.name(u))
                .cmp(&b.uid.map(|u| users.name(u))),
            SortKey::Attachers => b.holder_pids().len().cmp(&a.holder_pids().len()),
            SortKey::Age => a.ctime.cmp(&b.ctime),
            SortKey::Path => a.path.cmp(&b.path),
        };
        let primary = if key == SortKey::Id {
            a.id.is_none().cmp(&b.id.is_none()).then(a.id.cmp(&b.id))
        } else {
            primary
        };
        primary.then_with(|| base(a, b))
    });
    apply_order(rows, order);
}

/// Put `rows[order[i]]` at position `i` for every `i`, one cycle of the permutation at a time.
fn apply_order<T>(rows: &mut [T], mut order: Vec<u32>) {
    for start in 0..order.len() {
        let mut i = start;
        // order[i] == i marks a position already settled.
        while order[i] as usize != i {
            let from = order[i] as usize;
            order[i] = i as u32;
            if from == start {
                break;
            }
            rows.swap(i, from);
            i = from;
        }
    }
}

impl Run for LsArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        super::set_quiet(self.quiet);
        if self.table.list_columns {
            return list_columns(out);
        }
        if let Some(spec) = &self.table.output {
            // A column that does not exist is a usage error (exit 2), as clap's are, found
            // before the scan.
            if let Err(e) = segments::check_columns(spec) {
                eprintln!(
                    "shmtool: error: {} (try 'shmtool --help')",
                    crate::text::escape(&e)
                );
                return Err(crate::error::Exit(2).into());
            }
        }
        let mut verdicts: Vec<Verdict> = self.verdict.iter().map(|&v| v.into()).collect();
        if self.stale {
            verdicts.push(Verdict::Leaked);
        }
        if self.idle {
            verdicts.push(Verdict::Idle);
        }
        let scope = Scope::new(self.user.as_deref(), &self.kind, &self.scope, verdicts)?;
        // A pid that names no process is a mistake, not an empty answer.
        for &pid in &self.pid {
            if pid <= 0 || !ctx.sys.pid_path(pid, "").exists() {
                return Err(Error::NoSuchProcess(pid).into());
            }
        }
        let mut sys = ctx.sys.clone();
        sys.all_ipc_namespaces = self.all_namespaces;
        let kinds: Vec<Kind> = self.kind.iter().map(|&k| k.into()).collect();
        // Semaphores and message queues only when asked for: `ls` is about shared memory.
        let messaging = self.ipc == IpcArg::All || kinds.iter().any(|k| k.is_messaging());
        let inv = super::gather(
            &sys,
            Options {
                include_readonly_files: self.all,
                exact_memfds: false,
                messaging,
            },
        )?;
        report_hidden(&inv);
        if messaging && !sys.has_mqueue_fs() {
            note(&format!(
                "POSIX message queues not listed: no mqueue filesystem at {} (mount -t mqueue none {0})",
                sys.mqueue_dir.display()
            ));
        }
        let inv_hidden = inv.hidden_procs;
        let now = now();
        let mounts = inv.mounts.clone();
        let mut rows: Vec<Segment> = inv
            .segments
            .into_iter()
            .filter(|s| scope.matches(&sys, s, now))
            .filter(|s| self.pid.is_empty() || s.holder_pids().iter().any(|p| self.pid.contains(p)))
            .collect();
        let users = Users::default();
        sort_rows(&mut rows, self.sort, &users);
        if self.reverse {
            rows.reverse();
        }
        let owner = |u: u32| users.name(u);
        if self.out.json || self.format == LsFormat::Json {
            let named = |u: u32| users.known_name(u);
            return crate::render::write_json(out, &crate::render::json::segments(&rows, &named));
        }
        if self.format == LsFormat::Prometheus {
            let machine = machine_facts(ctx);
            let o = crate::render::prometheus::Options {
                owner: &owner,
                hidden: inv_hidden,
                kinds: &kinds,
                per_object: self.per_object,
                machine: &machine,
            };
            crate::render::prometheus::write(out, &rows, &o)?;
            return Ok(());
        }
        let view = View {
            color: ctx.color,
            exact_bytes: self.out.bytes,
            now,
            owner: &owner,
            namespaces: self.all_namespaces,
            reasons: !scope.verdicts.is_empty(),
            programs: self.programs,
        };
        let (cols, chosen) = segments::ls_columns_for(self.table.output.as_deref(), &view, &rows)
            .map_err(Error::BadInput)?;
        let style = Style {
            color: ctx.color && !self.table.raw,
            headings: !self.table.noheadings,
            raw: self.table.raw,
            width: crate::render::table::width(),
            may_drop: !chosen,
        };
        segments::write_table_with(out, &rows, &view, &cols, &style)?;
        // Each container's own /dev/shm, once: how big and how full.
        for m in &mounts {
            writeln!(
                out,
                "/dev/shm of {}: {} of {} used ({:.1}%)",
                crate::text::escape(&m.name),
                crate::units::size_cell(m.used, self.out.bytes),
                crate::units::size_cell(m.size, self.out.bytes),
                if m.size > 0 {
                    m.used as f64 * 100.0 / m.size as f64
                } else {
                    0.0
                }
            )?;
        }
        Ok(())
    }
}

/// /dev/shm's filesystem and the System V limits, for the metrics (no second scan).
fn machine_facts(ctx: &Ctx) -> crate::render::prometheus::Machine {
    let Ok(l) = crate::source::limits::gather(&ctx.sys, false) else {
        return Default::default();
    };
    let d = l.dev_shm.as_ref();
    crate::render::prometheus::Machine {
        dev_shm_size: d.map(|d| d.size),
        dev_shm_used: d.map(|d| d.used),
        dev_shm_inodes: d.map(|d| d.inodes),
        dev_shm_inodes_used: d.map(|d| d.inodes_used),
        shmmax: l.shmmax,
        largest_segment: Some(l.largest_segment),
        shmall_pages: l.shmall_pages,
        used_pages: Some(l.used_pages),
        shmmni: l.shmmni,
        segments: Some(l.segments),
    }
}

/// `ls --list-columns`: every column's name and what it shows; the default ones marked.
fn list_columns(out: &mut dyn Write) -> anyhow::Result<()> {
    for c in segments::LS_COLUMNS {
        let default = if segments::LS_DEFAULT.contains(&c.name) {
            "*"
        } else {
            " "
        };
        writeln!(out, "{:<9}{default} {}", c.name, c.about)?;
    }
    writeln!(
        out,
        "\n* shown by default; IPCNS is added by --all-namespaces, WHY by --stale, --idle and --verdict, PROGRAM by --programs"
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn order_is_applied_in_place() {
        let mut rows = vec!['a', 'b', 'c', 'd', 'e', 'f'];
        super::apply_order(&mut rows, vec![3, 0, 4, 1, 2, 5]);
        assert_eq!(rows, ['d', 'a', 'e', 'b', 'c', 'f']);
        let mut rows = vec![1, 2, 3];
        super::apply_order(&mut rows, vec![2, 1, 0]);
        assert_eq!(rows, [3, 2, 1]);
    }
}
