//! The node_exporter textfile-collector format (Prometheus text exposition format 0.0.4), so a
//! fleet is monitored with the Prometheus it already runs.

use crate::model::{key_string, Kind, Segment};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

/// Escape a label value: backslash, double quote and newline, as the format requires. Other
/// control and bidi characters are first spelled out (`\e`, `\x07`, …), so that no raw escape
/// byte reaches whatever displays the metrics.
pub fn escape_label(v: &str) -> String {
    let v = super::sanitize::escape(v);
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The verdict a row's aggregate counts it under: `leaked`, `in use`, `idle` or `unknown`.
fn verdict_of(seg: &Segment) -> &'static str {
    if seg.stale {
        "leaked"
    } else if !seg.attachers.is_empty() || !seg.fd_holders.is_empty() || seg.nattch.unwrap_or(0) > 0
    {
        "in use"
    } else {
        "idle"
    }
}

/// The IPC namespace label: the namespace inode of a System V object, empty otherwise.
fn ipc_ns_of(seg: &Segment) -> String {
    seg.ipc_ns.map(|n| n.to_string()).unwrap_or_default()
}

/// Per-object labels: enough to tell any two rows apart (`ipc_ns` for System V ids that repeat
/// across namespaces, dev:inode for the rest).
fn object_labels(seg: &Segment, owner: &dyn Fn(u32) -> String) -> String {
    let mut l = String::new();
    let _ = write!(l, "kind=\"{}\"", seg.kind);
    let id = match (seg.id, &seg.dev, seg.inode) {
        (Some(id), _, _) => id.to_string(),
        (None, Some(dev), Some(ino)) => format!("{dev}:{ino}"),
        _ => String::new(),
    };
    let _ = write!(l, ",id=\"{}\"", escape_label(&id));
    let _ = write!(l, ",ipc_ns=\"{}\"", ipc_ns_of(seg));
    let key = seg.known_key().map(key_string).unwrap_or_default();
    let _ = write!(l, ",key=\"{}\"", escape_label(&key));
    let who = seg.uid.map(owner).unwrap_or_default();
    let _ = write!(l, ",owner=\"{}\"", escape_label(&who));
    let path = seg.path.as_deref().unwrap_or("");
    let _ = write!(l, ",path=\"{}\"", escape_label(path));
    l
}

/// One metric family: name, help text, and how to get the value.
type Family<T> = (&'static str, &'static str, fn(&T) -> u64);

/// Totals of one group of rows.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    objects: u64,
    bytes: u64,
    stale_objects: u64,
    stale_bytes: u64,
}

impl Totals {
    fn add(&mut self, seg: &Segment) {
        self.objects += 1;
        self.bytes += seg.size;
        if seg.stale {
            self.stale_objects += 1;
            self.stale_bytes += seg.size;
        }
    }
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Facts about the machine beside the rows: /dev/shm's filesystem and the System V limits.
/// Absent values are left out of the output.
#[derive(Debug, Default, Clone)]
pub struct Machine {
    pub dev_shm_size: Option<u64>,
    pub dev_shm_used: Option<u64>,
    pub dev_shm_inodes: Option<u64>,
    pub dev_shm_inodes_used: Option<u64>,
    pub shmmax: Option<u64>,
    pub largest_segment: Option<u64>,
    pub shmall_pages: Option<u64>,
    pub used_pages: Option<u64>,
    pub shmmni: Option<u64>,
    pub segments: Option<u64>,
}

/// What to write.
pub struct Options<'a> {
    pub owner: &'a dyn Fn(u32) -> String,
    /// Processes that could not be read.
    pub hidden: usize,
    /// The kinds asked for (`--kind`); empty: the shared-memory kinds.
    pub kinds: &'a [Kind],
    /// One series per object as well as the aggregates.
    pub per_object: bool,
    pub machine: &'a Machine,
}

/// Every metric name this writes, with its help text: the man page lists them from here.
pub const METRICS: &[(&str, &str)] = &[
    ("shmtool_objects", "Shared-memory objects, by kind, owner, verdict, IPC namespace and container."),
    ("shmtool_bytes", "Bytes of shared memory, by kind, owner, verdict, IPC namespace and container."),
    ("shmtool_stale_objects", "Shared-memory objects that look leaked, by kind."),
    ("shmtool_stale_bytes", "Bytes of shared memory that look leaked, by kind."),
    ("shmtool_hidden_processes", "Processes whose mappings shmtool could not read."),
    ("shmtool_dev_shm_size_bytes", "Size of the /dev/shm filesystem in bytes."),
    ("shmtool_dev_shm_used_bytes", "Bytes used in the /dev/shm filesystem."),
    ("shmtool_dev_shm_inodes", "Inodes of the /dev/shm filesystem."),
    ("shmtool_dev_shm_inodes_used", "Inodes used in the /dev/shm filesystem."),
    ("shmtool_sysv_shmmax_bytes", "Largest System V segment allowed (kernel.shmmax), bytes."),
    ("shmtool_sysv_largest_segment_bytes", "Largest System V segment that exists, bytes."),
    ("shmtool_sysv_shmall_pages", "System V memory allowed in all (kernel.shmall), pages."),
    ("shmtool_sysv_used_pages", "Pages used by all System V segments."),
    ("shmtool_sysv_shmmni", "Most System V segments allowed (kernel.shmmni)."),
    ("shmtool_sysv_segments", "System V segments that exist."),
    ("shmtool_object_bytes", "Size of one shared-memory object in bytes (--per-object)."),
    ("shmtool_object_attachers", "Processes attached to one shared-memory object (System V: the kernel's nattch; --per-object)."),
    ("shmtool_object_stale", "1 when one shared-memory object looks leaked, else 0 (--per-object)."),
];

fn help(name: &str) -> &'static str {
    METRICS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, h)| *h)
        .unwrap_or("")
}

/// Write the metrics for these rows: aggregates always, one series per object with
/// `per_object`. No two series share a name and a label set.
pub fn write(out: &mut dyn Write, rows: &[Segment], o: &Options) -> std::io::Result<()> {
    let mut s = String::new();
    // Aggregates: (kind, owner, verdict, ipc_ns, container) -> totals. Bounded by what a
    // machine has of each, not by the objects, so the series do not churn.
    let mut groups: BTreeMap<(Kind, String, &'static str, String, String), Totals> =
        BTreeMap::new();
    let kinds: Vec<Kind> = if o.kinds.is_empty() {
        Kind::ALL.to_vec()
    } else {
        o.kinds.to_vec()
    };
    let mut per_kind: BTreeMap<Kind, Totals> =
        kinds.iter().map(|&k| (k, Totals::default())).collect();
    for seg in rows {
        let who = seg.uid.map(o.owner).unwrap_or_default();
        let container = seg.containers.join(",");
        groups
            .entry((seg.kind, who, verdict_of(seg), ipc_ns_of(seg), container))
            .or_default()
            .add(seg);
        per_kind.entry(seg.kind).or_default().add(seg);
    }
    let aggregates: [Family<Totals>; 2] = [
        ("shmtool_objects", "", |t| t.objects),
        ("shmtool_bytes", "", |t| t.bytes),
    ];
    for (name, _, value) in aggregates {
        family(&mut s, name, help(name), "gauge");
        for ((kind, who, verdict, ns, container), t) in &groups {
            let _ = writeln!(
                s,
                "{name}{{kind=\"{kind}\",owner=\"{}\",verdict=\"{verdict}\",ipc_ns=\"{ns}\",container=\"{}\"}} {}",
                escape_label(who),
                escape_label(container),
                value(t)
            );
        }
    }
    // Per kind, every kind asked for (a zero is a fact: none of that kind); kinds not asked
    // for are not reported at all.
    let stale: [Family<Totals>; 2] = [
        ("shmtool_stale_objects", "", |t| t.stale_objects),
        ("shmtool_stale_bytes", "", |t| t.stale_bytes),
    ];
    for (name, _, value) in stale {
        family(&mut s, name, help(name), "gauge");
        for (kind, t) in &per_kind {
            let _ = writeln!(s, "{name}{{kind=\"{kind}\"}} {}", value(t));
        }
    }
    let m = o.machine;
    let single = [
        ("shmtool_hidden_processes", Some(o.hidden as u64)),
        ("shmtool_dev_shm_size_bytes", m.dev_shm_size),
        ("shmtool_dev_shm_used_bytes", m.dev_shm_used),
        ("shmtool_dev_shm_inodes", m.dev_shm_inodes),
        ("shmtool_dev_shm_inodes_used", m.dev_shm_inodes_used),
        ("shmtool_sysv_shmmax_bytes", m.shmmax),
        ("shmtool_sysv_largest_segment_bytes", m.largest_segment),
        ("shmtool_sysv_shmall_pages", m.shmall_pages),
        ("shmtool_sysv_used_pages", m.used_pages),
        ("shmtool_sysv_shmmni", m.shmmni),
        ("shmtool_sysv_segments", m.segments),
    ];
    for (name, value) in single {
        if let Some(v) = value {
            family(&mut s, name, help(name), "gauge");
            let _ = writeln!(s, "{name} {v}");
        }
    }
    if o.per_object {
        let per_object: [Family<Segment>; 3] = [
            ("shmtool_object_bytes", "", |seg| seg.size),
            ("shmtool_object_attachers", "", |seg| {
                seg.nattch.unwrap_or(seg.holder_pids().len() as u64)
            }),
            ("shmtool_object_stale", "", |seg| seg.stale as u64),
        ];
        // Rows that would still share every label (hard links listed twice, say) are written
        // once: a repeated series is dropped by every scraper.
        let mut seen = std::collections::HashSet::new();
        let labelled: Vec<(&Segment, String)> = rows
            .iter()
            .map(|r| (r, object_labels(r, o.owner)))
            .filter(|(_, l)| seen.insert(l.clone()))
            .collect();
        for (name, _, value) in per_object {
            family(&mut s, name, help(name), "gauge");
            for (seg, l) in &labelled {
                let _ = writeln!(s, "{name}{{{l}}} {}", value(seg));
            }
        }
    }
    out.write_all(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape_label("a\"b\\c"), "a\\\"b\\\\c");
        // A newline is spelled `\n` by the sanitizer, and its backslash then escaped.
        assert_eq!(escape_label("x\ny"), "x\\\\ny");
        assert_eq!(escape_label("\u{1b}[31m"), "\\\\e[31m");
    }

    #[test]
    fn writes_families_and_totals() {
        let mut seg = Segment::new(Kind::Posix);
        seg.path = Some("/dev/shm/we\"ird\nname".into());
        seg.size = 100;
        seg.stale = true;
        seg.uid = Some(0);
        let mut out = Vec::new();
        let machine = Machine {
            dev_shm_size: Some(1 << 30),
            ..Machine::default()
        };
        let o = Options {
            owner: &|_| "root".into(),
            hidden: 1,
            kinds: &[],
            per_object: true,
            machine: &machine,
        };
        write(&mut out, &[seg.clone()], &o).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(
            r#"shmtool_object_bytes{kind="posix",id="",ipc_ns="",key="",owner="root",path="/dev/shm/we\"ird\\nname"} 100"#
        ));
        assert!(text.contains(
            r#"shmtool_bytes{kind="posix",owner="root",verdict="leaked",ipc_ns="",container=""} 100"#
        ));
        assert!(text.contains("shmtool_stale_bytes{kind=\"posix\"} 100"));
        assert!(text.contains("shmtool_stale_bytes{kind=\"sysv\"} 0"));
        assert!(text.contains("shmtool_hidden_processes 1"));
        assert!(text.contains("shmtool_dev_shm_size_bytes 1073741824"));
        assert!(
            !text.contains("shmtool_sysv_shmmni"),
            "absent facts are left out"
        );
        // Every sample line belongs to a declared family, and every family is in METRICS.
        let declared: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let name = l.split(['{', ' ']).next().unwrap();
            assert!(declared.contains(&name), "{l}");
        }
        for d in &declared {
            assert!(METRICS.iter().any(|(n, _)| n == d), "{d} not in METRICS");
        }
        // Without --per-object, no per-object series; with --kind sysv, no posix rows.
        let mut out = Vec::new();
        write(
            &mut out,
            &[],
            &Options {
                per_object: false,
                kinds: &[Kind::Sysv],
                ..o
            },
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("shmtool_object_"), "{text}");
        assert!(!text.contains("kind=\"posix\""), "{text}");
        assert!(
            text.contains("shmtool_stale_objects{kind=\"sysv\"} 0"),
            "{text}"
        );
    }
}
