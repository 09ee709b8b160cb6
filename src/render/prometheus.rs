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

fn labels(seg: &Segment, owner: &dyn Fn(u32) -> String) -> String {
    let mut l = String::new();
    let _ = write!(l, "kind=\"{}\"", seg.kind);
    let id = match (seg.id, &seg.dev, seg.inode) {
        (Some(id), _, _) => id.to_string(),
        (None, Some(dev), Some(ino)) => format!("{dev}:{ino}"),
        _ => String::new(),
    };
    let _ = write!(l, ",id=\"{}\"", escape_label(&id));
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

/// Per-kind totals.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    objects: u64,
    bytes: u64,
    stale_objects: u64,
    stale_bytes: u64,
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Write every metric for these rows. `hidden` is how many processes could not be read.
pub fn write(
    out: &mut dyn Write,
    rows: &[Segment],
    owner: &dyn Fn(u32) -> String,
    hidden: usize,
) -> std::io::Result<()> {
    let mut s = String::new();
    let per_object: [Family<Segment>; 3] = [
        (
            "shmtool_object_bytes",
            "Size of a shared-memory object in bytes.",
            |seg| seg.size,
        ),
        (
            "shmtool_object_attachers",
            "Processes attached to a shared-memory object (System V: the kernel's nattch).",
            |seg| seg.nattch.unwrap_or(seg.holder_pids().len() as u64),
        ),
        (
            "shmtool_object_stale",
            "1 when a shared-memory object looks leaked, else 0.",
            |seg| seg.stale as u64,
        ),
    ];
    let label_sets: Vec<String> = rows.iter().map(|r| labels(r, owner)).collect();
    for (name, help, value) in per_object {
        family(&mut s, name, help, "gauge");
        for (seg, l) in rows.iter().zip(&label_sets) {
            let _ = writeln!(s, "{name}{{{l}}} {}", value(seg));
        }
    }
    let mut per_kind: BTreeMap<Kind, Totals> =
        Kind::ALL.iter().map(|&k| (k, Totals::default())).collect();
    for seg in rows {
        let e = per_kind.entry(seg.kind).or_default();
        e.objects += 1;
        e.bytes += seg.size;
        if seg.stale {
            e.stale_objects += 1;
            e.stale_bytes += seg.size;
        }
    }
    let totals: [Family<Totals>; 4] = [
        ("shmtool_objects", "Shared-memory objects by kind.", |t| {
            t.objects
        }),
        ("shmtool_bytes", "Bytes of shared memory by kind.", |t| {
            t.bytes
        }),
        (
            "shmtool_stale_objects",
            "Shared-memory objects that look leaked, by kind.",
            |t| t.stale_objects,
        ),
        (
            "shmtool_stale_bytes",
            "Bytes of shared memory that look leaked, by kind.",
            |t| t.stale_bytes,
        ),
    ];
    for (name, help, value) in totals {
        family(&mut s, name, help, "gauge");
        for (kind, t) in &per_kind {
            let _ = writeln!(s, "{name}{{kind=\"{kind}\"}} {}", value(t));
        }
    }
    family(
        &mut s,
        "shmtool_hidden_processes",
        "Processes whose mappings shmtool could not read.",
        "gauge",
    );
    let _ = writeln!(s, "shmtool_hidden_processes {hidden}");
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
        write(&mut out, &[seg], &|_| "root".into(), 1).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(
            r#"shmtool_object_bytes{kind="posix",id="",key="",owner="root",path="/dev/shm/we\"ird\\nname"} 100"#
        ));
        assert!(text.contains("shmtool_stale_bytes{kind=\"posix\"} 100"));
        assert!(text.contains("shmtool_stale_bytes{kind=\"sysv\"} 0"));
        assert!(text.contains("shmtool_hidden_processes 1"));
        // Every sample line belongs to a declared family.
        let declared: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let name = l.split(['{', ' ']).next().unwrap();
            assert!(declared.contains(&name), "{l}");
        }
    }
}
