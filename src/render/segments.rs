//! How shared-memory objects look: the `ls` table and the `show` page.

use super::table::{write_streamed, ColumnSpec, Style, TableWriter, Tone, Trunc};
use crate::model::{hex_addr, key_string, CtimeSource, Kind, Segment, Verdict};
use crate::units::{human_age, local_time, size_cell};
use std::io::Write;

/// Things a renderer needs that are not in the rows themselves.
pub struct View<'a> {
    pub color: bool,
    pub exact_bytes: bool,
    /// Seconds since the epoch, for ages.
    pub now: i64,
    /// uid → user name.
    pub owner: &'a dyn Fn(u32) -> String,
    /// Show each System V segment's IPC namespace.
    pub namespaces: bool,
    /// Add a WHY column: the reason for each row's verdict.
    pub reasons: bool,
    /// Add a PROGRAM column: the well-known program each object belongs to.
    pub programs: bool,
}

/// At most this many attachers are named in an `ls` cell; the rest are counted.
const ATTACHERS_SHOWN: usize = 3;

/// The ATTACHED cell, appended to `buf` (most rows have no holder: nothing is allocated).
fn attached_into(seg: &Segment, buf: &mut String) {
    let pids = seg.holder_pids();
    if pids.is_empty() {
        // The kernel counts attachments we could not see (other users' processes, unprivileged).
        return buf.push_str(match seg.nattch {
            Some(n) if n > 0 => "(not visible)",
            _ => "-",
        });
    }
    let mut parts: Vec<String> = pids
        .iter()
        .take(ATTACHERS_SHOWN)
        .map(|pid| {
            let mapping = seg.attachers.iter().find(|a| a.pid == *pid);
            let comm = mapping
                .map(|a| a.comm.as_str())
                .or_else(|| {
                    seg.fd_holders
                        .iter()
                        .find(|h| h.pid == *pid)
                        .map(|h| h.comm.as_str())
                })
                .unwrap_or("?");
            // A star marks a process in another IPC namespace than the one listed.
            let other = seg
                .attachers
                .iter()
                .any(|a| a.pid == *pid && a.other_ipc_ns);
            // "[fd]": holds it open without mapping it.
            let fd_only = if mapping.is_none() { "[fd]" } else { "" };
            format!("{pid}({comm}){fd_only}{}", if other { "*" } else { "" })
        })
        .collect();
    if pids.len() > ATTACHERS_SHOWN {
        parts.push(format!("+{} more", pids.len() - ATTACHERS_SHOWN));
    }
    buf.push_str(&parts.join(" "));
}

fn container_cell(seg: &Segment) -> String {
    match seg.containers.len() {
        0 => "-".into(),
        1..=2 => seg.containers.join(" "),
        n => format!("{} +{} more", seg.containers[..2].join(" "), n - 2),
    }
}

/// The word(s) in the STATE column: the verdict, then the kernel's status words; and their tone.
fn state_cell(seg: &Segment) -> (String, Tone) {
    let mut words = String::new();
    let tone = state_into(seg, &mut words);
    (words, tone)
}

/// [`state_cell`], appended to `buf`.
fn state_into(seg: &Segment, buf: &mut String) -> Tone {
    buf.push_str(seg.verdict.as_str());
    for s in &seg.status {
        buf.push(',');
        buf.push_str(s.as_str());
    }
    match seg.verdict {
        Verdict::Leaked => Tone::Bad,
        Verdict::Idle | Verdict::Unknown => Tone::Warn,
        Verdict::InUse if seg.status.is_empty() => Tone::Plain,
        Verdict::InUse => Tone::Warn,
    }
}

/// The WHY cell: who keeps a removed segment, or the reason for the verdict.
fn why_cell(seg: &Segment) -> String {
    match &seg.note {
        Some(n) if seg.is_dest() => n.clone(),
        _ => super::verdict::reason(seg),
    }
}

/// A name for the NAME column: path, memfd name, or the key a removed segment was made with.
pub fn name_cell(seg: &Segment) -> String {
    let mut name = String::new();
    name_into(seg, &mut name);
    name
}

/// [`name_cell`], appended to `buf`.
fn name_into(seg: &Segment, buf: &mut String) {
    use std::fmt::Write as _;
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let counted = seg
        .ipc
        .as_ref()
        .and_then(|ipc| match (ipc.nsems, ipc.messages) {
            (Some(n), _) => Some((n, "semaphore")),
            (_, Some(n)) if seg.path.is_none() => Some((n, "message")),
            _ => None,
        });
    let _ = match (counted, &seg.path, &seg.former_key) {
        (Some((n, what)), _, _) => write!(buf, "({n} {what}{})", plural(n)),
        // Hard links: one object, its first name and how many more it has.
        (None, Some(p), _) if seg.names.len() > 1 => write!(buf, "{p} +{}", seg.names.len() - 1),
        (None, Some(p), _) => buf.write_str(p),
        (None, None, Some(k)) => write!(buf, "(was {})", key_string(*k)),
        (None, None, None) => buf.write_str("-"),
    };
}

fn nattch_into(seg: &Segment, buf: &mut String) {
    use std::fmt::Write as _;
    let n = match seg.nattch {
        Some(n) => n,
        None => seg.holder_pids().len() as u64,
    };
    let _ = write!(buf, "{n}");
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// One column `ls` can show (`-o`, `--list-columns`).
pub struct LsColumn {
    /// Its name for `-o` and its header.
    pub name: &'static str,
    /// One line for `--list-columns` and the man page.
    pub about: &'static str,
    pub spec: ColumnSpec,
    /// Append the cell's raw text for a row; return its tone.
    pub cell: fn(&Segment, &View, &mut String) -> Tone,
}

const fn col(
    name: &'static str,
    right: bool,
    trunc: Trunc,
    drop: u8,
    about: &'static str,
    cell: fn(&Segment, &View, &mut String) -> Tone,
) -> LsColumn {
    LsColumn {
        name,
        about,
        spec: ColumnSpec::new(name, right, trunc, drop),
        cell,
    }
}

fn put<T: std::fmt::Display>(buf: &mut String, v: Option<T>) -> Tone {
    use std::fmt::Write as _;
    match v {
        Some(v) => {
            let _ = write!(buf, "{v}");
        }
        None => buf.push('-'),
    }
    Tone::Plain
}

/// Every column of the `ls` table, in the order `--list-columns` prints them.
pub const LS_COLUMNS: &[LsColumn] = &[
    col(
        "KIND",
        false,
        Trunc::Never,
        0,
        "kind of object: sysv, posix, memfd, anon, file, deleted, sem, msg, mqueue",
        |s, _, b| {
            b.push_str(s.kind.as_str());
            Tone::Plain
        },
    ),
    col(
        "IPCNS",
        true,
        Trunc::Never,
        0,
        "IPC namespace (inode) of a System V segment",
        |s, _, b| put(b, s.ipc_ns),
    ),
    col("ID", true, Trunc::Never, 0, "System V shmid", |s, _, b| {
        put(b, s.id)
    }),
    col(
        "KEY",
        false,
        Trunc::Never,
        2,
        "System V key as the kernel reports it now",
        |s, _, b| put(b, s.key.map(key_string)),
    ),
    col(
        "SIZE",
        true,
        Trunc::Never,
        0,
        "size (binary units, or bytes with --bytes)",
        |s, v, b| {
            b.push_str(&size_cell(s.size, v.exact_bytes));
            Tone::Plain
        },
    ),
    col("RSS", true, Trunc::Never, 0, "resident bytes", |s, v, b| {
        put(b, s.rss.map(|r| size_cell(r, v.exact_bytes)))
    }),
    col(
        "SWAP",
        true,
        Trunc::Never,
        0,
        "swapped-out bytes",
        |s, v, b| put(b, s.swap.map(|r| size_cell(r, v.exact_bytes))),
    ),
    col(
        "OWNER",
        false,
        Trunc::End,
        3,
        "owner's user name",
        |s, v, b| put(b, s.uid.map(v.owner)),
    ),
    col("UID", true, Trunc::Never, 0, "owner's uid", |s, _, b| {
        put(b, s.uid)
    }),
    col(
        "PERMS",
        false,
        Trunc::Never,
        6,
        "octal permissions, as ipcs prints them",
        |s, _, b| put(b, s.perms.as_ref()),
    ),
    col(
        "NATTCH",
        true,
        Trunc::Never,
        5,
        "attach count (System V: the kernel's; others: processes seen)",
        |s, _, b| {
            nattch_into(s, b);
            Tone::Plain
        },
    ),
    col(
        "CPID",
        true,
        Trunc::Never,
        0,
        "creator pid (System V)",
        |s, _, b| put(b, s.cpid),
    ),
    col(
        "LPID",
        true,
        Trunc::Never,
        0,
        "last attach/detach pid (System V)",
        |s, _, b| put(b, s.lpid),
    ),
    col(
        "ATTACHED",
        false,
        Trunc::End,
        0,
        "attaching processes as PID(COMMAND), * in another IPC namespace",
        |s, _, b| {
            attached_into(s, b);
            Tone::Plain
        },
    ),
    col(
        "AGE",
        true,
        Trunc::Never,
        4,
        "time since creation or last change",
        |s, v, b| put(b, s.ctime.map(|t| human_age(v.now - t))),
    ),
    col(
        "STATE",
        false,
        Trunc::End,
        0,
        "verdict (in use, idle, leaked, unknown), then dest (marked for removal), locked",
        |s, _, b| state_into(s, b),
    ),
    col(
        "INODE",
        true,
        Trunc::Never,
        0,
        "inode that identifies the object in maps",
        |s, _, b| put(b, s.inode),
    ),
    col(
        "CONTAINER",
        false,
        Trunc::End,
        0,
        "containers of the processes that map or hold it",
        |s, _, b| {
            b.push_str(&container_cell(s));
            Tone::Plain
        },
    ),
    col(
        "NAME",
        false,
        Trunc::Middle,
        0,
        "path, POSIX name, memfd name, or the key a removed segment had",
        |s, _, b| {
            name_into(s, b);
            Tone::Plain
        },
    ),
    col(
        "WHY",
        false,
        Trunc::End,
        0,
        "the reason for the verdict, or who keeps a removed segment",
        |s, _, b| {
            b.push_str(&why_cell(s));
            Tone::Plain
        },
    ),
    col(
        "PROGRAM",
        false,
        Trunc::End,
        0,
        "the well-known program a /dev/shm object belongs to (see the README's owners table)",
        |s, _, b| put(b, s.evidence.owner_program.as_ref()),
    ),
];

/// The columns `ls` shows without `-o`.
pub const LS_DEFAULT: &[&str] = &[
    "KIND", "ID", "KEY", "SIZE", "RSS", "OWNER", "PERMS", "NATTCH", "ATTACHED", "AGE", "STATE",
    "NAME",
];

/// The column with this name (any case).
pub fn ls_column(name: &str) -> Option<&'static LsColumn> {
    LS_COLUMNS
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The default columns, with IPCNS after KIND for `--all-namespaces`, CONTAINER before NAME
/// when some holder runs in a container, and WHY for `--stale`.
pub fn ls_default_columns(view: &View, rows: &[Segment]) -> Vec<&'static LsColumn> {
    let mut names: Vec<&str> = LS_DEFAULT.to_vec();
    if view.namespaces {
        names.insert(1, "IPCNS");
    }
    // Only when some holder runs in a container: on a host without any, the column is noise.
    if rows.iter().any(|s| !s.containers.is_empty()) {
        names.insert(names.len() - 1, "CONTAINER");
    }
    if view.programs {
        names.push("PROGRAM");
    }
    if view.reasons {
        names.push("WHY");
    }
    names.into_iter().filter_map(ls_column).collect()
}

/// Whether `-o SPEC` names only columns that exist, and at least one.
pub fn check_columns(spec: &str) -> Result<(), String> {
    let list = spec.strip_prefix('+').unwrap_or(spec);
    let mut any = false;
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if ls_column(name).is_none() {
            return Err(format!(
                "unknown column {name:?} (shmtool ls --list-columns lists them)"
            ));
        }
        any = true;
    }
    if !any {
        return Err(format!("no column named in {spec:?}"));
    }
    Ok(())
}

/// The columns `-o SPEC` asks for: `A,B` replaces the defaults, `+A,B` adds to them. Returns
/// the columns and whether they were chosen by the user (then none is left out to fit).
pub fn ls_columns_for(
    spec: Option<&str>,
    view: &View,
    rows: &[Segment],
) -> Result<(Vec<&'static LsColumn>, bool), String> {
    let Some(spec) = spec else {
        return Ok((ls_default_columns(view, rows), false));
    };
    let (mut cols, list) = match spec.strip_prefix('+') {
        Some(rest) => (ls_default_columns(view, rows), rest),
        None => (Vec::new(), spec),
    };
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let c = ls_column(name)
            .ok_or_else(|| format!("unknown column {name:?} (see shmtool ls --list-columns)"))?;
        if !cols.iter().any(|x| std::ptr::eq(*x, c)) {
            cols.push(c);
        }
    }
    if cols.is_empty() {
        return Err(format!("no columns in {spec:?}"));
    }
    Ok((cols, !spec.starts_with('+')))
}

/// The `ls` table with its default columns, fitted to the terminal.
pub fn write_table(out: &mut dyn Write, rows: &[Segment], view: &View) -> std::io::Result<()> {
    let cols = ls_default_columns(view, rows);
    let style = Style {
        may_drop: true,
        ..Style::new(view.color)
    };
    write_table_with(out, rows, view, &cols, &style)
}

/// The `ls` table with these columns, written in two passes without holding any cell.
pub fn write_table_with(
    out: &mut dyn Write,
    rows: &[Segment],
    view: &View,
    cols: &[&LsColumn],
    style: &Style,
) -> std::io::Result<()> {
    let specs: Vec<ColumnSpec> = cols.iter().map(|c| c.spec).collect();
    write_streamed(out, &specs, rows, style, |seg, i, buf| {
        (cols[i].cell)(seg, view, buf)
    })?;
    let attached = cols.iter().any(|c| c.name == "ATTACHED");
    if attached
        && !style.raw
        && rows
            .iter()
            .any(|s| s.attachers.iter().any(|a| a.other_ipc_ns))
    {
        writeln!(out, "* process in another IPC namespace")?;
    }
    Ok(())
}

/// The `show` page: every field, then every attacher.
pub fn write_detail(out: &mut dyn Write, seg: &Segment, view: &View) -> std::io::Result<()> {
    let mut fields = TableWriter::new(&[("FIELD", false), ("VALUE", false)], false).unlimited();
    let size = |b: Option<u64>| {
        b.map(|b| {
            if view.exact_bytes {
                b.to_string()
            } else {
                format!("{} ({b} bytes)", crate::units::human_size(b))
            }
        })
        .unwrap_or_else(|| "-".into())
    };
    let time = |t: Option<i64>| t.map(local_time).unwrap_or_else(|| "never".into());
    let mut add = |k: &str, v: String| fields.row(&[k.to_string(), v]);
    add("kind", seg.kind.to_string());
    if seg.kind == Kind::Sysv {
        add("shmid", opt(seg.id));
        add("key", opt(seg.key.map(key_string)));
        if let Some(k) = seg.former_key {
            add("former key", key_string(k));
        }
    }
    if matches!(seg.kind, Kind::Sem | Kind::Msg) {
        add(
            if seg.kind == Kind::Sem {
                "semid"
            } else {
                "msqid"
            },
            opt(seg.id),
        );
        add("key", opt(seg.key.as_ref()));
    }
    if let Some(p) = &seg.path {
        add("path", p.clone());
    }
    if seg.names.len() > 1 {
        add("names", seg.names.join(", "));
    }
    if let Some(ipc) = &seg.ipc {
        if let Some(n) = ipc.nsems {
            add("semaphores", n.to_string());
        }
        if let Some(n) = ipc.messages {
            add("messages", n.to_string());
        }
        if let Some(p) = ipc.last_send_pid {
            add("last sender", p.to_string());
        }
        if let Some(p) = ipc.last_recv_pid {
            add("last receiver", p.to_string());
        }
        if let Some(p) = ipc.notify_pid.filter(|&p| p > 0) {
            add("notify pid", p.to_string());
        }
    }
    add("size", size(Some(seg.size)));
    add(
        "owner",
        match seg.uid {
            Some(u) => format!("{} ({u})", (view.owner)(u)),
            None => "-".into(),
        },
    );
    if let Some(g) = seg.gid {
        add("gid", g.to_string());
    }
    add("perms", opt(seg.perms.as_ref()));
    if seg.kind == Kind::Sysv {
        add("nattch", opt(seg.nattch));
        add("cpid", opt(seg.cpid));
        add("lpid", opt(seg.lpid));
        add("attached", time(seg.atime));
        add("detached", time(seg.dtime));
        add("changed", time(seg.ctime));
    } else if matches!(seg.kind, Kind::Sem | Kind::Msg) {
        let (a, d) = if seg.kind == Kind::Sem {
            ("last operation", None)
        } else {
            ("last send", Some("last receive"))
        };
        add(a, time(seg.atime));
        if let Some(d) = d {
            add(d, time(seg.dtime));
        }
        add("changed", time(seg.ctime));
    } else if let Some(t) = seg.ctime {
        match seg.ctime_source {
            Some(CtimeSource::Mtime) => add(
                "modified",
                format!("{} (no birth time kept)", local_time(t)),
            ),
            Some(CtimeSource::IpcCtime) => add("changed", local_time(t)),
            _ => add("created", local_time(t)),
        }
    }
    add("resident", size(seg.rss));
    if seg.swap.is_some() {
        add("swapped", size(seg.swap));
    }
    if let (Some(d), Some(i)) = (&seg.dev, seg.inode) {
        add("device:inode", format!("{d}:{i}"));
    }
    let (state, _) = state_cell(seg);
    add("verdict", state);
    add("why", super::verdict::reason(seg));
    if let Some(p) = &seg.evidence.owner_program {
        add("program", p.clone());
    }
    if !seg.evidence.unreadable.is_empty() {
        add(
            "could not read",
            seg.evidence
                .unreadable
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if let Some(n) = &seg.note {
        add("note", n.clone());
    }
    // The field table has no header: it is a list of labelled values.
    let mut buf = Vec::new();
    fields.write(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    for line in text.lines().skip(1) {
        writeln!(out, "{line}")?;
    }
    writeln!(out)?;
    let with_containers = seg
        .attachers
        .iter()
        .map(|a| &a.container)
        .chain(seg.fd_holders.iter().map(|h| &h.container))
        .any(|c| c.is_some());
    if !seg.fd_holders.is_empty() {
        let mut headers = vec![("PID", true), ("COMMAND", false), ("FD", true)];
        if with_containers {
            headers.push(("CONTAINER", false));
        }
        let mut t = TableWriter::new(&headers, view.color);
        for h in &seg.fd_holders {
            let mut cells = vec![h.pid.to_string(), h.comm.clone(), h.fd.to_string()];
            if with_containers {
                cells.push(opt(h.container.as_ref()));
            }
            t.row(&cells);
        }
        writeln!(out, "open by:")?;
        t.write(out)?;
        writeln!(out)?;
    }
    if seg.attachers.is_empty() {
        writeln!(out, "no process maps it")?;
        return Ok(());
    }
    let mut headers = vec![
        ("PID", true),
        ("COMMAND", false),
        ("START", false),
        ("END", false),
        ("SIZE", true),
        ("PERMS", false),
        ("OFFSET", true),
    ];
    if with_containers {
        headers.push(("CONTAINER", false));
    }
    let mut t = TableWriter::new(&headers, view.color);
    for a in &seg.attachers {
        let len = a.end.saturating_sub(a.start);
        let mut cells = vec![
            a.pid.to_string(),
            a.comm.clone(),
            hex_addr(a.start),
            hex_addr(a.end),
            size_cell(len, view.exact_bytes),
            a.perms.clone(),
            format!("0x{:x}", a.offset),
        ];
        if with_containers {
            cells.push(opt(a.container.as_ref()));
        }
        t.row(&cells);
    }
    t.write(out)
}

#[cfg(test)]
mod snapshots {
    use super::*;
    use crate::model::{Attacher, Mode, Status};

    fn rows() -> Vec<Segment> {
        let mut sysv = Segment::new(Kind::Sysv);
        sysv.id = Some(32822);
        sysv.key = Some(0x6f20d677);
        sysv.size = 65536;
        sysv.uid = Some(0);
        sysv.perms = Some(Mode(0o644));
        sysv.nattch = Some(2);
        sysv.ctime = Some(1_000_000 - 7200);
        for (pid, comm) in [(4242, "writer"), (4250, "reader")] {
            sysv.attachers.push(Attacher {
                pid,
                comm: comm.into(),
                start: 0x7f0000000000,
                end: 0x7f0000010000,
                perms: "rw-s".into(),
                offset: 0,
                other_ipc_ns: pid == 4250,
                container: None,
            });
        }
        let mut dest = Segment::new(Kind::Sysv);
        dest.id = Some(7);
        dest.key = Some(0);
        dest.former_key = Some(0x51570001);
        dest.size = 4096;
        dest.uid = Some(1000);
        dest.perms = Some(Mode(0o600));
        dest.nattch = Some(1);
        dest.status = vec![Status::Dest];
        let mut posix = Segment::new(Kind::Posix);
        posix.path = Some("/dev/shm/psm_\u{1b}[31mred".into());
        posix.size = 1 << 20;
        posix.uid = Some(1000);
        posix.perms = Some(Mode(0o600));
        posix.ctime = Some(1_000_000 - 30);
        posix.stale = true;
        posix.verdict = Verdict::Leaked;
        posix.evidence.rule = crate::model::Rule::NoHolder;
        sysv.verdict = Verdict::InUse;
        sysv.evidence.rule = crate::model::Rule::Mapped;
        sysv.evidence.holders = vec![4242, 4250];
        dest.verdict = Verdict::InUse;
        dest.evidence.rule = crate::model::Rule::MarkedForRemoval;
        vec![sysv, dest, posix]
    }

    fn render(namespaces: bool, reasons: bool, exact_bytes: bool) -> String {
        let owner = |u: u32| if u == 0 { "root".into() } else { u.to_string() };
        let view = View {
            color: false,
            exact_bytes,
            now: 1_000_000,
            owner: &owner,
            namespaces,
            reasons,
            programs: false,
        };
        let mut out = Vec::new();
        write_table(&mut out, &rows(), &view).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ls_table() {
        insta::assert_snapshot!(render(false, false, false));
    }

    #[test]
    fn ls_table_stale_with_bytes() {
        insta::assert_snapshot!(render(false, true, true));
    }

    #[test]
    fn show_page() {
        let owner = |u: u32| if u == 0 { "root".into() } else { u.to_string() };
        let view = View {
            color: false,
            exact_bytes: false,
            now: 1_000_000,
            owner: &owner,
            namespaces: false,
            reasons: false,
            programs: false,
        };
        let mut out = Vec::new();
        let mut seg = rows().remove(0);
        seg.atime = None;
        seg.dtime = None;
        seg.ctime = None;
        write_detail(&mut out, &seg, &view).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
